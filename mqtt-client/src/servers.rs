//! Which server the next connection goes to: the application's list, tried in order (or
//! shuffled) with the backoff between rounds, and MQTT 5.0 server redirection (§4.11).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use mqtt_proto::ReasonCode;

/// Where a connection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// The application's server number `0`, `1`, ... in the order it listed them.
    Server(usize),
    /// A server a broker named (a Server Reference with reason code 0x9C, Use another server,
    /// or 0x9D, Server moved), reached as the application's server `base` is (the same
    /// transport and TLS settings), at `host` and, if given, `port`.
    Redirect {
        /// The host name or IP address (an IPv6 address without brackets).
        host: String,
        /// The port; `None` keeps the base server's.
        port: Option<u16>,
        /// The application's server it stands in for.
        base: usize,
    },
}

/// The first reference of an MQTT 5.0 Server Reference: references are separated by spaces,
/// each `host`, `host:port` or `[ipv6]:port` (§4.11). `None` when there is none to use.
pub(crate) fn parse_reference(reference: &str) -> Option<(String, Option<u16>)> {
    let first = reference.split_whitespace().next()?;
    let (host, port) = if let Some(rest) = first.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        (host, port)
    } else {
        match first.rsplit_once(':') {
            // More than one colon and no brackets: a bare IPv6 address.
            Some((host, _)) if host.contains(':') => (first, None),
            Some((host, port)) => (host, Some(port.parse().ok()?)),
            None => (first, None),
        }
    };
    if host.is_empty() || port == Some(0) {
        return None;
    }
    Some((host.to_string(), port))
}

/// The server list and the redirects in force.
#[derive(Debug)]
pub(crate) struct Servers {
    /// The order servers are tried in: `0..count`, or shuffled.
    order: Vec<usize>,
    /// The position in `order` of the server tried last (or next, before any attempt).
    position: usize,
    /// How many attempts failed since the last accepted connection, or since the start.
    failed_in_round: usize,
    /// Server `i` moved (0x9D) to this host and port, for every later connection.
    moved: Vec<Option<(String, Option<u16>)>>,
    /// A one-time redirect (0x9C) for the next attempt.
    redirect: Option<(String, Option<u16>)>,
    /// Redirects followed since the last accepted connection.
    hops: u8,
}

impl Servers {
    pub(crate) fn new(count: usize) -> Servers {
        let count = count.max(1);
        Servers {
            order: (0..count).collect(),
            position: 0,
            failed_in_round: 0,
            moved: alloc::vec![None; count],
            redirect: None,
            hops: 0,
        }
    }

    /// Tries the servers in a random order drawn with `random` (uniform in `[0, 1)`).
    pub(crate) fn shuffle(&mut self, mut random: impl FnMut() -> f64) {
        for i in (1..self.order.len()).rev() {
            let j = ((random() * (i + 1) as f64) as usize).min(i);
            self.order.swap(i, j);
        }
    }

    fn server(&self) -> usize {
        self.order[self.position % self.order.len()]
    }

    /// Where the next connection goes.
    pub(crate) fn target(&self) -> Target {
        let server = self.server();
        match self.redirect.as_ref().or(self.moved[server].as_ref()) {
            Some((host, port)) => Target::Redirect {
                host: host.clone(),
                port: *port,
                base: server,
            },
            None => Target::Server(server),
        }
    }

    /// The broker accepted the connection: the round starts again from this server.
    pub(crate) fn connected(&mut self) {
        self.failed_in_round = 0;
        self.hops = 0;
        self.redirect = None;
    }

    /// The connection could not be made, or was lost before it was accepted: the next server
    /// is tried. Returns whether every server failed in this round (then the backoff applies
    /// before the next).
    pub(crate) fn failed(&mut self) -> bool {
        self.redirect = None;
        self.position = (self.position + 1) % self.order.len();
        self.failed_in_round += 1;
        if self.failed_in_round >= self.order.len() {
            self.failed_in_round = 0;
            true
        } else {
            false
        }
    }

    /// A connection that had been accepted was lost: the same server is tried first, and the
    /// round starts from it.
    pub(crate) fn lost(&mut self) {
        self.redirect = None;
        self.failed_in_round = 0;
    }

    /// The broker sent `code` with a Server Reference: follows it if it is a redirect
    /// (0x9C, 0x9D), parses, and is within `max_hops`. Returns the reference followed, and
    /// whether the move is permanent.
    pub(crate) fn redirect(
        &mut self,
        code: ReasonCode,
        reference: Option<&str>,
        max_hops: u8,
    ) -> Option<(String, bool)> {
        let permanent = match code {
            ReasonCode::USE_ANOTHER_SERVER => false,
            ReasonCode::SERVER_MOVED => true,
            _ => return None,
        };
        let reference = reference?;
        if self.hops >= max_hops {
            return None;
        }
        let target = parse_reference(reference)?;
        self.hops += 1;
        if permanent {
            let server = self.server();
            self.moved[server] = Some(target);
            self.redirect = None;
        } else {
            self.redirect = Some(target);
        }
        Some((reference.to_string(), permanent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_parsed_as_section_4_11_says() {
        let parsed = |r: &str| parse_reference(r);
        assert_eq!(parsed("broker2"), Some(("broker2".into(), None)));
        assert_eq!(parsed("broker2:1884"), Some(("broker2".into(), Some(1884))));
        assert_eq!(
            parsed("10.0.0.2:1884 10.0.0.3"),
            Some(("10.0.0.2".into(), Some(1884)))
        );
        assert_eq!(parsed("[::1]:1884"), Some(("::1".into(), Some(1884))));
        assert_eq!(parsed("[::1]"), Some(("::1".into(), None)));
        assert_eq!(parsed("fe80::1"), Some(("fe80::1".into(), None)));
        for bad in ["", "   ", ":1883", "host:x", "host:0", "[::1", "[::1]x"] {
            assert_eq!(parsed(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn servers_are_tried_in_rounds() {
        let mut servers = Servers::new(3);
        assert_eq!(servers.target(), Target::Server(0));
        assert!(!servers.failed());
        assert_eq!(servers.target(), Target::Server(1));
        assert!(!servers.failed());
        assert!(servers.failed(), "the round ends after the third");
        assert_eq!(servers.target(), Target::Server(0));
        assert!(!servers.failed());
        servers.connected();
        servers.lost();
        assert_eq!(
            servers.target(),
            Target::Server(1),
            "the last good server first"
        );
    }

    #[test]
    fn redirects_are_followed_up_to_the_hop_limit() {
        let mut servers = Servers::new(2);
        let followed = servers.redirect(ReasonCode::USE_ANOTHER_SERVER, Some("b:1"), 2);
        assert_eq!(followed, Some(("b:1".into(), false)));
        let redirect = Target::Redirect {
            host: "b".into(),
            port: Some(1),
            base: 0,
        };
        assert_eq!(servers.target(), redirect);
        assert!(
            servers
                .redirect(ReasonCode::USE_ANOTHER_SERVER, Some("c"), 2)
                .is_some()
        );
        assert_eq!(
            servers.redirect(ReasonCode::USE_ANOTHER_SERVER, Some("b:1"), 2),
            None,
            "a loop stops at the limit"
        );
        servers.connected();
        assert!(
            servers
                .redirect(ReasonCode::NOT_AUTHORIZED, Some("x"), 2)
                .is_none()
        );
        assert!(
            servers
                .redirect(ReasonCode::USE_ANOTHER_SERVER, None, 2)
                .is_none()
        );
        // A move is kept for later connections; a one-time redirect is not.
        assert!(
            servers
                .redirect(ReasonCode::SERVER_MOVED, Some("new:2"), 2)
                .is_some()
        );
        servers.lost();
        assert_eq!(
            servers.target(),
            Target::Redirect {
                host: "new".into(),
                port: Some(2),
                base: 0
            }
        );
    }

    #[test]
    fn a_shuffle_keeps_every_server() {
        let mut servers = Servers::new(5);
        let mut draws = [0.9, 0.1, 0.5, 0.3].into_iter();
        servers.shuffle(|| draws.next().unwrap_or(0.0));
        let mut order = servers.order.clone();
        order.sort_unstable();
        assert_eq!(order, [0, 1, 2, 3, 4]);
    }
}

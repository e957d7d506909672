//! Broker URLs: `scheme://[user[:password]@]host[:port][/path][?key=value&...]`, parsed by hand
//! for the four schemes a broker is reached by (the `url` crate and its IDNA tables are far
//! more than that needs).

use mqtt_client::Error;

use crate::options::Transport;

/// A broker URL, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokerUrl {
    pub(crate) transport: Transport,
    /// The host name or IP address; an IPv6 address without its brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The path, for WebSocket (`None` when the URL has none, or just `/`).
    pub(crate) path: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    /// The query's pairs, percent-decoded, in order.
    pub(crate) query: Vec<(String, String)>,
}

fn invalid(url: &str, why: impl core::fmt::Display) -> Error {
    Error::InvalidUrl(format!("{url:?}: {why}"))
}

impl BrokerUrl {
    /// Parses `url`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`], saying what is wrong and, where it can, what was meant.
    pub(crate) fn parse(url: &str) -> Result<BrokerUrl, Error> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(invalid(
                url,
                format!("no scheme; did you mean \"mqtt://{url}\"? (or mqtts://, ws://, wss://)"),
            ));
        };
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "mqtt" | "tcp" => Transport::Tcp,
            "mqtts" | "ssl" | "tls" => Transport::Tls,
            "ws" => Transport::WebSocket,
            "wss" => Transport::SecureWebSocket,
            other => {
                return Err(invalid(
                    url,
                    format!("unknown scheme {other:?}; use mqtt, mqtts, ws or wss"),
                ));
            }
        };
        if rest.contains('#') {
            return Err(invalid(url, "a broker URL has no fragment (#...)"));
        }
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(userinfo) => {
                let (user, password) = match userinfo.split_once(':') {
                    Some((user, password)) => (user, Some(password)),
                    None => (userinfo, None),
                };
                let password = password.map(|p| decode(url, p)).transpose()?;
                (Some(decode(url, user)?), password)
            }
        };
        let (host, port) = host_and_port(url, host_port)?;
        let port = port.unwrap_or(transport.default_port());
        let path = match path {
            "" | "/" => None,
            path if matches!(transport, Transport::WebSocket | Transport::SecureWebSocket) => {
                Some(path.to_owned())
            }
            path => {
                return Err(invalid(
                    url,
                    format!("a path ({path}) means something only for ws:// and wss://"),
                ));
            }
        };
        let mut pairs = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            pairs.push((decode(url, key)?, decode(url, value)?));
        }
        Ok(BrokerUrl {
            transport,
            host,
            port,
            path,
            username,
            password,
            query: pairs,
        })
    }
}

/// `host[:port]` or `[v6]:port`.
fn host_and_port(url: &str, host_port: &str) -> Result<(String, Option<u16>), Error> {
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(invalid(url, "an IPv6 address without its closing \"]\""));
        };
        let port = match after {
            "" => None,
            after => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| invalid(url, format!("unexpected {after:?} after the host")))?,
            ),
        };
        (host, port)
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err(invalid(url, "no host"));
    }
    if host.contains(|c: char| c.is_whitespace() || c == '%') {
        return Err(invalid(url, format!("{host:?} is not a host name")));
    }
    let port = match port {
        None | Some("") => None,
        Some(port) => match port.parse::<u16>() {
            Ok(0) | Err(_) => {
                return Err(invalid(
                    url,
                    format!("the port {port:?} is not a number from 1 to 65535"),
                ));
            }
            Ok(port) => Some(port),
        },
    };
    Ok((host.to_owned(), port))
}

/// Percent-decodes `text` (`%41` is `A`); the result must be UTF-8.
fn decode(url: &str, text: &str) -> Result<String, Error> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        if byte == b'%' {
            let hex = after
                .get(..2)
                .and_then(|h| core::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| invalid(url, "a \"%\" not followed by two hex digits"))?;
            bytes.push(hex);
            rest = &after[2..];
        } else {
            bytes.push(byte);
            rest = after;
        }
    }
    String::from_utf8(bytes).map_err(|_| invalid(url, "percent-encoded bytes that are not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> BrokerUrl {
        BrokerUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn error(url: &str) -> String {
        BrokerUrl::parse(url).expect_err("invalid").to_string()
    }

    #[test]
    fn schemes_and_default_ports() {
        for (url, transport, port) in [
            ("mqtt://broker", Transport::Tcp, 1883),
            ("tcp://broker", Transport::Tcp, 1883),
            ("MQTTS://broker", Transport::Tls, 8883),
            ("ssl://broker", Transport::Tls, 8883),
            ("ws://broker", Transport::WebSocket, 80),
            ("wss://broker", Transport::SecureWebSocket, 443),
        ] {
            let parsed = parse(url);
            assert_eq!((parsed.transport, parsed.port), (transport, port), "{url}");
            assert_eq!(parsed.host, "broker");
        }
    }

    #[test]
    fn ports_hosts_and_ipv6() {
        let parsed = parse("mqtt://127.0.0.1:1884");
        assert_eq!((parsed.host.as_str(), parsed.port), ("127.0.0.1", 1884));
        let parsed = parse("mqtts://[::1]:8884");
        assert_eq!((parsed.host.as_str(), parsed.port), ("::1", 8884));
        let parsed = parse("mqtt://[fe80::1]");
        assert_eq!((parsed.host.as_str(), parsed.port), ("fe80::1", 1883));
        assert_eq!(parse("mqtt://broker:/").port, 1883);
    }

    #[test]
    fn credentials_are_taken_and_decoded() {
        let parsed = parse("mqtt://user:p%40ss%3Aword@broker:1883");
        assert_eq!(parsed.username.as_deref(), Some("user"));
        assert_eq!(parsed.password.as_deref(), Some("p@ss:word"));
        assert_eq!(parsed.host, "broker");
        let parsed = parse("mqtt://only-user@broker");
        assert_eq!(
            (parsed.username.as_deref(), parsed.password),
            (Some("only-user"), None)
        );
        // An "@" in the password, unencoded: the last "@" ends the user information.
        assert_eq!(parse("mqtt://u:a@b@host").password.as_deref(), Some("a@b"));
    }

    #[test]
    fn paths_are_for_websocket() {
        assert_eq!(
            parse("ws://broker:8080/mqtt").path.as_deref(),
            Some("/mqtt")
        );
        assert_eq!(
            parse("wss://broker/a/b?version=5").path.as_deref(),
            Some("/a/b")
        );
        assert_eq!(parse("ws://broker/").path, None);
        assert!(error("mqtt://broker/mqtt").contains("only for ws:// and wss://"));
    }

    #[test]
    fn queries_are_decoded_pairs() {
        let parsed = parse("mqtt://broker?version=3.1.1&x=a%20b&flag");
        assert_eq!(
            parsed.query,
            [
                ("version".to_owned(), "3.1.1".to_owned()),
                ("x".to_owned(), "a b".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn mistakes_say_what_was_meant() {
        let e = error("127.0.0.1:1883");
        assert!(e.contains("did you mean \"mqtt://127.0.0.1:1883\""), "{e}");
        assert!(error("http://broker").contains("unknown scheme \"http\""));
        assert!(error("mqtt://").contains("no host"));
        assert!(error("mqtt://:1883").contains("no host"));
        assert!(error("mqtt://broker:99999").contains("not a number from 1 to 65535"));
        assert!(error("mqtt://broker:0").contains("not a number from 1 to 65535"));
        assert!(error("mqtt://broker:x").contains("not a number"));
        assert!(error("mqtt://[::1").contains("closing"));
        assert!(error("mqtt://[::1]x").contains("after the host"));
        assert!(error("mqtt://broker#frag").contains("fragment"));
        assert!(error("mqtt://u:%zz@broker").contains("two hex digits"));
        assert!(error("mqtt://u:%ff@broker").contains("not UTF-8"));
        assert!(error("mqtt://bro ker").contains("not a host name"));
    }
}

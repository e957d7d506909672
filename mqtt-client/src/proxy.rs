//! Proxies between the client and the broker: the HTTP CONNECT (RFC 9110 §9.3.6) and SOCKS5
//! (RFC 1928, with RFC 1929 user/password) handshakes, without I/O. An adapter connects to
//! the proxy, then moves bytes: what [`ProxyHandshake::poll_transmit`] gives goes to the
//! proxy, what the proxy sends goes to [`ProxyHandshake::handle_bytes`], until the tunnel is
//! open. TLS and WebSocket then run through the tunnel as over TCP.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// The proxy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyKind {
    /// HTTP CONNECT (`http://` proxy URLs).
    Http,
    /// SOCKS5 (`socks5://`); the proxy resolves the broker's name (`socks5h` behaviour).
    Socks5,
}

/// A proxy: where it listens, its protocol, and the credentials it asks for.
///
/// ```
/// use mqtt_client::{Proxy, ProxyKind};
///
/// let proxy = Proxy::from_url("socks5://alice:s3cret@127.0.0.1:1080")?;
/// assert_eq!((proxy.kind, proxy.port), (ProxyKind::Socks5, 1080));
/// assert_eq!(proxy.username.as_deref(), Some("alice"));
/// # Ok::<(), mqtt_client::ProxyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Proxy {
    /// The protocol.
    pub kind: ProxyKind,
    /// The proxy's host name or IP address.
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// The user name: HTTP basic authentication, or SOCKS5 user/password.
    pub username: Option<String>,
    /// The password.
    pub password: Option<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "..."))
            .finish()
    }
}

impl Proxy {
    /// A proxy without credentials.
    pub fn new(kind: ProxyKind, host: impl Into<String>, port: u16) -> Proxy {
        Proxy {
            kind,
            host: host.into(),
            port,
            username: None,
            password: None,
        }
    }

    /// `host:port` (an IPv6 address in brackets), as errors name it.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            alloc::format!("[{}]:{}", self.host, self.port)
        } else {
            alloc::format!("{}:{}", self.host, self.port)
        }
    }

    /// With credentials.
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Proxy {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// A proxy from a URL: `http://[user:password@]host[:port]` (port 8080 by default) or
    /// `socks5://[user:password@]host[:port]` (1080; `socks5h://` too).
    ///
    /// # Errors
    ///
    /// [`ProxyError::InvalidUrl`] saying what is wrong.
    pub fn from_url(url: &str) -> Result<Proxy, ProxyError> {
        let invalid = |why: &str| ProxyError::InvalidUrl(alloc::format!("{url:?}: {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("no scheme; use http:// or socks5://"))?;
        let (kind, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "http" => (ProxyKind::Http, 8080),
            "socks5" | "socks5h" => (ProxyKind::Socks5, 1080),
            _ => return Err(invalid("unknown scheme; use http:// or socks5://")),
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains(['/', '?', '#']) {
            return Err(invalid("a proxy URL has no path or query"));
        }
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let (host, port) = match host_port.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) = bracketed
                    .split_once(']')
                    .ok_or_else(|| invalid("an IPv6 address without \"]\""))?;
                (host, after.strip_prefix(':'))
            }
            None => match host_port.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (host_port, None),
            },
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = match port {
            None | Some("") => default_port,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(invalid("the port is not a number from 1 to 65535")),
            },
        };
        let mut proxy = Proxy::new(kind, host, port);
        if let Some(userinfo) = userinfo {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            proxy = proxy.with_credentials(decode(user), decode(password));
        }
        Ok(proxy)
    }
}

/// Percent-decoding of user information, leaving anything malformed as it is.
fn decode(text: &str) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        let hex = after
            .get(..2)
            .and_then(|h| core::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (byte, hex) {
            (b'%', Some(hex)) => {
                bytes.push(hex);
                rest = &after[2..];
            }
            _ => {
                bytes.push(byte);
                rest = after;
            }
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_string())
}

/// Why a proxy did not open the tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL is not understood.
    InvalidUrl(String),
    /// The proxy wants credentials, and none were given or it refused them.
    AuthenticationFailed,
    /// The proxy refused to connect to the broker: the HTTP status line, or the SOCKS5
    /// reply's meaning.
    Refused(String),
    /// The proxy answered something that is not its protocol.
    Malformed(String),
    /// The credentials do not fit SOCKS5's one-byte lengths, or the broker's name its
    /// address field.
    TooLong,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::InvalidUrl(why) => write!(f, "invalid proxy URL: {why}"),
            ProxyError::AuthenticationFailed => {
                f.write_str("the proxy refused the credentials (or needs some)")
            }
            ProxyError::Refused(why) => write!(f, "the proxy refused to reach the broker: {why}"),
            ProxyError::Malformed(why) => write!(f, "the proxy's answer is not understood: {why}"),
            ProxyError::TooLong => f.write_str("a name or credential is too long for SOCKS5"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProxyError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    HttpResponse,
    SocksMethod,
    SocksAuth,
    SocksReply,
    Open,
}

/// The most an HTTP CONNECT response's head may take.
const MAX_HTTP_HEAD: usize = 16 * 1024;

/// One proxy handshake, from the first byte to the open tunnel.
///
/// ```
/// use mqtt_client::{Proxy, ProxyHandshake, ProxyKind};
///
/// let proxy = Proxy::new(ProxyKind::Http, "proxy.example", 3128);
/// let mut handshake = ProxyHandshake::new(&proxy, "broker.example", 8883)?;
/// let request = handshake.poll_transmit().expect("the CONNECT request");
/// assert!(request.starts_with(b"CONNECT broker.example:8883 HTTP/1.1\r\n"));
/// let open = handshake.handle_bytes(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
/// assert_eq!(open, Some(Vec::new()), "open, and nothing of the broker's read yet");
/// # Ok::<(), mqtt_client::ProxyError>(())
/// ```
#[derive(Debug)]
pub struct ProxyHandshake {
    stage: Stage,
    out: Vec<Vec<u8>>,
    input: Vec<u8>,
    /// The SOCKS5 user/password request, sent if the proxy picks that method.
    socks_auth: Option<Vec<u8>>,
    /// The SOCKS5 CONNECT request.
    socks_connect: Vec<u8>,
}

impl ProxyHandshake {
    /// The handshake through `proxy` to `host:port`, the broker.
    ///
    /// # Errors
    ///
    /// [`ProxyError::TooLong`] when SOCKS5 can't carry the name or the credentials.
    pub fn new(proxy: &Proxy, host: &str, port: u16) -> Result<ProxyHandshake, ProxyError> {
        let mut handshake = ProxyHandshake {
            stage: Stage::HttpResponse,
            out: Vec::new(),
            input: Vec::new(),
            socks_auth: None,
            socks_connect: Vec::new(),
        };
        match proxy.kind {
            ProxyKind::Http => {
                let authority = if host.contains(':') {
                    alloc::format!("[{host}]:{port}")
                } else {
                    alloc::format!("{host}:{port}")
                };
                let mut request =
                    alloc::format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
                if let Some(user) = &proxy.username {
                    let pair = alloc::format!("{user}:{}", proxy.password.as_deref().unwrap_or(""));
                    request.push_str("Proxy-Authorization: Basic ");
                    request.push_str(&base64(pair.as_bytes()));
                    request.push_str("\r\n");
                }
                request.push_str("\r\n");
                handshake.out.push(request.into_bytes());
            }
            ProxyKind::Socks5 => {
                handshake.stage = Stage::SocksMethod;
                let methods: &[u8] = if proxy.username.is_some() {
                    &[0x00, 0x02]
                } else {
                    &[0x00]
                };
                let mut greeting = alloc::vec![0x05, methods.len() as u8];
                greeting.extend_from_slice(methods);
                handshake.out.push(greeting);
                if let Some(user) = &proxy.username {
                    let password = proxy.password.as_deref().unwrap_or("");
                    let (user, password) = (user.as_bytes(), password.as_bytes());
                    if user.len() > 255 || password.len() > 255 {
                        return Err(ProxyError::TooLong);
                    }
                    let mut auth = alloc::vec![0x01, user.len() as u8];
                    auth.extend_from_slice(user);
                    auth.push(password.len() as u8);
                    auth.extend_from_slice(password);
                    handshake.socks_auth = Some(auth);
                }
                let mut connect = alloc::vec![0x05, 0x01, 0x00];
                match host.parse::<core::net::IpAddr>() {
                    Ok(core::net::IpAddr::V4(ip)) => {
                        connect.push(0x01);
                        connect.extend_from_slice(&ip.octets());
                    }
                    Ok(core::net::IpAddr::V6(ip)) => {
                        connect.push(0x04);
                        connect.extend_from_slice(&ip.octets());
                    }
                    Err(_) => {
                        if host.len() > 255 {
                            return Err(ProxyError::TooLong);
                        }
                        connect.push(0x03);
                        connect.push(host.len() as u8);
                        connect.extend_from_slice(host.as_bytes());
                    }
                }
                connect.extend_from_slice(&port.to_be_bytes());
                handshake.socks_connect = connect;
            }
        }
        Ok(handshake)
    }

    /// The next bytes to send to the proxy.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            None
        } else {
            Some(self.out.remove(0))
        }
    }

    /// Bytes the proxy sent. `Some` once the tunnel is open, with the bytes after the
    /// proxy's answer (already the broker's); `None` while more is needed.
    ///
    /// # Errors
    ///
    /// [`ProxyError`] when the proxy refused or answered something else.
    pub fn handle_bytes(&mut self, bytes: &[u8]) -> Result<Option<Vec<u8>>, ProxyError> {
        self.input.extend_from_slice(bytes);
        loop {
            match self.stage {
                Stage::Open => return Ok(Some(core::mem::take(&mut self.input))),
                Stage::HttpResponse => {
                    let Some(end) = find(&self.input, b"\r\n\r\n") else {
                        if self.input.len() > MAX_HTTP_HEAD {
                            return Err(ProxyError::Malformed("an endless HTTP head".into()));
                        }
                        return Ok(None);
                    };
                    let head = core::str::from_utf8(&self.input[..end])
                        .map_err(|_| ProxyError::Malformed("a head that is not text".into()))?;
                    let status_line = head.lines().next().unwrap_or("");
                    let mut parts = status_line.split_whitespace();
                    let (version, code) = (parts.next(), parts.next());
                    if !version.is_some_and(|v| v.starts_with("HTTP/1.")) {
                        return Err(ProxyError::Malformed(status_line.into()));
                    }
                    match code {
                        Some(code) if code.starts_with('2') && code.len() == 3 => {}
                        Some("407") => return Err(ProxyError::AuthenticationFailed),
                        _ => return Err(ProxyError::Refused(status_line.into())),
                    }
                    self.input.drain(..end + 4);
                    self.stage = Stage::Open;
                }
                Stage::SocksMethod => {
                    let Some(answer) = self.take(2) else {
                        return Ok(None);
                    };
                    match answer[..] {
                        [0x05, 0x00] => self.send_connect(),
                        [0x05, 0x02] => match self.socks_auth.take() {
                            Some(auth) => {
                                self.out.push(auth);
                                self.stage = Stage::SocksAuth;
                            }
                            None => return Err(ProxyError::AuthenticationFailed),
                        },
                        [0x05, 0xFF] => return Err(ProxyError::AuthenticationFailed),
                        _ => return Err(ProxyError::Malformed("a SOCKS5 method answer".into())),
                    }
                }
                Stage::SocksAuth => {
                    let Some(answer) = self.take(2) else {
                        return Ok(None);
                    };
                    if answer != [0x01, 0x00] {
                        return Err(ProxyError::AuthenticationFailed);
                    }
                    self.send_connect();
                }
                Stage::SocksReply => {
                    // VER REP RSV ATYP, then the bound address and port.
                    let Some(&atyp) = self.input.get(3) else {
                        return Ok(None);
                    };
                    let address = match atyp {
                        0x01 => 4,
                        0x04 => 16,
                        0x03 => match self.input.get(4) {
                            Some(&len) => 1 + usize::from(len),
                            None => return Ok(None),
                        },
                        _ => return Err(ProxyError::Malformed("a SOCKS5 address type".into())),
                    };
                    let Some(reply) = self.take(4 + address + 2) else {
                        return Ok(None);
                    };
                    if reply[0] != 0x05 {
                        return Err(ProxyError::Malformed("a SOCKS5 reply".into()));
                    }
                    if reply[1] != 0x00 {
                        return Err(ProxyError::Refused(socks_reply(reply[1]).into()));
                    }
                    self.stage = Stage::Open;
                }
            }
        }
    }

    fn send_connect(&mut self) {
        self.out.push(core::mem::take(&mut self.socks_connect));
        self.stage = Stage::SocksReply;
    }

    fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        (self.input.len() >= n).then(|| self.input.drain(..n).collect())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// RFC 1928 §6.
fn socks_reply(code: u8) -> &'static str {
    match code {
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unknown SOCKS5 reply code",
    }
}

/// Standard base64 with padding (RFC 4648 §4), for HTTP basic authentication.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), output);
        }
    }

    #[test]
    fn http_connect_with_basic_auth() {
        let proxy = Proxy::from_url("http://alice:p%40ss@proxy:3128").unwrap();
        let mut handshake = ProxyHandshake::new(&proxy, "::1", 1883).unwrap();
        let request = String::from_utf8(handshake.poll_transmit().unwrap()).unwrap();
        assert_eq!(
            request,
            "CONNECT [::1]:1883 HTTP/1.1\r\nHost: [::1]:1883\r\n\
             Proxy-Authorization: Basic YWxpY2U6cEBzcw==\r\n\r\n"
        );
        assert_eq!(handshake.handle_bytes(b"HTTP/1.1 200 OK\r\nX: y"), Ok(None));
        assert_eq!(
            handshake.handle_bytes(b"\r\n\r\n\x20\x02"),
            Ok(Some(alloc::vec![0x20, 0x02])),
            "the broker's first bytes are kept"
        );
    }

    #[test]
    fn http_refusals_say_why() {
        let proxy = Proxy::new(ProxyKind::Http, "p", 1);
        let answer = |bytes: &[u8]| {
            let mut handshake = ProxyHandshake::new(&proxy, "b", 1).unwrap();
            handshake.handle_bytes(bytes)
        };
        assert_eq!(
            answer(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"),
            Err(ProxyError::AuthenticationFailed)
        );
        assert_eq!(
            answer(b"HTTP/1.1 403 Forbidden\r\n\r\n"),
            Err(ProxyError::Refused("HTTP/1.1 403 Forbidden".into()))
        );
        assert!(matches!(
            answer(b"SSH-2.0\r\n\r\n"),
            Err(ProxyError::Malformed(_))
        ));
    }

    #[test]
    fn socks5_with_user_and_password() {
        let proxy = Proxy::from_url("socks5://u:pw@127.0.0.1").unwrap();
        assert_eq!(proxy.port, 1080);
        let mut handshake = ProxyHandshake::new(&proxy, "broker", 1883).unwrap();
        assert_eq!(handshake.poll_transmit(), Some(alloc::vec![5, 2, 0, 2]));
        assert_eq!(handshake.handle_bytes(&[5, 2]), Ok(None));
        assert_eq!(
            handshake.poll_transmit(),
            Some(alloc::vec![1, 1, b'u', 2, b'p', b'w'])
        );
        assert_eq!(handshake.handle_bytes(&[1, 0]), Ok(None));
        let mut connect = alloc::vec![5, 1, 0, 3, 6];
        connect.extend_from_slice(b"broker");
        connect.extend_from_slice(&1883u16.to_be_bytes());
        assert_eq!(handshake.poll_transmit(), Some(connect));
        // The reply, one byte at a time, then the broker's first byte.
        for byte in [5, 0, 0, 1, 10, 0, 0, 1, 0x07] {
            assert_eq!(handshake.handle_bytes(&[byte]), Ok(None));
        }
        assert_eq!(
            handshake.handle_bytes(&[0x5B, 0x20]),
            Ok(Some(alloc::vec![0x20]))
        );
    }

    #[test]
    fn socks5_refusals_say_why() {
        let plain = Proxy::new(ProxyKind::Socks5, "p", 1);
        let mut handshake = ProxyHandshake::new(&plain, "10.0.0.1", 1883).unwrap();
        handshake.poll_transmit();
        assert_eq!(
            handshake.handle_bytes(&[5, 2]),
            Err(ProxyError::AuthenticationFailed)
        );

        let with_user = plain.clone().with_credentials("u", "wrong");
        let mut handshake = ProxyHandshake::new(&with_user, "10.0.0.1", 1883).unwrap();
        assert_eq!(
            handshake.handle_bytes(&[5, 2, 1, 1]),
            Err(ProxyError::AuthenticationFailed)
        );

        let mut handshake = ProxyHandshake::new(&plain, "10.0.0.1", 1883).unwrap();
        handshake.poll_transmit();
        assert_eq!(handshake.handle_bytes(&[5, 0]), Ok(None));
        let connect = handshake.poll_transmit().unwrap();
        assert_eq!(connect, [5, 1, 0, 1, 10, 0, 0, 1, 0x07, 0x5B]);
        assert_eq!(
            handshake.handle_bytes(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]),
            Err(ProxyError::Refused("connection refused".into()))
        );
    }

    #[test]
    fn proxy_urls_say_what_is_wrong() {
        assert!(Proxy::from_url("proxy:3128").is_err());
        assert!(Proxy::from_url("ftp://proxy").is_err());
        assert!(Proxy::from_url("http://").is_err());
        assert!(Proxy::from_url("http://proxy:0").is_err());
        assert!(Proxy::from_url("http://proxy/path").is_err());
        let proxy = Proxy::from_url("http://[::1]:3128/").unwrap();
        assert_eq!((proxy.host.as_str(), proxy.port), ("::1", 3128));
        let debug = alloc::format!("{:?}", Proxy::from_url("http://u:secret@p").unwrap());
        assert!(!debug.contains("secret"));
    }
}

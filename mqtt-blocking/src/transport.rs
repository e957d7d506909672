//! The byte stream to the broker: a non-blocking mio socket, optionally wrapped in a rustls
//! `ClientConnection` driven by hand (`read_tls`/`process_new_packets`/`reader`,
//! `writer`/`write_tls`), and optionally WebSocket framing on top (tungstenite, which only
//! frames: TLS stays this module's).

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, ToSocketAddrs};

use bytes::{Buf, Bytes};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use mqtt_client::ReadRoom;
#[cfg(feature = "tls")]
use rustls::ClientConnection;
#[cfg(feature = "tls")]
use rustls::pki_types::ServerName;
#[cfg(feature = "websocket")]
use tungstenite::client::IntoClientRequest;
#[cfg(feature = "websocket")]
use tungstenite::handshake::client::{ClientHandshake, Request};
#[cfg(feature = "websocket")]
use tungstenite::handshake::{HandshakeError, MidHandshake};
#[cfg(feature = "websocket")]
use tungstenite::http::{HeaderName, HeaderValue};
#[cfg(feature = "websocket")]
use tungstenite::{Message as WsMessage, WebSocket};

use crate::options::ConnectOptions;
#[cfg(feature = "websocket")]
use crate::options::WebSocketOptions;
use mqtt_client::{Detail, Error};

/// The most buffers handed to one vectored write.
const MAX_IOVECS: usize = 64;

/// The most MQTT bytes gathered into one WebSocket message (a larger single chunk goes whole).
#[cfg(feature = "websocket")]
const MAX_WS_MESSAGE: usize = 64 * 1024;

/// What a read found.
pub(crate) enum ReadStatus {
    /// Nothing more to read now; wait for readiness.
    WouldBlock,
    /// The broker closed the connection.
    Closed,
    /// The buffer limit was reached; more may be waiting.
    More,
}

/// An open connection to the broker.
pub(crate) enum Transport {
    /// MQTT straight on the byte stream.
    Direct {
        stream: Stream,
        /// Plaintext handed to rustls whose records are not all written yet.
        plaintext: usize,
    },
    /// MQTT in WebSocket binary messages (MQTT 5.0 §6).
    #[cfg(feature = "websocket")]
    WebSocket(Box<Ws>),
}

/// The byte stream: the socket, with TLS when configured.
pub(crate) struct Stream {
    socket: Socket,
    tls: Option<Tls>,
}

/// A TLS connection driven by hand.
#[cfg(feature = "tls")]
type Tls = Box<ClientConnection>;

/// Without the `tls` feature a stream never has TLS: no value of this type exists.
#[cfg(not(feature = "tls"))]
enum Tls {}

/// The WebSocket layer: the upgrade handshake, then the connection.
#[cfg(feature = "websocket")]
pub(crate) struct Ws {
    state: WsState,
    /// MQTT bytes handed to tungstenite and not yet flushed to the socket.
    pending: usize,
}

#[cfg(feature = "websocket")]
enum WsState {
    Handshake(MidHandshake<ClientHandshake<Stream>>),
    Open(WebSocket<Stream>),
    /// The handshake failed (it was taken out to go on and did not come back).
    Failed,
}

impl Transport {
    /// Connects to `host` (each of its addresses in turn, each within the connect timeout) and
    /// starts TLS and the WebSocket handshake when configured. Blocks for the TCP connect
    /// only; the TLS and WebSocket handshakes run in the loop with the MQTT exchange.
    pub(crate) fn open(host: &str, options: &ConnectOptions) -> Result<Transport, Error> {
        // A bad WebSocket path or header fails before any connection is made.
        #[cfg(feature = "websocket")]
        let request = match &options.websocket {
            Some(websocket) => Some(websocket_request(host, options, websocket)?),
            None => None,
        };
        #[cfg(not(feature = "websocket"))]
        if options.websocket.is_some() {
            return Err(Error::WebSocket(Detail::new(
                "WebSocket is not built in: enable the `websocket` feature",
            )));
        }
        let socket = match &options.connector {
            Some(connector) => Socket::Custom(connector(host, options.port)?),
            None => Socket::Tcp(TcpStream::from_std(tcp(host, options)?)),
        };
        #[cfg(not(feature = "tls"))]
        let tls = None;
        #[cfg(feature = "tls")]
        let tls = match &options.tls {
            Some(config) => {
                let name = options.tls_server_name.as_deref().unwrap_or(host);
                let name = ServerName::try_from(name.to_owned())
                    .map_err(|e| Error::tls_caused(format!("server name {name:?}"), e))?;
                let connection = ClientConnection::new(config.clone(), name)
                    .map_err(|e| Error::tls_caused("TLS setup", e))?;
                Some(Box::new(connection))
            }
            None => None,
        };
        let stream = Stream { socket, tls };
        #[cfg(not(feature = "websocket"))]
        return Ok(Transport::Direct {
            stream,
            plaintext: 0,
        });
        #[cfg(feature = "websocket")]
        Ok(match request {
            None => Transport::Direct {
                stream,
                plaintext: 0,
            },
            Some(request) => {
                // Starting does no I/O: the request goes out from the loop, once registered.
                let handshake = ClientHandshake::start(stream, request, None).map_err(ws_error)?;
                Transport::WebSocket(Box::new(Ws {
                    state: WsState::Handshake(handshake),
                    pending: 0,
                }))
            }
        })
    }

    fn socket(&mut self) -> Option<&mut Socket> {
        match self {
            Transport::Direct { stream, .. } => Some(&mut stream.socket),
            #[cfg(feature = "websocket")]
            Transport::WebSocket(ws) => match &mut ws.state {
                WsState::Handshake(handshake) => Some(&mut handshake.get_mut().get_mut().socket),
                WsState::Open(websocket) => Some(&mut websocket.get_mut().socket),
                WsState::Failed => None,
            },
        }
    }

    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let socket = self
            .socket()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        registry.register(socket, token, Interest::READABLE | Interest::WRITABLE)
    }

    /// Reads what is available, up to about `limit` bytes, handing the plaintext to `sink`.
    /// Without WebSocket the socket reads into `buf`, sized as `room` says.
    pub(crate) fn read(
        &mut self,
        buf: &mut Vec<u8>,
        room: &mut ReadRoom,
        limit: usize,
        sink: impl FnMut(&[u8]),
    ) -> Result<ReadStatus, Error> {
        match self {
            Transport::Direct { stream, .. } => stream.read_direct(buf, room, limit, sink),
            #[cfg(feature = "websocket")]
            Transport::WebSocket(ws) => ws.read(limit, sink),
        }
    }

    /// Writes as much of `out` as the socket takes. Returns how many bytes of `out` reached
    /// the socket (with TLS: whose records were all written; with WebSocket: once tungstenite
    /// flushed their frames), and whether it would block.
    pub(crate) fn write(&mut self, out: &mut VecDeque<Bytes>) -> Result<(usize, bool), Error> {
        match self {
            Transport::Direct { stream, plaintext } => stream.write_direct(out, plaintext),
            #[cfg(feature = "websocket")]
            Transport::WebSocket(ws) => ws.write(out),
        }
    }

    /// Closes the connection: WebSocket close, TLS close_notify and a TCP shutdown, best
    /// effort.
    pub(crate) fn close(mut self, registry: &Registry) {
        #[cfg(feature = "websocket")]
        if let Transport::WebSocket(ws) = &mut self
            && let WsState::Open(websocket) = &mut ws.state
        {
            let _ = websocket.close(None);
        }
        let stream = match &mut self {
            Transport::Direct { stream, .. } => Some(stream),
            #[cfg(feature = "websocket")]
            Transport::WebSocket(ws) => match &mut ws.state {
                WsState::Handshake(handshake) => Some(handshake.get_mut().get_mut()),
                WsState::Open(websocket) => Some(websocket.get_mut()),
                WsState::Failed => None,
            },
        };
        if let Some(stream) = stream {
            #[cfg(feature = "tls")]
            if let Some(tls) = &mut stream.tls {
                tls.send_close_notify();
                while tls.wants_write() {
                    if tls.write_tls(&mut stream.socket).is_err() {
                        break;
                    }
                }
            }
            stream.socket.shutdown();
            let _ = registry.deregister(&mut stream.socket);
        }
    }
}

impl Stream {
    /// [`Transport::read`] without WebSocket.
    fn read_direct(
        &mut self,
        buf: &mut Vec<u8>,
        room: &mut ReadRoom,
        limit: usize,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<ReadStatus, Error> {
        if buf.len() < room.get() {
            buf.resize(room.get(), 0);
        }
        let mut sink = |bytes: &[u8]| {
            room.record(bytes.len());
            sink(bytes);
        };
        let mut total = 0;
        match &mut self.tls {
            None => loop {
                if total >= limit {
                    return Ok(ReadStatus::More);
                }
                match self.socket.read(buf) {
                    Ok(0) => return Ok(ReadStatus::Closed),
                    Ok(n) => {
                        sink(&buf[..n]);
                        total += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        return Ok(ReadStatus::WouldBlock);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            },
            #[cfg(feature = "tls")]
            Some(tls) => read_tls(tls, &mut self.socket, buf, limit, sink),
            #[cfg(not(feature = "tls"))]
            Some(never) => match *never {},
        }
    }

    /// [`Transport::write`] without WebSocket.
    fn write_direct(
        &mut self,
        out: &mut VecDeque<Bytes>,
        plaintext: &mut usize,
    ) -> Result<(usize, bool), Error> {
        #[cfg(not(feature = "tls"))]
        let _ = plaintext; // only TLS holds plaintext back
        match &mut self.tls {
            None => {
                let mut written = 0;
                while !out.is_empty() {
                    let slices: Vec<IoSlice<'_>> = out
                        .iter()
                        .take(MAX_IOVECS)
                        .map(|b| IoSlice::new(b))
                        .collect();
                    match self.socket.write_vectored(&slices) {
                        Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                        Ok(n) => {
                            advance(out, n);
                            written += n;
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return Ok((written, true));
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok((written, false))
            }
            #[cfg(feature = "tls")]
            Some(tls) => write_tls(tls, &mut self.socket, out, plaintext),
            #[cfg(not(feature = "tls"))]
            Some(never) => match *never {},
        }
    }
}

/// [`Stream::read_direct`] through TLS.
#[cfg(feature = "tls")]
fn read_tls(
    tls: &mut ClientConnection,
    socket: &mut Socket,
    buf: &mut [u8],
    limit: usize,
    mut sink: impl FnMut(&[u8]),
) -> Result<ReadStatus, Error> {
    let mut total = 0;
    loop {
        if total >= limit {
            return Ok(ReadStatus::More);
        }
        let eof = match tls.read_tls(socket) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Ok(ReadStatus::WouldBlock);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let state = match tls.process_new_packets() {
            Ok(state) => state,
            Err(e) => {
                // Tell the broker why (the alert rustls queued), best effort.
                let _ = tls.write_tls(socket);
                return Err(tls_error(e));
            }
        };
        let mut closed = state.peer_has_closed();
        loop {
            match tls.reader().read(buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    sink(&buf[..n]);
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    closed = true;
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if eof || closed {
            return Ok(ReadStatus::Closed);
        }
    }
}

/// [`Stream::write_direct`] through TLS.
#[cfg(feature = "tls")]
fn write_tls(
    tls: &mut ClientConnection,
    socket: &mut Socket,
    out: &mut VecDeque<Bytes>,
    plaintext: &mut usize,
) -> Result<(usize, bool), Error> {
    loop {
        // Plaintext into rustls as far as its buffer takes it...
        while let Some(front) = out.front_mut() {
            let n = tls.writer().write(front)?;
            if n == 0 {
                break;
            }
            *plaintext += n;
            front.advance(n);
            if front.is_empty() {
                out.pop_front();
            }
        }
        // ...and records out to the socket.
        if !tls.wants_write() {
            // Everything written, or plaintext waiting for the handshake to finish
            // (which needs the broker's answer, so a readable socket).
            let written = if tls.is_handshaking() {
                0
            } else {
                std::mem::take(plaintext)
            };
            return Ok((written, false));
        }
        while tls.wants_write() {
            match tls.write_tls(socket) {
                Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((0, true)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Writes the TLS records rustls has ready; `false` when the socket would block first.
#[cfg(feature = "tls")]
fn send_records(tls: &mut ClientConnection, socket: &mut Socket) -> io::Result<bool> {
    while tls.wants_write() {
        match tls.write_tls(socket) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// The plaintext stream under WebSocket: non-blocking, `WouldBlock` when it must wait.
impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.tls {
            None => self.socket.read(buf),
            #[cfg(feature = "tls")]
            Some(tls) => read_plaintext(tls, &mut self.socket, buf),
            #[cfg(not(feature = "tls"))]
            Some(never) => match *never {},
        }
    }
}

/// Plaintext from a TLS connection, for WebSocket: non-blocking.
#[cfg(feature = "tls")]
fn read_plaintext(
    tls: &mut ClientConnection,
    socket: &mut Socket,
    buf: &mut [u8],
) -> io::Result<usize> {
    loop {
        // What rustls has to say first (handshake messages, alerts), best effort: a
        // socket that can't take it now is writable again later, and the loop writes then.
        send_records(tls, socket)?;
        match tls.reader().read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // Closed without close_notify: an end like any other here.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
            other => return other,
        }
        match tls.read_tls(socket) {
            Ok(0) => return Ok(0),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if let Err(e) = tls.process_new_packets() {
            // Tell the broker why (the alert rustls queued), best effort.
            let _ = tls.write_tls(socket);
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.tls {
            None => self.socket.write(buf),
            #[cfg(feature = "tls")]
            Some(tls) => write_plaintext(tls, &mut self.socket, buf),
            #[cfg(not(feature = "tls"))]
            Some(never) => match *never {},
        }
    }

    /// Every TLS record out to the socket.
    fn flush(&mut self) -> io::Result<()> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls
            && !send_records(tls, &mut self.socket)?
        {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    }
}

/// Plaintext into a TLS connection, for WebSocket: non-blocking.
#[cfg(feature = "tls")]
fn write_plaintext(
    tls: &mut ClientConnection,
    socket: &mut Socket,
    buf: &[u8],
) -> io::Result<usize> {
    for _ in 0..2 {
        let n = tls.writer().write(buf)?;
        if n > 0 || buf.is_empty() {
            send_records(tls, socket)?;
            return Ok(n);
        }
        // rustls's buffer is full: make room, once.
        if !send_records(tls, socket)? {
            break;
        }
    }
    Err(io::ErrorKind::WouldBlock.into())
}

#[cfg(feature = "websocket")]
impl WsState {
    /// Moves the upgrade handshake on, if it is not done: the connection once open, `None`
    /// while the handshake waits for the socket.
    fn open(&mut self) -> Result<Option<&mut WebSocket<Stream>>, Error> {
        if let WsState::Handshake(_) = self {
            let WsState::Handshake(handshake) = std::mem::replace(self, WsState::Failed) else {
                return Ok(None);
            };
            match handshake.handshake() {
                Ok((websocket, _response)) => *self = WsState::Open(websocket),
                Err(HandshakeError::Interrupted(handshake)) => {
                    *self = WsState::Handshake(handshake);
                    return Ok(None);
                }
                Err(HandshakeError::Failure(e)) => return Err(ws_error(e)),
            }
        }
        match self {
            WsState::Open(websocket) => Ok(Some(websocket)),
            WsState::Handshake(_) => Ok(None),
            WsState::Failed => Err(Error::WebSocket(Detail::new("the handshake failed"))),
        }
    }
}

#[cfg(feature = "websocket")]
impl Ws {
    fn read(&mut self, limit: usize, mut sink: impl FnMut(&[u8])) -> Result<ReadStatus, Error> {
        let Some(websocket) = self.state.open()? else {
            return Ok(ReadStatus::WouldBlock);
        };
        let mut total = 0;
        loop {
            if total >= limit {
                return Ok(ReadStatus::More);
            }
            match websocket.read() {
                // A message may carry any part of the byte stream (MQTT 5.0 §6).
                Ok(WsMessage::Binary(data)) => {
                    sink(&data);
                    total += data.len();
                }
                Ok(WsMessage::Text(_)) => {
                    return Err(Error::WebSocket(Detail::new(
                        "MQTT over WebSocket uses binary messages (MQTT-6.0.0-1)",
                    )));
                }
                Ok(WsMessage::Close(_)) => return Ok(ReadStatus::Closed),
                Ok(_) => {} // ping, pong: tungstenite answers pings itself
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(ReadStatus::WouldBlock);
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(
                    tungstenite::Error::ConnectionClosed
                    | tungstenite::Error::AlreadyClosed
                    | tungstenite::Error::Protocol(
                        tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                    ),
                ) => return Ok(ReadStatus::Closed),
                Err(e) => return Err(ws_error(e)),
            }
        }
    }

    fn write(&mut self, out: &mut VecDeque<Bytes>) -> Result<(usize, bool), Error> {
        let Some(websocket) = self.state.open()? else {
            // The MQTT bytes wait for the upgrade; the handshake moves on with readiness.
            return Ok((0, false));
        };
        let mut written = 0;
        // Frames from before (and pongs) first.
        if !flushed(websocket.flush())? {
            return Ok((0, true));
        }
        written += std::mem::take(&mut self.pending);
        while !out.is_empty() {
            let message = gather(out);
            let n = message.len();
            let sent = websocket.write(WsMessage::Binary(message));
            // On `WouldBlock` the frame is buffered in tungstenite, to be flushed later.
            self.pending += n;
            if !flushed(sent)? || !flushed(websocket.flush())? {
                return Ok((written, true));
            }
            written += std::mem::take(&mut self.pending);
        }
        Ok((written, false))
    }
}

/// Up to [`MAX_WS_MESSAGE`] bytes from the front of `out`, as one message.
#[cfg(feature = "websocket")]
fn gather(out: &mut VecDeque<Bytes>) -> Bytes {
    let Some(front) = out.front_mut() else {
        return Bytes::new();
    };
    if front.len() >= MAX_WS_MESSAGE || out.len() == 1 {
        return out.pop_front().unwrap_or_default();
    }
    let mut message = Vec::with_capacity(MAX_WS_MESSAGE);
    while let Some(front) = out.front_mut() {
        let take = front.len().min(MAX_WS_MESSAGE - message.len());
        message.extend_from_slice(&front[..take]);
        front.advance(take);
        if front.is_empty() {
            out.pop_front();
        }
        if message.len() == MAX_WS_MESSAGE {
            break;
        }
    }
    Bytes::from(message)
}

/// `Ok(false)` for a write or flush that would block.
#[cfg(feature = "websocket")]
fn flushed(result: tungstenite::Result<()>) -> Result<bool, Error> {
    match result {
        Ok(()) => Ok(true),
        Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(ws_error(e)),
    }
}

/// Connects to `host` (each of its addresses in turn, each within the connect timeout), or
/// to the proxy and through it, with the socket options; non-blocking once connected.
fn tcp(host: &str, options: &ConnectOptions) -> Result<std::net::TcpStream, Error> {
    let (connect_host, connect_port) = match &options.proxy {
        Some(proxy) => (proxy.host.as_str(), proxy.port),
        None => (host, options.port),
    };
    let deadline = std::time::Instant::now() + options.connect_timeout;
    let mut last_error = None;
    let mut stream = None;
    for address in (connect_host, connect_port).to_socket_addrs()? {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            last_error = Some(io::ErrorKind::TimedOut.into());
            break;
        }
        match std::net::TcpStream::connect_timeout(&address, left) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let stream = stream.ok_or_else(|| {
        let source = last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{connect_host} has no address"),
            )
        });
        let address = if connect_host.contains(':') {
            format!("[{connect_host}]:{connect_port}")
        } else {
            format!("{connect_host}:{connect_port}")
        };
        Error::Connect { address, source }
    })?;
    if let Some(proxy) = &options.proxy {
        open_tunnel(&stream, proxy, host, options.port, options.connect_timeout)?;
    }
    stream.set_nodelay(options.tcp_nodelay)?;
    if let Some(k) = options.sock_keepalive {
        let keepalive = socket2::TcpKeepalive::new().with_time(k.idle);
        #[cfg(any(
            target_os = "android",
            target_os = "freebsd",
            target_os = "ios",
            target_os = "linux",
            target_os = "macos",
            target_os = "netbsd",
            target_os = "windows",
        ))]
        let keepalive = keepalive.with_interval(k.interval).with_retries(k.count);
        socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive)?;
    }
    stream.set_nonblocking(true)?;
    Ok(stream)
}

/// A byte stream of the application's own for
/// [`ConnectOptions::with_connector`](crate::ConnectOptions::with_connector): a Unix socket,
/// a pipe, anything the loop's `mio::Poll` can wait on. It must be non-blocking.
pub trait CustomSocket: mio::event::Source + Read + Write + Send {}

impl<T: mio::event::Source + Read + Write + Send> CustomSocket for T {}

/// The socket under TLS and WebSocket.
pub(crate) enum Socket {
    Tcp(TcpStream),
    Custom(Box<dyn CustomSocket>),
}

impl Socket {
    fn shutdown(&self) {
        if let Socket::Tcp(tcp) = self {
            let _ = tcp.shutdown(Shutdown::Both);
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(tcp) => tcp.read(buf),
            Socket::Custom(custom) => custom.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(tcp) => tcp.write(buf),
            Socket::Custom(custom) => custom.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Socket::Tcp(tcp) => tcp.write_vectored(bufs),
            Socket::Custom(custom) => custom.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Socket::Tcp(tcp) => tcp.flush(),
            Socket::Custom(custom) => custom.flush(),
        }
    }
}

impl mio::event::Source for Socket {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Socket::Tcp(tcp) => tcp.register(registry, token, interests),
            Socket::Custom(custom) => custom.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Socket::Tcp(tcp) => tcp.reregister(registry, token, interests),
            Socket::Custom(custom) => custom.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Socket::Tcp(tcp) => tcp.deregister(registry),
            Socket::Custom(custom) => custom.deregister(registry),
        }
    }
}

/// The HTTP CONNECT or SOCKS5 handshake with `proxy` on `stream`, blocking, within `timeout`
/// for each exchange, to `host:port`.
fn open_tunnel(
    mut stream: &std::net::TcpStream,
    proxy: &mqtt_client::Proxy,
    host: &str,
    port: u16,
    timeout: std::time::Duration,
) -> Result<(), Error> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut handshake = mqtt_client::ProxyHandshake::new(proxy, host, port)?;
    let mut buf = [0u8; 512];
    loop {
        while let Some(bytes) = handshake.poll_transmit() {
            stream.write_all(&bytes)?;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the proxy closed the connection during its handshake",
            )));
        }
        match handshake.handle_bytes(&buf[..n])? {
            None => {}
            Some(rest) if rest.is_empty() => break,
            Some(_) => {
                return Err(Error::Proxy(mqtt_client::ProxyError::Malformed(
                    "bytes from the broker before the client spoke".into(),
                )));
            }
        }
    }
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)?;
    Ok(())
}

/// A TLS failure as the client's: the `rustls::Error` is its source, and a server that does
/// not speak TLS is named as such.
#[cfg(feature = "tls")]
fn tls_error(error: rustls::Error) -> Error {
    let context = if matches!(error, rustls::Error::InvalidMessage(_)) {
        "TLS handshake: the server does not answer in TLS; is this a plain MQTT port?"
    } else {
        "TLS handshake"
    };
    Error::tls_caused(context, error)
}

#[cfg(feature = "websocket")]
/// A tungstenite error as the client's: I/O and TLS failures keep their kind.
fn ws_error(error: tungstenite::Error) -> Error {
    match error {
        #[cfg(feature = "tls")]
        tungstenite::Error::Io(e)
            if e.get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            match e
                .into_inner()
                .map(|inner| inner.downcast::<rustls::Error>())
            {
                Some(Ok(tls)) => tls_error(*tls),
                _ => Error::tls("TLS failed"),
            }
        }
        tungstenite::Error::Io(e) => Error::Io(e),
        tungstenite::Error::Http(response) => {
            let context = format!(
                "the broker refused the WebSocket upgrade: HTTP {}",
                response.status()
            );
            Error::websocket_caused(context, tungstenite::Error::Http(response))
        }
        other => Error::websocket_caused("WebSocket", other),
    }
}

#[cfg(feature = "websocket")]
/// The upgrade request: `ws://` or `wss://` (with TLS) to `host`, the port and the path,
/// subprotocol `mqtt`, and the extra headers.
fn websocket_request(
    host: &str,
    options: &ConnectOptions,
    websocket: &WebSocketOptions,
) -> Result<Request, Error> {
    let scheme = if options.uses_tls() { "wss" } else { "ws" };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let slash = if websocket.path.starts_with('/') {
        ""
    } else {
        "/"
    };
    let url = format!(
        "{scheme}://{host}:{}{slash}{}",
        options.port, websocket.path
    );
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| Error::websocket_caused(format!("the upgrade request for {url}"), e))?;
    let headers = request.headers_mut();
    headers.insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
    for (name, value) in &websocket.headers {
        let bad = |e: &dyn std::fmt::Display| {
            Error::WebSocket(Detail::new(format!("header {name:?}: {e}")))
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(&e))?;
        let value = HeaderValue::from_str(value).map_err(|e| bad(&e))?;
        headers.append(name, value);
    }
    Ok(request)
}

fn advance(out: &mut VecDeque<Bytes>, mut n: usize) {
    while n > 0 {
        let Some(front) = out.front_mut() else {
            return;
        };
        let take = n.min(front.len());
        front.advance(take);
        n -= take;
        if front.is_empty() {
            out.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "websocket")]
    #[test]
    fn the_upgrade_request_has_the_subprotocol_path_and_headers() {
        let options = ConnectOptions::port(8080).with_websocket(
            WebSocketOptions::new("ws/mqtt").with_header("Authorization", "Bearer x"),
        );
        let websocket = options.websocket.clone().unwrap();
        let request = websocket_request("::1", &options, &websocket).unwrap();
        assert_eq!(request.uri().to_string(), "ws://[::1]:8080/ws/mqtt");
        let header = |name: &str| request.headers().get(name).unwrap().to_str().unwrap();
        assert_eq!(header("sec-websocket-protocol"), "mqtt");
        assert_eq!(header("authorization"), "Bearer x");

        let bad = WebSocketOptions::new("/").with_header("bad name", "x");
        assert!(matches!(
            websocket_request("h", &options, &bad),
            Err(Error::WebSocket(_))
        ));
    }

    #[cfg(feature = "websocket")]
    #[test]
    fn messages_gather_up_to_the_limit_and_keep_large_chunks_whole() {
        let mut out: VecDeque<Bytes> = [&b"ab"[..], b"cd", b"e"]
            .into_iter()
            .map(Bytes::from_static)
            .collect();
        assert_eq!(gather(&mut out), Bytes::from_static(b"abcde"));
        assert!(out.is_empty());
        let big = Bytes::from(vec![7u8; MAX_WS_MESSAGE + 1]);
        let mut out: VecDeque<Bytes> = [Bytes::from_static(b"x"), big.clone(), big.clone()]
            .into_iter()
            .collect();
        assert_eq!(gather(&mut out).len(), MAX_WS_MESSAGE);
        assert_eq!(out.front().map(Bytes::len), Some(2));
        out.pop_front();
        assert_eq!(gather(&mut out), big);
    }
}

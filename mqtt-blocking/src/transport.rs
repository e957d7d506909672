//! The byte stream to the broker: a non-blocking mio socket, optionally wrapped in a rustls
//! `ClientConnection` driven by hand (`read_tls`/`process_new_packets`/`reader`,
//! `writer`/`write_tls`).

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, ToSocketAddrs};

use bytes::{Buf, Bytes};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::ClientConnection;
use rustls::pki_types::ServerName;

use crate::options::ConnectOptions;
use mqtt_client::Error;

/// The most buffers handed to one vectored write.
const MAX_IOVECS: usize = 64;

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
pub(crate) struct Transport {
    socket: TcpStream,
    tls: Option<Box<ClientConnection>>,
    /// Plaintext handed to rustls whose records are not all written yet.
    plaintext: usize,
}

impl Transport {
    /// Connects to `host` (each of its addresses in turn, each within the connect timeout) and
    /// starts TLS when configured. Blocks for the TCP connect only; the TLS handshake runs in
    /// the loop with the MQTT exchange.
    pub(crate) fn open(host: &str, options: &ConnectOptions) -> Result<Transport, Error> {
        let mut last_error = None;
        let mut stream = None;
        for address in (host, options.port).to_socket_addrs()? {
            match std::net::TcpStream::connect_timeout(&address, options.connect_timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let stream = stream.ok_or_else(|| {
            Error::Io(last_error.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
            }))
        })?;
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
        let tls = match &options.tls {
            Some(config) => {
                let name = options.tls_server_name.as_deref().unwrap_or(host);
                let name = ServerName::try_from(name.to_owned())
                    .map_err(|e| Error::Tls(format!("server name {name:?}: {e}")))?;
                let connection = ClientConnection::new(config.clone(), name).map_err(Error::tls)?;
                Some(Box::new(connection))
            }
            None => None,
        };
        Ok(Transport {
            socket: TcpStream::from_std(stream),
            tls,
            plaintext: 0,
        })
    }

    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut self.socket,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    /// Reads what is available, up to about `limit` bytes, handing the plaintext to `sink`.
    pub(crate) fn read(
        &mut self,
        buf: &mut [u8],
        limit: usize,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<ReadStatus, Error> {
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
            Some(tls) => loop {
                if total >= limit {
                    return Ok(ReadStatus::More);
                }
                let eof = match tls.read_tls(&mut self.socket) {
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
                        let _ = tls.write_tls(&mut self.socket);
                        return Err(Error::tls(e));
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
            },
        }
    }

    /// Writes as much of `out` as the socket takes. Returns how many bytes of `out` reached
    /// the socket (with TLS: whose records were all written), and whether it would block.
    pub(crate) fn write(&mut self, out: &mut VecDeque<Bytes>) -> Result<(usize, bool), Error> {
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
            Some(tls) => loop {
                // Plaintext into rustls as far as its buffer takes it...
                while let Some(front) = out.front_mut() {
                    let n = tls.writer().write(front)?;
                    if n == 0 {
                        break;
                    }
                    self.plaintext += n;
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
                        std::mem::take(&mut self.plaintext)
                    };
                    return Ok((written, false));
                }
                while tls.wants_write() {
                    match tls.write_tls(&mut self.socket) {
                        Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((0, true)),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            },
        }
    }

    /// Closes the connection: TLS close_notify and a TCP shutdown, best effort.
    pub(crate) fn close(mut self, registry: &Registry) {
        if let Some(tls) = &mut self.tls {
            tls.send_close_notify();
            while tls.wants_write() {
                if tls.write_tls(&mut self.socket).is_err() {
                    break;
                }
            }
        }
        let _ = self.socket.shutdown(Shutdown::Both);
        let _ = registry.deregister(&mut self.socket);
    }
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

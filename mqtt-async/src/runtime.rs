//! What an async runtime gives the client: [`Runtime`] (opening transports, timers, spawning)
//! and [`Io`] (the byte stream). An adapter crate implements them; everything else is here.

use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use mqtt_client::{Error, Proxy, ProxyError, ProxyHandshake};
use socket2::SockRef;

use crate::options::{Options, Server};

/// An async runtime, as the client needs it.
///
/// ```ignore
/// // mqtt-tokio's, in short:
/// impl Runtime for Tokio {
///     type Io = TokioIo;
///     fn connect(options: &Options) -> impl Future<Output = Result<TokioIo, Error>> + Send { .. }
///     fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send {
///         tokio::time::sleep_until(deadline.into())
///     }
///     fn spawn(future: impl Future<Output = ()> + Send + 'static) { tokio::spawn(future); }
/// }
/// ```
pub trait Runtime: Send + Sync + Sized + 'static {
    /// The byte stream to the broker: TCP, TLS or WebSocket.
    type Io: Io;

    /// Opens a transport to `server` with `options`' settings: TCP (with [`configure_tcp`]), then TLS
    /// ([`TlsOptions::client_config`](crate::TlsOptions::client_config)) and WebSocket
    /// (`upgrade_request`, `WsIo`, with the `websocket` feature) as [`Server::transport`]
    /// says.
    /// The client bounds the whole with [`Options::connect_timeout`].
    fn connect(
        options: &Options<Self>,
        server: &Server,
    ) -> impl Future<Output = Result<Self::Io, Error>> + Send;

    /// Completes at `deadline`.
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send;

    /// Runs `future` in the background.
    fn spawn(future: impl Future<Output = ()> + Send + 'static);
}

/// A byte stream to the broker, polled by the connection task.
pub trait Io: Send + Unpin + 'static {
    /// Reads into the spare capacity of `buf`, appending; `Ok(0)` at end of stream.
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>>;

    /// Writes from `bufs`, in order; returns how many bytes were taken.
    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;

    /// Pushes out what the stream buffers (TLS records, WebSocket frames).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Closes the writing side in order (TLS close_notify, WebSocket Close, TCP FIN).
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Whether bytes taken by a write reach the network only once flushed: `false` for plain
    /// TCP, `true` for TLS and WebSocket.
    fn buffers_writes(&self) -> bool;
}

impl<T: Io + ?Sized> Io for Box<T> {
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        (**self).poll_read_buf(cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        (**self).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        (**self).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        (**self).poll_shutdown(cx)
    }

    fn buffers_writes(&self) -> bool {
        (**self).buffers_writes()
    }
}

/// Applies the TCP settings of `options` to a connected socket: `TCP_NODELAY` and the
/// keepalive probes ([`Options::socket_keepalive`]).
///
/// # Errors
///
/// The socket's, when it refuses a setting.
pub fn configure_tcp<R: Runtime>(socket: SockRef<'_>, options: &Options<R>) -> io::Result<()> {
    socket.set_tcp_nodelay(options.tcp_nodelay)?;
    if let Some(probes) = options.socket_keepalive {
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(probes.idle)
            .with_interval(probes.interval)
            .with_retries(probes.count);
        socket.set_tcp_keepalive(&keepalive)?;
    }
    Ok(())
}

/// Opens the tunnel through `proxy` to `server` on `io`, a connection to the proxy: the
/// HTTP CONNECT or SOCKS5 handshake of [`ProxyHandshake`].
///
/// # Errors
///
/// [`Error::Proxy`] when the proxy refuses, [`Error::Io`] when the connection fails.
pub async fn open_tunnel<I: Io>(io: &mut I, proxy: &Proxy, server: &Server) -> Result<(), Error> {
    let mut handshake = ProxyHandshake::new(proxy, &server.host, server.port)?;
    let mut input = BytesMut::with_capacity(512);
    loop {
        while let Some(bytes) = handshake.poll_transmit() {
            let mut sent = 0;
            while sent < bytes.len() {
                let n = poll_fn(|cx| io.poll_write_vectored(cx, &[IoSlice::new(&bytes[sent..])]))
                    .await?;
                if n == 0 {
                    return Err(Error::Io(io::ErrorKind::WriteZero.into()));
                }
                sent += n;
            }
            poll_fn(|cx| io.poll_flush(cx)).await?;
        }
        input.clear();
        input.reserve(512);
        if poll_fn(|cx| io.poll_read_buf(cx, &mut input)).await? == 0 {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the proxy closed the connection during its handshake",
            )));
        }
        match handshake.handle_bytes(&input)? {
            None => {}
            Some(rest) if rest.is_empty() => return Ok(()),
            Some(_) => {
                return Err(Error::Proxy(ProxyError::Malformed(
                    "bytes from the broker before the client spoke".into(),
                )));
            }
        }
    }
}

/// `Future` for [`Io::poll_shutdown`].
pub(crate) struct Shutdown<'a, I: ?Sized>(pub(crate) &'a mut I);

impl<I: Io + ?Sized> Future for Shutdown<'_, I> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_shutdown(cx)
    }
}

//! [`Smol`] and [`AsyncStd`]: the client's runtimes on the async-io reactor, with
//! futures-rustls and async-tungstenite. They differ only in the executor
//! [`Client::spawn`](mqtt_async::Client::spawn) runs the connection task on.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use async_net::TcpStream;
use bytes::BytesMut;
use futures_io::{AsyncRead, AsyncWrite};
#[cfg(feature = "websocket")]
use mqtt_async::WsIo;
use mqtt_async::{Io, Options, Runtime, Server, Transport};
use mqtt_client::Error;

#[cfg(feature = "smol")]
/// smol: the client runs on smol's executor, timers and sockets.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct Smol;

#[cfg(feature = "async-std")]
/// async-std: the client runs on the executor async-std's tasks run on
/// (`async-global-executor`), with the same async-io timers and sockets as async-std's.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct AsyncStd;

#[cfg(feature = "smol")]
impl Runtime for Smol {
    type Io = Box<dyn Io>;

    fn connect(
        options: &Options<Smol>,
        server: &Server,
    ) -> impl Future<Output = Result<Box<dyn Io>, Error>> + Send {
        open(options, server)
    }

    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send {
        sleep_until(deadline)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        ::smol::spawn(future).detach();
    }
}

#[cfg(feature = "async-std")]
impl Runtime for AsyncStd {
    type Io = Box<dyn Io>;

    fn connect(
        options: &Options<AsyncStd>,
        server: &Server,
    ) -> impl Future<Output = Result<Box<dyn Io>, Error>> + Send {
        open(options, server)
    }

    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send {
        sleep_until(deadline)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        async_global_executor::spawn(future).detach();
    }
}

async fn sleep_until(deadline: Instant) {
    async_io::Timer::at(deadline).await;
}

/// Opens the transport `options` describe.
async fn open<R: Runtime>(options: &Options<R>, server: &Server) -> Result<Box<dyn Io>, Error> {
    let tcp = match &options.proxy {
        None => TcpStream::connect((server.host.as_str(), server.port))
            .await
            .map_err(|e| server.connect_error(e))?,
        Some(proxy) => {
            let tcp = TcpStream::connect((proxy.host.as_str(), proxy.port))
                .await
                .map_err(|source| Error::Connect {
                    address: proxy.address(),
                    source,
                })?;
            let mut stream = Stream::new(tcp, false);
            mqtt_async::open_tunnel(&mut stream, proxy, server).await?;
            stream.io
        }
    };
    mqtt_async::configure_tcp((&tcp).into(), options)?;
    // The TLS and WebSocket handshakes are boxed: polled inline, their large state and stack
    // frames would be paid by every connection, plain TCP included.
    Ok(match server.transport {
        Transport::Tcp => Box::new(Stream::new(tcp, false)),
        #[cfg(feature = "tls")]
        Transport::Tls => Box::new(Stream::new(
            Box::pin(tls(options, server, tcp)).await?,
            true,
        )),
        #[cfg(feature = "websocket")]
        Transport::WebSocket => Box::new(Box::pin(websocket(server, tcp)).await?),
        #[cfg(all(feature = "tls", feature = "websocket"))]
        Transport::SecureWebSocket => {
            let tls = Box::pin(tls(options, server, tcp)).await?;
            Box::new(Box::pin(websocket(server, tls)).await?)
        }
        other => {
            other.available()?;
            return Err(Error::InvalidUrl(format!(
                "transport {other:?} is not supported on async-io"
            )));
        }
    })
}

#[cfg(feature = "tls")]
async fn tls<R: Runtime, S>(
    options: &Options<R>,
    server: &Server,
    stream: S,
) -> Result<futures_rustls::client::TlsStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let tls = options.tls_options()?;
    let connector = futures_rustls::TlsConnector::from(tls.client_config()?);
    connector
        .connect(tls.verified_name(&server.host)?, stream)
        .await
        .map_err(|e| mqtt_async::handshake_error(&server.host_port(), e))
}

#[cfg(feature = "websocket")]
async fn websocket<S>(
    server: &Server,
    stream: S,
) -> Result<WsIo<async_tungstenite::WebSocketStream<S>>, Error>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let request = mqtt_async::upgrade_request(server)?;
    let (ws, _response) = async_tungstenite::client_async(request, stream)
        .await
        .map_err(|e| mqtt_async::upgrade_error(server, e))?;
    Ok(WsIo::new(ws))
}

/// Any futures-io byte stream as the client's transport, for
/// [`Options::set_connector`](mqtt_async::Options::set_connector): a Unix socket, a QUIC
/// stream, a tunnel. Bytes count as sent once the stream took them.
pub fn stream<S>(stream: S) -> Box<dyn Io>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    Box::new(Stream::new(stream, false))
}

/// A futures-io byte stream: TCP, or TLS over it.
struct Stream<S> {
    io: S,
    /// futures-io reads into initialized memory: the bytes arrive here, then go to the
    /// client's buffer. It grows to the room the client offers, and is zeroed only then.
    scratch: Vec<u8>,
    /// TLS holds written bytes in records until flushed; TCP sends them at once.
    buffers_writes: bool,
}

impl<S> Stream<S> {
    fn new(io: S, buffers_writes: bool) -> Self {
        Stream {
            io,
            scratch: Vec::new(),
            buffers_writes,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for Stream<S> {
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        let room = (buf.capacity() - buf.len()).max(64);
        if self.scratch.len() < room {
            self.scratch.resize(room, 0);
        }
        let n = ready!(Pin::new(&mut self.io).poll_read(cx, &mut self.scratch[..room]))?;
        buf.extend_from_slice(&self.scratch[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_close(cx)
    }

    fn buffers_writes(&self) -> bool {
        self.buffers_writes
    }
}

//! [`Tokio`]: the client's runtime on tokio, with tokio-rustls and tokio-tungstenite.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
#[cfg(feature = "websocket")]
use mqtt_async::WsIo;
use mqtt_async::{Io, Options, Runtime, Server, Transport};
use mqtt_client::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The tokio runtime, as the client uses it: tokio's sockets and timers, TLS through
/// tokio-rustls, WebSocket through tokio-tungstenite. [`Client`](crate::Client) and the other
/// types of this crate are the runtime-independent client's with this runtime.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct Tokio;

impl Runtime for Tokio {
    type Io = Box<dyn Io>;

    async fn connect(options: &Options<Tokio>, server: &Server) -> Result<Box<dyn Io>, Error> {
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
        // The TLS and WebSocket handshakes are boxed: polled inline, their large state and
        // stack frames would be paid by every connection, plain TCP included.
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
                    "transport {other:?} is not supported on tokio"
                )));
            }
        })
    }

    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send {
        tokio::time::sleep_until(deadline.into())
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(future);
    }
}

#[cfg(feature = "tls")]
async fn tls<S>(
    options: &Options<Tokio>,
    server: &Server,
    stream: S,
) -> Result<tokio_rustls::client::TlsStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let tls = options.tls_options()?;
    let connector = tokio_rustls::TlsConnector::from(tls.client_config()?);
    connector
        .connect(tls.verified_name(&server.host)?, stream)
        .await
        .map_err(|e| mqtt_async::handshake_error(&server.host_port(), e))
}

#[cfg(feature = "websocket")]
async fn websocket<S>(
    server: &Server,
    stream: S,
) -> Result<WsIo<tokio_tungstenite::WebSocketStream<S>>, Error>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let request = mqtt_async::upgrade_request(server)?;
    let (ws, _response) = tokio_tungstenite::client_async(request, stream)
        .await
        .map_err(|e| mqtt_async::upgrade_error(server, e))?;
    Ok(WsIo::new(ws))
}

/// Any tokio byte stream as the client's transport, for
/// [`Options::set_connector`](mqtt_async::Options::set_connector): a Unix socket, a QUIC
/// stream, a tunnel. Bytes count as sent once the stream took them.
///
/// ```
/// let (ours, _theirs) = tokio::io::duplex(4096);
/// let io: Box<dyn mqtt_tokio::Io> = mqtt_tokio::stream(ours);
/// ```
pub fn stream<S>(stream: S) -> Box<dyn Io>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    Box::new(Stream::new(stream, false))
}

/// A tokio byte stream: TCP, or TLS over it.
struct Stream<S> {
    io: S,
    /// TLS holds written bytes in records until flushed; TCP sends them at once.
    buffers_writes: bool,
}

impl<S> Stream<S> {
    fn new(io: S, buffers_writes: bool) -> Self {
        Stream { io, buffers_writes }
    }
}

impl<S: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for Stream<S> {
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, buf)
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
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn buffers_writes(&self) -> bool {
        self.buffers_writes
    }
}

#[cfg(test)]
mod tests {
    use crate::{Client, Options};

    /// An idle client holds little: the connection task's future keeps its state on the heap
    /// and has no room for the handshake futures.
    #[test]
    fn an_idle_client_stays_small() {
        let (_client, _messages, connection) = Client::new(Options::new("127.0.0.1", 1883, "x"));
        let task = std::mem::size_of_val(&connection.run());
        assert!(
            task <= 1024,
            "the connection task's future takes {task} bytes"
        );
    }
}

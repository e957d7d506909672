//! Opening the byte stream to the broker: TCP, TLS, WebSocket, secure WebSocket.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

use crate::options::{Options, Transport};
use crate::tls::TlsOptions;
use mqtt_client::Error;

/// A byte stream to the broker.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// Opens the transport `options` describe, within its connect timeout.
pub(crate) async fn connect(options: &Options) -> Result<Box<dyn Io>, Error> {
    tokio::time::timeout(options.connect_timeout, open(options))
        .await
        .map_err(|_| Error::ConnectTimeout)?
}

async fn open(options: &Options) -> Result<Box<dyn Io>, Error> {
    let tcp = tcp(options).await?;
    // The TLS and WebSocket handshakes are boxed: polled inline, their large state and stack
    // frames would be paid by every connection, plain TCP included.
    Ok(match options.transport {
        Transport::Tcp => Box::new(tcp),
        Transport::Tls => Box::new(Box::pin(tls(options, tcp)).await?),
        Transport::WebSocket => Box::new(Box::pin(websocket(options, "ws", tcp)).await?),
        Transport::SecureWebSocket => {
            let tls = Box::pin(tls(options, tcp)).await?;
            Box::new(Box::pin(websocket(options, "wss", tls)).await?)
        }
    })
}

async fn tcp(options: &Options) -> Result<TcpStream, Error> {
    let mut last_error = None;
    for address in tokio::net::lookup_host((options.host.as_str(), options.port)).await? {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                stream.set_nodelay(options.tcp_nodelay)?;
                if let Some(k) = options.socket_keepalive {
                    let keepalive = socket2::TcpKeepalive::new()
                        .with_time(k.idle)
                        .with_interval(k.interval)
                        .with_retries(k.count);
                    socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive)?;
                }
                return Ok(stream);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(Error::Io(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} has no address", options.host),
        )
    })))
}

async fn tls<S: Io + 'static>(
    options: &Options,
    stream: S,
) -> Result<tokio_rustls::client::TlsStream<S>, Error> {
    let tls = options.tls.clone().unwrap_or_else(TlsOptions::webpki_roots);
    let connector = tokio_rustls::TlsConnector::from(tls.client_config()?);
    connector
        .connect(tls.verified_name(&options.host)?, stream)
        .await
        .map_err(|e| {
            match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<tokio_rustls::rustls::Error>())
            {
                Some(tls_error) => Error::Tls(tls_error.to_string()),
                None => Error::Io(e),
            }
        })
}

async fn websocket<S: Io + 'static>(
    options: &Options,
    scheme: &str,
    stream: S,
) -> Result<WsIo<S>, Error> {
    let url = format!(
        "{scheme}://{}:{}{}",
        options.host, options.port, options.path
    );
    let mut request = url
        .into_client_request()
        .map_err(|e| Error::WebSocket(e.to_string()))?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
    let (ws, _response) = tokio_tungstenite::client_async(request, stream)
        .await
        .map_err(|e| Error::WebSocket(e.to_string()))?;
    Ok(WsIo {
        ws,
        read: Bytes::new(),
    })
}

/// MQTT over WebSocket (MQTT 5.0 §6): the byte stream travels in binary messages, and a
/// message may carry any part of it.
pub(crate) struct WsIo<S> {
    ws: WebSocketStream<S>,
    /// The unread rest of the last message.
    read: Bytes,
}

fn ws_error(e: tungstenite::Error) -> io::Error {
    match e {
        tungstenite::Error::Io(e) => e,
        other => io::Error::other(other),
    }
}

impl<S: Io> AsyncRead for WsIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.read.is_empty() {
            match ready!(Pin::new(&mut self.ws).poll_next(cx)) {
                Some(Ok(WsMessage::Binary(data))) => self.read = data,
                Some(Ok(WsMessage::Close(_))) | None => return Poll::Ready(Ok(())),
                Some(Ok(WsMessage::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "MQTT over WebSocket uses binary messages (MQTT-6.0.0-1)",
                    )));
                }
                Some(Ok(_)) => {} // ping, pong: tungstenite answers pings itself
                Some(Err(e)) => return Poll::Ready(Err(ws_error(e))),
            }
        }
        let n = self.read.len().min(buf.remaining());
        buf.put_slice(&self.read[..n]);
        self.read.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: Io> AsyncWrite for WsIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(Pin::new(&mut self.ws).poll_ready(cx)).map_err(ws_error)?;
        let message: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        let n = message.len();
        Pin::new(&mut self.ws)
            .start_send(WsMessage::Binary(message.into()))
            .map_err(ws_error)?;
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_flush(cx).map_err(ws_error)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_close(cx).map_err(ws_error)
    }
}

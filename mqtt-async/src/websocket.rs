//! MQTT over WebSocket (MQTT 5.0 §6), for any runtime's tungstenite binding: the upgrade
//! request, and [`WsIo`], which turns a stream of WebSocket messages into the client's byte
//! stream.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use futures_core::Stream;
use futures_sink::Sink;
use mqtt_client::Error;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::Request;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, error::Error as WsError};

use crate::options::Server;
use crate::runtime::Io;

/// The upgrade request for `server`: `scheme://host:port/path`, subprotocol `mqtt`.
///
/// # Errors
///
/// [`Error::WebSocket`] when host and path do not make a valid URL.
pub fn upgrade_request(server: &Server) -> Result<Request, Error> {
    let scheme = if server.transport.is_tls() {
        "wss"
    } else {
        "ws"
    };
    let url = format!("{scheme}://{}{}", server.host_port(), server.path);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| Error::websocket_caused(format!("the upgrade request for {url}"), e))?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
    Ok(request)
}

/// The error of a failed WebSocket upgrade with `server`: the
/// `tungstenite::Error` is its source (a refused upgrade carries the HTTP response).
pub fn upgrade_error(server: &Server, error: WsError) -> Error {
    let context = match &error {
        WsError::Http(response) => format!(
            "WebSocket upgrade at {}{}: the server answered HTTP {}",
            server.host_port(),
            server.path,
            response.status()
        ),
        _ => format!("WebSocket upgrade at {}{}", server.host_port(), server.path),
    };
    Error::websocket_caused(context, error)
}

/// The byte stream over a WebSocket: it travels in binary messages, and a message may carry
/// any part of it. `S` is the runtime binding's `WebSocketStream`.
pub struct WsIo<S> {
    ws: S,
    /// The unread rest of the last message.
    read: Bytes,
}

impl<S> WsIo<S> {
    /// The byte stream over `ws`, an upgraded connection.
    pub fn new(ws: S) -> Self {
        WsIo {
            ws,
            read: Bytes::new(),
        }
    }
}

fn io_error(e: WsError) -> io::Error {
    match e {
        WsError::Io(e) => e,
        other => io::Error::other(other),
    }
}

impl<S> Io for WsIo<S>
where
    S: Stream<Item = Result<Message, WsError>>
        + Sink<Message, Error = WsError>
        + Send
        + Unpin
        + 'static,
{
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        while self.read.is_empty() {
            match ready!(Pin::new(&mut self.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(data))) => self.read = data,
                Some(Ok(Message::Close(_))) | None => return Poll::Ready(Ok(0)),
                Some(Ok(Message::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "MQTT over WebSocket uses binary messages (MQTT-6.0.0-1)",
                    )));
                }
                Some(Ok(_)) => {} // ping, pong: tungstenite answers pings itself
                Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
            }
        }
        // The whole rest of the message: the buffer grows to fit, as a read would have
        // needed to go round that many times anyway.
        let n = self.read.len();
        buf.extend_from_slice(&self.read);
        self.read.advance(n);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(Pin::new(&mut self.ws).poll_ready(cx)).map_err(io_error)?;
        let message: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        let n = message.len();
        Pin::new(&mut self.ws)
            .start_send(Message::Binary(message.into()))
            .map_err(io_error)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_flush(cx).map_err(io_error)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_close(cx).map_err(io_error)
    }

    fn buffers_writes(&self) -> bool {
        true
    }
}

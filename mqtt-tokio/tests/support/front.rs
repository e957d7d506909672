//! Fronts for the embedded broker: a plain TCP relay whose connections a test can cut, and
//! TLS, mutual TLS, WebSocket and secure WebSocket terminators that relay to the broker's
//! plain port. With them the embedded broker offers every transport mosquitto does in CI.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use mqtt_tokio::rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// What a front speaks to its clients.
#[derive(Clone)]
pub enum Kind {
    Tcp,
    Tls(Arc<ServerConfig>),
    WebSocket,
    SecureWebSocket(Arc<ServerConfig>),
}

/// A listening front; dropping it stops accepting.
pub struct Front {
    pub address: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Front {
    /// Listens on a loopback port and relays every connection to `upstream`.
    pub async fn start(kind: Kind, upstream: SocketAddr) -> Front {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the front");
        let address = listener.local_addr().expect("front address");
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let live = connections.clone();
        let upstream = Arc::new(Mutex::new(upstream));
        let target = upstream.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let kind = kind.clone();
                let upstream = *target.lock().expect("lock");
                let task = tokio::spawn(async move {
                    let Ok(broker) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = broker.set_nodelay(true);
                    relay(kind, client, broker).await;
                });
                live.lock().expect("lock").push(task.abort_handle());
            }
        })
        .abort_handle();
        Front {
            address,
            upstream,
            connections,
            accept,
        }
    }

    /// Relays new connections to another broker from now on.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.upstream.lock().expect("lock") = upstream;
    }

    /// Cuts every open connection at once, as a network failure would: no DISCONNECT, no
    /// orderly close on either side.
    pub fn cut(&self) {
        for connection in self.connections.lock().expect("lock").drain(..) {
            connection.abort();
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn relay(kind: Kind, client: TcpStream, broker: TcpStream) {
    match kind {
        Kind::Tcp => copy(client, broker).await,
        Kind::Tls(config) => {
            if let Ok(tls) = tokio_rustls::TlsAcceptor::from(config).accept(client).await {
                copy(tls, broker).await;
            }
        }
        Kind::WebSocket => websocket(client, broker).await,
        Kind::SecureWebSocket(config) => {
            if let Ok(tls) = tokio_rustls::TlsAcceptor::from(config).accept(client).await {
                websocket(tls, broker).await;
            }
        }
    }
}

async fn copy<S: AsyncRead + AsyncWrite + Unpin>(mut client: S, mut broker: TcpStream) {
    let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
}

/// Accepts a WebSocket with subprotocol `mqtt` and relays its binary messages.
#[allow(clippy::result_large_err)] // tungstenite's callback signature
async fn websocket<S: AsyncRead + AsyncWrite + Unpin>(client: S, mut broker: TcpStream) {
    let answer = |_request: &Request, mut response: Response| {
        response
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
        Ok(response)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(client, answer).await else {
        return;
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Binary(data))) => {
                    if broker.write_all(&data).await.is_err() { return }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            read = broker.read(&mut buf) => match read {
                Ok(0) | Err(_) => { let _ = ws.close(None).await; return }
                Ok(n) => {
                    if ws.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() { return }
                }
            },
        }
    }
}

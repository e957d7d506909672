//! [`Connect`]: how the connection task opens a socket to the broker, for the first
//! connection and every reconnection.

use core::fmt::Debug;
use core::future::Future;

use embedded_io_async::{Read, Write};

/// Opens sockets to the broker: the application's connect closure.
///
/// The connection task calls [`connect`](Self::connect) whenever the client core asks for a
/// transport: at start, and after a lost connection once the session's backoff has passed.
/// The socket it returns may borrow the connector (its buffers, say), so the task drops one
/// socket before it asks for the next.
///
/// A closure `FnMut() -> impl Future<Output = Result<S, E>>` is a connector, for sockets that
/// own their buffers; `TcpConnector` (feature `embassy-net`) opens embassy-net TCP sockets over
/// buffers it lends them; `tls::TlsConnector` (feature `tls`) puts TLS on top of
/// another connector.
///
/// # The socket's `read` must be cancel safe
///
/// The task waits for the socket, its next deadline and the application's commands at once,
/// and stops waiting for a read when something else comes first: the read's future is then
/// dropped, and must not have taken bytes it did not return. embassy-net's `TcpSocket` and
/// `embedded-io-adapters`' tokio and futures adapters are cancel safe; embedded-tls's
/// `TlsConnection` is not, which is why `tls::TlsConnector` wraps it.
/// Writes and flushes are always awaited to the end; give the socket a timeout
/// (`TcpConnector::timeout`) so that a peer that stopped
/// reading does not hold them forever.
///
/// ```
/// use mqtt_embassy::Connect;
///
/// struct Nowhere;
/// #[derive(Debug)]
/// struct Unreachable;
///
/// impl embedded_io_async::ErrorType for Nowhere {
///     type Error = core::convert::Infallible;
/// }
/// impl embedded_io_async::Read for Nowhere {
///     async fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> {
///         Ok(0)
///     }
/// }
/// impl embedded_io_async::Write for Nowhere {
///     async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
///         Ok(buf.len())
///     }
///     async fn flush(&mut self) -> Result<(), Self::Error> {
///         Ok(())
///     }
/// }
///
/// // Any closure returning a future of a socket is a connector.
/// fn takes(_: impl Connect) {}
/// takes(|| async { Err::<Nowhere, _>(Unreachable) });
/// ```
pub trait Connect {
    /// The socket: any `embedded_io_async` reader and writer with a cancel-safe `read`.
    type Socket<'a>: Read + Write
    where
        Self: 'a;
    /// Why a socket could not be opened; reported in
    /// [`ClientEvent::ConnectFailed`](crate::ClientEvent::ConnectFailed) as `Debug` prints it.
    type Error: Debug;

    /// Whether bytes the socket's `write` took may wait in it until `flush`, as TLS records
    /// do. The task then flushes once it has written everything queued, before it counts the
    /// bytes as written. A TCP socket sends what it took without a flush (and its `flush`
    /// waits for the peer's acknowledgement), so its connector says `false`.
    const FLUSH: bool = true;

    /// Opens a socket to the broker: TCP connect, TLS handshake, whatever the transport needs
    /// before MQTT's CONNECT. Bound its time yourself (`embassy_time::with_timeout`).
    fn connect(&mut self) -> impl Future<Output = Result<Self::Socket<'_>, Self::Error>>;

    /// Closes a socket in order once everything was written; the task bounds the time it
    /// takes. The default flushes it, and dropping it then closes it.
    fn close<'a>(socket: &mut Self::Socket<'a>) -> impl Future<Output = ()>
    where
        Self: 'a,
    {
        async move {
            let _ = socket.flush().await;
        }
    }
}

impl<F, Fut, S, E> Connect for F
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<S, E>>,
    S: Read + Write,
    E: Debug,
{
    type Socket<'a>
        = S
    where
        Self: 'a;
    type Error = E;

    fn connect(&mut self) -> impl Future<Output = Result<S, E>> {
        self()
    }
}

#[cfg(feature = "embassy-net")]
pub use tcp::TcpConnector;

#[cfg(feature = "embassy-net")]
mod tcp {
    use embassy_net::tcp::{ConnectError, TcpSocket};
    use embassy_net::{IpEndpoint, Stack};

    use embassy_time::Duration;

    use super::Connect;

    /// How long closing a socket may take: the FIN and everything before it acknowledged.
    const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

    /// Opens embassy-net TCP sockets to one broker, over receive and transmit buffers it lends
    /// each socket in turn.
    ///
    /// ```no_run
    /// use mqtt_embassy::TcpConnector;
    /// use embassy_net::{IpEndpoint, Ipv4Address, Stack};
    ///
    /// // The buffers typically come from a `static_cell::StaticCell`.
    /// fn connector(
    ///     stack: Stack<'static>,
    ///     rx: &'static mut [u8; 1024],
    ///     tx: &'static mut [u8; 1024],
    /// ) -> TcpConnector<'static> {
    ///     let broker = IpEndpoint::new(Ipv4Address::new(192, 168, 1, 10).into(), 1883);
    ///     TcpConnector::new(stack, broker, rx, tx)
    /// }
    /// ```
    pub struct TcpConnector<'d> {
        stack: Stack<'d>,
        remote: IpEndpoint,
        rx: &'d mut [u8],
        tx: &'d mut [u8],
        /// The socket's timeout (smoltcp aborts the connection when nothing arrives for this
        /// long, and a write to a peer that stopped reading fails after it). 60 s by default:
        /// above the keep alive, so the MQTT keep alive notices a silent broker first.
        pub timeout: Option<Duration>,
        /// TCP keep alive; none by default (MQTT has its own).
        pub keep_alive: Option<Duration>,
    }

    impl<'d> TcpConnector<'d> {
        /// A connector to `remote` over `stack`, with the sockets' receive and transmit
        /// buffers. 1 KiB each suffices for small messages; a larger receive buffer lets the
        /// broker send more before it waits for the client.
        pub fn new(
            stack: Stack<'d>,
            remote: IpEndpoint,
            rx: &'d mut [u8],
            tx: &'d mut [u8],
        ) -> TcpConnector<'d> {
            TcpConnector {
                stack,
                remote,
                rx,
                tx,
                timeout: Some(Duration::from_secs(60)),
                keep_alive: None,
            }
        }

        /// The broker's address.
        pub fn remote(&self) -> IpEndpoint {
            self.remote
        }

        /// Connects to another address from the next connection on.
        pub fn set_remote(&mut self, remote: IpEndpoint) {
            self.remote = remote;
        }
    }

    impl Connect for TcpConnector<'_> {
        type Socket<'a>
            = TcpSocket<'a>
        where
            Self: 'a;
        type Error = ConnectError;
        const FLUSH: bool = false;

        async fn connect(&mut self) -> Result<TcpSocket<'_>, ConnectError> {
            let mut socket = TcpSocket::new(self.stack, self.rx, self.tx);
            socket.set_timeout(self.timeout);
            socket.set_keep_alive(self.keep_alive);
            socket.connect(self.remote).await?;
            Ok(socket)
        }

        async fn close<'a>(socket: &mut TcpSocket<'a>)
        where
            Self: 'a,
        {
            socket.close();
            let _ = embassy_time::with_timeout(CLOSE_TIMEOUT, socket.flush()).await;
        }
    }

    impl core::fmt::Debug for TcpConnector<'_> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("TcpConnector")
                .field("remote", &self.remote)
                .field("timeout", &self.timeout)
                .finish_non_exhaustive()
        }
    }
}

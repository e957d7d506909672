//! The connection task: moves bytes between the socket and the client core, and keeps time.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::{Arc, Weak};
use std::time::Duration;

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use mqtt_client::{ClientEvent, Error, EventsId, ReadRoom, Step};
use tracing::{debug, info, warn};

use crate::client::{Client, Handle, Shared};
use crate::options::Options;
use crate::runtime::{Io, Runtime, Shutdown};

/// The most buffers handed to one vectored write.
const MAX_IOVECS: usize = 64;

/// How long closing a transport may take (a TLS close_notify to a dead peer).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// The task that owns the socket. Run it on the runtime (`tokio::spawn(connection.run())`,
/// say); [`Client::spawn`] does that for you.
///
/// It does what the client core says: opens and closes the transport, writes what the core
/// has to send in vectored writes, reads while the core wants to, calls it at its deadlines,
/// and runs the seed's callbacks with a [`Client`]. Every decision about MQTT is the core's.
pub struct Connection<R: Runtime> {
    options: Options<R>,
    shared: Arc<Shared<R>>,
    /// For callbacks; weak, so that dropping every [`Client`] ends the client.
    client: Weak<Handle<R>>,
    io: Option<R::Io>,
    out: VecDeque<Bytes>,
    /// Bytes written to a TLS or WebSocket stream and not flushed yet.
    unflushed: usize,
    read_buf: BytesMut,
    /// Room to offer each read: doubles whenever a read fills it, so an idle client holds a
    /// small buffer and a busy one reads many packets per system call.
    read_room: ReadRoom,
    /// The error of the last transport, for the caller when the client stops.
    last_error: Option<Error>,
    /// Connection events, for the log.
    events: EventsId,
    /// The timer armed for the core's deadline, and when it fires.
    timer: Option<(std::time::Instant, Timer)>,
}

/// A runtime's sleep, boxed so that it outlives one wait.
type Timer = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What woke the task up.
enum Wake {
    Wrote(io::Result<usize>),
    Flushed(io::Result<()>),
    Read(io::Result<usize>),
    Timer,
    Core,
}

impl<R: Runtime> Connection<R> {
    pub(crate) fn new(
        options: Options<R>,
        shared: Arc<Shared<R>>,
        client: Weak<Handle<R>>,
    ) -> Self {
        let events = shared.lock().open_events();
        Connection {
            options,
            shared,
            client,
            io: None,
            out: VecDeque::new(),
            unflushed: 0,
            read_buf: BytesMut::new(),
            read_room: ReadRoom::new(),
            last_error: None,
            events,
            timer: None,
        }
    }

    /// Serves the client until the broker has accepted the first connection.
    pub(crate) async fn connect_first(&mut self) -> Result<(), Error> {
        match self.serve(true).await {
            Some(result) => result.and(Err(Error::Closed)),
            None => Ok(()),
        }
    }

    /// Runs the client until [`Client::disconnect`] is called or every [`Client`] is dropped,
    /// reconnecting with backoff when the connection is lost.
    ///
    /// ```no_run
    /// use mqtt_tokio::{Client, Options};
    ///
    /// # async fn demo() -> Result<(), mqtt_tokio::Error> {
    /// let mut options = Options::from_url("mqtt://127.0.0.1", "sensor-17")?;
    /// options.reconnect = None; // the task ends, with the reason, when the connection is lost
    /// let (client, _default, connection) = Client::connect(options).await?;
    /// let task = tokio::spawn(connection.run());
    /// // ... use the client ...
    /// if let Ok(Err(e)) = task.await {
    ///     eprintln!("the connection ended: {e}");
    /// }
    /// # drop(client);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// Why the client stopped when it was not asked to: the connection was lost and automatic
    /// reconnection is off, or the first connection failed. Waiting publishes and requests
    /// then fail with the same reason.
    pub fn run(self) -> impl Future<Output = Result<(), Error>> + Send {
        // On the heap, so that the future holds a pointer rather than a copy of the state for
        // as long as it runs: an idle client's task stays small.
        Box::new(self).serve_to_end()
    }

    async fn serve_to_end(mut self: Box<Self>) -> Result<(), Error> {
        loop {
            if let Some(result) = self.serve(false).await {
                return result;
            }
        }
    }

    /// Does what the core says until it stops (`Some`), or, with `until_connected`, until the
    /// broker has accepted a connection and the callbacks have run (`None`).
    async fn serve(&mut self, until_connected: bool) -> Option<Result<(), Error>> {
        loop {
            let now = self.shared.now();
            let (step, connected, deadline, can_read) = {
                let mut core = self.shared.lock();
                core.take_woken();
                let step = core.poll_step(now);
                while let Some(bytes) = core.poll_transmit() {
                    self.out.push_back(bytes);
                }
                while let std::task::Poll::Ready(Some(event)) = core.poll_event(self.events, None) {
                    log(&event);
                }
                let deadline = core.poll_timeout().map(|t| self.shared.deadline(t));
                (step, core.is_connected(), deadline, core.wants_read())
            };
            match step {
                Step::Callbacks(mut run) => {
                    if let Some(handle) = self.client.upgrade() {
                        run.run(&Client { handle });
                    }
                    self.shared.lock().finish_callbacks(now, run);
                }
                Step::Open => self.open().await,
                Step::Close => self.close(None).await,
                Step::Stop(result) => {
                    self.close(None).await;
                    let error = self.last_error.take();
                    return Some(result.map_err(|end| Error::from_end_and_transport(end, error)));
                }
                _ => {
                    if until_connected && connected {
                        return None;
                    }
                    let wake = self.wait(deadline, can_read).await;
                    self.handle(wake);
                }
            }
        }
    }

    /// Opens the transport the core asked for.
    async fn open(&mut self) {
        let server = self.options.server(&self.shared.lock().target());
        info!(address = %server.host_port(), transport = ?server.transport, "MQTT connecting");
        // Boxed: the handshake futures (TLS, WebSocket) are large, and neither the task of an
        // idle connection nor the caller's future should carry room for them.
        // One deadline for the whole connection: what the transport leaves is the session's
        // to wait for CONNACK.
        let deadline = std::time::Instant::now() + self.options.connect_timeout;
        let available = match &self.options.connector {
            Some(_) => Ok(()),
            None => server.transport.available(),
        };
        let opened = match available {
            Ok(()) => {
                let connect: Pin<Box<dyn Future<Output = Result<R::Io, Error>> + Send + '_>> =
                    match &self.options.connector {
                        Some(connector) => connector(&server),
                        None => Box::pin(R::connect(&self.options, &server)),
                    };
                let limit = pin!(R::sleep_until(deadline));
                first(connect, limit)
                    .await
                    .unwrap_or(Err(Error::ConnectTimeout))
            }
            Err(e) => Err(e),
        };
        let now = self.shared.now();
        match opened {
            Ok(io) => {
                self.io = Some(io);
                self.out.clear();
                self.unflushed = 0;
                // Half a packet left from the last transport is not the start of this one's.
                self.read_buf.clear();
                self.last_error = None;
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                let mut core = self.shared.lock();
                core.set_connect_timeout(left);
                core.handle_transport_opened(now);
            }
            Err(e) => {
                self.shared.lock().handle_connect_failed(now, &e);
                self.last_error = Some(e);
            }
        }
    }

    /// Closes the transport, if any; `error` when it failed.
    async fn close(&mut self, error: Option<io::Error>) {
        let Some(mut io) = self.io.take() else {
            return;
        };
        if error.is_none() {
            let shutdown = pin!(Shutdown(&mut io));
            let limit = pin!(R::sleep_until(std::time::Instant::now() + SHUTDOWN_TIMEOUT));
            let _ = first(shutdown, limit).await;
        }
        self.out.clear();
        self.unflushed = 0;
        let now = self.shared.now();
        self.shared
            .lock()
            .handle_transport_closed(now, error.as_ref().map(|e| e as _));
        if let Some(e) = error {
            self.last_error = Some(Error::Io(e));
        }
    }

    /// Waits for the socket, the core's deadline, or a command: the first that is ready, in
    /// that order of preference.
    async fn wait(&mut self, deadline: Option<std::time::Instant>, can_read: bool) -> Wake {
        let room = self.read_room.get();
        if self.read_buf.capacity() - self.read_buf.len() < room / 4 {
            self.read_buf.reserve(room);
        }
        // The timer stays armed while the core's deadline only moves later, as a keep alive
        // does with every write: firing early costs one turn (the core finds nothing due and
        // names the later deadline), where arming a new timer on every turn cost the runtime's
        // timer wheel an insert and a removal each time.
        match deadline {
            None => self.timer = None,
            Some(deadline) => {
                if !matches!(&self.timer, Some((armed, _)) if *armed <= deadline) {
                    self.timer = Some((deadline, Box::pin(R::sleep_until(deadline))));
                }
            }
        }
        let writing = !self.out.is_empty() || self.unflushed > 0;
        let (io, out, read_buf, wake, timer) = (
            &mut self.io,
            &self.out,
            &mut self.read_buf,
            &self.shared.wake,
            &mut self.timer,
        );
        let woke = poll_fn(|cx| {
            if let Some(io) = io.as_mut() {
                if writing && let Poll::Ready(wake) = poll_write_or_flush(io, out, cx) {
                    return Poll::Ready(wake);
                }
                if can_read && let Poll::Ready(read) = io.poll_read_buf(cx, read_buf) {
                    return Poll::Ready(Wake::Read(read));
                }
            }
            if let Some((_, sleep)) = timer
                && sleep.as_mut().poll(cx).is_ready()
            {
                *timer = None;
                return Poll::Ready(Wake::Timer);
            }
            wake.poll(cx).map(|()| Wake::Core)
        })
        .await;
        // Busy until the next wait: a command only raises the flag.
        self.shared.wake.disarm();
        woke
    }

    fn handle(&mut self, wake: Wake) {
        let now = self.shared.now();
        match wake {
            Wake::Wrote(Ok(0)) => self.failed(io::ErrorKind::WriteZero.into()),
            Wake::Wrote(Ok(n)) => {
                let mut left = n;
                while left > 0 {
                    let Some(front) = self.out.front_mut() else {
                        break;
                    };
                    let take = left.min(front.len());
                    front.advance(take);
                    left -= take;
                    if front.is_empty() {
                        self.out.pop_front();
                    }
                }
                // A plain TCP socket has nothing to flush; TLS and WebSocket buffer.
                if self.io.as_ref().is_some_and(Io::buffers_writes) {
                    self.unflushed += n;
                } else {
                    self.shared.lock().handle_written(n);
                }
            }
            Wake::Flushed(Ok(())) => {
                let n = std::mem::take(&mut self.unflushed);
                self.shared.lock().handle_written(n);
            }
            Wake::Wrote(Err(e)) | Wake::Flushed(Err(e)) | Wake::Read(Err(e)) => self.failed(e),
            Wake::Read(Ok(0)) => {
                debug!("MQTT broker closed the connection");
                self.io = None;
                self.out.clear();
                self.unflushed = 0;
                self.shared.lock().handle_transport_closed(now, None);
            }
            Wake::Read(Ok(n)) => {
                self.read_room.record(n);
                self.shared.lock().handle_read_buf(now, &mut self.read_buf);
            }
            Wake::Timer => self.shared.lock().handle_timeout(now),
            Wake::Core => {}
        }
    }

    /// The transport failed: it is gone.
    fn failed(&mut self, error: io::Error) {
        debug!(error = %error, "MQTT transport failed");
        self.io = None;
        self.out.clear();
        self.unflushed = 0;
        let now = self.shared.now();
        self.shared
            .lock()
            .handle_transport_closed(now, Some(&error));
        self.last_error = Some(Error::Io(error));
    }
}

impl<R: Runtime> Drop for Connection<R> {
    fn drop(&mut self) {
        self.shared.lock().close_events(self.events);
    }
}

impl<R: Runtime> std::fmt::Debug for Connection<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("address", &self.options.address())
            .field("open", &self.io.is_some())
            .finish_non_exhaustive()
    }
}

fn log(event: &ClientEvent) {
    match event {
        ClientEvent::Connected(c) => {
            info!(session_present = c.session_present, "MQTT connected");
        }
        ClientEvent::Disconnected {
            reason: mqtt_session::DisconnectReason::Requested,
            ..
        } => debug!("MQTT disconnected"),
        ClientEvent::Disconnected { reason, error } => {
            warn!(%reason, error = error.as_deref(), "MQTT connection ended");
        }
        ClientEvent::ConnectFailed { error } => warn!(%error, "MQTT connection failed"),
        ClientEvent::Redirected {
            reference,
            permanent,
        } => info!(%reference, permanent, "MQTT broker redirected the client"),
        ClientEvent::Reconnecting { attempt, delay } => {
            debug!(attempt, ?delay, "MQTT reconnecting after a delay");
        }
        other => debug!(event = ?other, "MQTT"),
    }
}

/// One vectored write of the front of `out`, or a flush once it is empty.
fn poll_write_or_flush<I: Io>(
    io: &mut I,
    out: &VecDeque<Bytes>,
    cx: &mut Context<'_>,
) -> Poll<Wake> {
    if out.is_empty() {
        return io.poll_flush(cx).map(Wake::Flushed);
    }
    let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
    let mut count = 0;
    for (slice, bytes) in slices.iter_mut().zip(out) {
        *slice = IoSlice::new(bytes);
        count += 1;
    }
    io.poll_write_vectored(cx, &slices[..count])
        .map(Wake::Wrote)
}

/// Whichever of two futures completes first: `Ok` with `a`'s output, `Err` with `b`'s.
pub(crate) async fn first<A: Future + Unpin, B: Future + Unpin>(
    mut a: A,
    mut b: B,
) -> Result<A::Output, B::Output> {
    poll_fn(|cx| {
        if let Poll::Ready(output) = Pin::new(&mut a).poll(cx) {
            return Poll::Ready(Ok(output));
        }
        Pin::new(&mut b).poll(cx).map(Err)
    })
    .await
}

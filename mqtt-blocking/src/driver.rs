//! The loop: one `mio::Poll` over the socket and a `Waker`, feeding the session and draining
//! it. Runs on the loop thread ([`Client::loop_start`]), on a thread the user owns
//! ([`Client::loop_forever`]), or on the caller's thread inside the blocking calls
//! ([`Client::connect`] until CONNACK, [`Client::disconnect`] without a loop).

use std::collections::VecDeque;
use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use mio::{Events, Poll, Token, Waker};
use mqtt_session::{ConnectionState, DisconnectReason, Event, Instant, Reconnect, Router};
use tracing::{debug, info, warn};

use crate::client::{Client, Endpoint, Inner, Registration, Shared};
use crate::error::Error;
use crate::message::Message;
use crate::transport::{ReadStatus, Transport};

const SOCKET: Token = Token(0);
const WAKER: Token = Token(1);

/// Bytes read into the session per turn before the loop looks at everything else again.
const READ_LIMIT: usize = 256 * 1024;
/// The read buffer.
const READ_CHUNK: usize = 64 * 1024;
/// Events taken from the session per lock.
const BATCH: usize = 256;

/// When [`Driver::run`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Until {
    /// Once the broker has accepted the connection (or refused it): `connect` and `reconnect`.
    /// Messages that arrive meanwhile are held for the loop's callbacks.
    Connected,
    /// When the loop is asked to stop, the client disconnects, or the connection is lost with
    /// automatic reconnection off.
    Stopped,
}

/// The loop's state: the poll, the transport, the callbacks. Exactly one thread holds it at a
/// time; it waits in the client's shared state between loops.
pub(crate) struct Driver {
    poll: Poll,
    /// Kept open as long as the poll: the shared state's clone goes when the last client does,
    /// and closing the eventfd then would lose the wake-up that tells the loop to stop.
    _waker: Arc<Waker>,
    events: Events,
    transport: Option<Transport>,
    /// Bytes from the session not yet taken by the socket.
    out: VecDeque<Bytes>,
    /// The socket may have bytes to read (edge-triggered readiness not yet used up).
    may_read: bool,
    /// The socket may take bytes (no `WouldBlock` since the last writable event).
    may_write: bool,
    /// The broker and options of the current connection.
    endpoint: Option<Endpoint>,
    router: Router<Client>,
    senders: Vec<mpsc::Sender<Message>>,
    /// When to try to reconnect, while the connection is down.
    retry_at: Option<std::time::Instant>,
    /// Reconnection attempts and their backoff, from the first accepted connection on.
    reconnect: Option<Reconnect>,
    /// The origin of the times given to `reconnect`.
    epoch: std::time::Instant,
    /// Messages and packets for callbacks that arrived while no loop ran (`Until::Connected`).
    held: VecDeque<Event>,
    last_reason: Option<DisconnectReason>,
    last_error: Option<Error>,
    read_buf: Vec<u8>,
    batch: Vec<Event>,
}

impl Driver {
    /// A driver and the waker that interrupts its poll.
    pub(crate) fn new() -> io::Result<(Box<Driver>, Arc<Waker>)> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let driver = Driver {
            poll,
            _waker: waker.clone(),
            events: Events::with_capacity(16),
            transport: None,
            out: VecDeque::new(),
            may_read: false,
            may_write: false,
            endpoint: None,
            router: Router::new(),
            senders: Vec::new(),
            retry_at: None,
            reconnect: None,
            epoch: std::time::Instant::now(),
            held: VecDeque::new(),
            last_reason: None,
            last_error: None,
            read_buf: vec![0; READ_CHUNK],
            batch: Vec::with_capacity(BATCH),
        };
        Ok((Box::new(driver), waker))
    }

    /// Opens a new connection to the client's endpoint and serves it until CONNACK.
    /// `reconnecting` runs the `before_reconnect` hook first.
    pub(crate) fn connect(&mut self, client: &Client, reconnecting: bool) -> Result<(), Error> {
        self.drop_connection(client);
        if reconnecting {
            self.before_reconnect(client);
        }
        self.open(client)?;
        self.run(&Arc::downgrade(&client.shared), Until::Connected)
    }

    /// Serves the connection (and reconnects) until `until`.
    ///
    /// # Errors
    ///
    /// For `Until::Connected`, why the broker could not be reached or refused the connection;
    /// for `Until::Stopped`, why the connection ended when reconnection is off.
    pub(crate) fn run(&mut self, shared: &Weak<Shared>, until: Until) -> Result<(), Error> {
        if until == Until::Stopped && self.transport.is_none() && self.retry_at.is_none() {
            // A loop started after a failed connect: try again at once.
            self.retry_at = Some(std::time::Instant::now());
        }
        loop {
            let Some(shared) = shared.upgrade() else {
                // Every `Client` is gone: nobody can use the connection any more.
                debug!("MQTT client dropped; closing the connection");
                self.close_transport();
                return Ok(());
            };
            let client = Client { shared };
            if let Some(done) = self.turn(&client, until) {
                return done;
            }
            let timeout = self.timeout(&client);
            drop(client);
            self.wait(timeout)?;
        }
    }

    /// One pass: read, drain the session, write, then see whether the connection ended or the
    /// run is over.
    fn turn(&mut self, client: &Client, until: Until) -> Option<Result<(), Error>> {
        if self.transport.is_some() && self.may_read && client.lock().session.wants_read() {
            self.read(client);
        }
        self.pump(client, until);
        if self.may_write
            && let Some(transport) = &mut self.transport
        {
            match transport.write(&mut self.out) {
                Ok(blocked) => self.may_write = !blocked,
                Err(e) => self.transport_failed(client, e),
            }
        }
        self.after_io(client, until)
    }

    fn read(&mut self, client: &Client) {
        let Some(transport) = &mut self.transport else {
            return;
        };
        let status = transport.read(&mut self.read_buf, READ_LIMIT, |bytes| {
            client.lock().session.handle_bytes(client.now(), bytes);
        });
        match status {
            Ok(ReadStatus::More) => {}
            Ok(ReadStatus::WouldBlock) => self.may_read = false,
            Ok(ReadStatus::Closed) => {
                debug!("MQTT broker closed the connection");
                self.may_read = false;
                client.lock().session.handle_transport_closed(client.now());
            }
            Err(e) => self.transport_failed(client, e),
        }
    }

    fn transport_failed(&mut self, client: &Client, error: Error) {
        debug!(error = %error, "MQTT transport failed");
        self.last_error = Some(error);
        self.out.clear();
        self.may_read = false;
        self.may_write = false;
        client.lock().session.handle_transport_closed(client.now());
    }

    /// Drains the session until it has nothing more to say: commands and timers applied,
    /// events dispatched (without the lock, so callbacks can use the client), bytes queued for
    /// the socket.
    fn pump(&mut self, client: &Client, until: Until) {
        if until == Until::Stopped {
            while let Some(event) = self.held.pop_front() {
                self.dispatch(client, event);
            }
        }
        loop {
            let notify;
            {
                let mut guard = client.lock();
                let inner = &mut *guard;
                client.shared.clear_wake();
                self.apply_registrations(inner);
                let now = client.now();
                if inner.session.poll_timeout().is_some_and(|t| t <= now) {
                    inner.session.handle_timeout(now);
                }
                if inner.reconnect_now
                    && self.transport.is_some()
                    && inner.session.state() != ConnectionState::Disconnected
                {
                    inner.session.handle_transport_closed(now);
                }
                progress_closing(inner, client.now());
                let mut completed = false;
                while self.batch.len() < BATCH
                    && let Some(event) = inner.session.poll_event()
                {
                    completed |= inner.record(&event);
                    self.batch.push(event);
                }
                while let Some(bytes) = inner.session.poll_transmit() {
                    self.out.push_back(bytes);
                }
                notify = completed && inner.has_waiters();
            }
            if notify {
                client.shared.changed.notify_all();
            }
            if self.batch.is_empty() {
                return;
            }
            let mut batch = std::mem::take(&mut self.batch);
            for event in batch.drain(..) {
                let for_callbacks = matches!(event, Event::Message(_) | Event::Received(_));
                if until == Until::Connected && for_callbacks {
                    self.held.push_back(event);
                } else {
                    self.dispatch(client, event);
                }
            }
            self.batch = batch;
        }
    }

    fn apply_registrations(&mut self, inner: &mut Inner) {
        for registration in inner.registrations.drain(..) {
            match registration {
                Registration::On {
                    command,
                    callback,
                    condition: None,
                } => self.router.on(command, callback),
                Registration::On {
                    command,
                    callback,
                    condition: Some((condition, priority)),
                } => self.router.on_if(command, callback, condition, priority),
                Registration::Messages(sender) => self.senders.push(sender),
            }
        }
    }

    fn dispatch(&mut self, client: &Client, event: Event) {
        match event {
            Event::Connected(connected) => {
                info!(
                    session_present = connected.session_present,
                    "MQTT connected"
                );
                let now = self.since_epoch();
                if let Some(reconnect) = self.reconnect_state() {
                    reconnect.connected(now);
                }
                let hook = self
                    .endpoint
                    .as_ref()
                    .and_then(|e| e.options.after_connect.clone());
                if let Some(hook) = hook {
                    hook(client);
                }
            }
            Event::Message(message) if !self.senders.is_empty() => {
                let message = Message::from(message.publish);
                self.senders.retain(|s| s.send(message.clone()).is_ok());
            }
            Event::Received(received) => {
                self.router.dispatch(client, &received);
            }
            Event::Disconnected(reason) => {
                match &reason {
                    DisconnectReason::Requested => debug!("MQTT disconnected"),
                    other => warn!(reason = ?other, "MQTT connection ended"),
                }
                self.last_reason = Some(reason);
            }
            Event::Auth(_) => {
                warn!("MQTT AUTH packet ignored: enhanced authentication is not supported here");
            }
            _ => {}
        }
    }

    /// Closes a connection the session has ended, and decides what comes next.
    fn after_io(&mut self, client: &Client, until: Until) -> Option<Result<(), Error>> {
        let (state, closing, stop, reconnect_now) = {
            let inner = client.lock();
            (
                inner.session.state(),
                inner.closing.is_some(),
                inner.stop,
                inner.reconnect_now,
            )
        };
        if state == ConnectionState::Disconnected && self.transport.is_some() {
            // Whatever the session still had to say (a DISCONNECT) was written just before,
            // as far as the socket took it.
            self.close_transport();
            if until == Until::Stopped && !closing && !reconnect_now && !self.schedule_retry() {
                return Some(Err(self.connection_error()));
            }
        }
        match until {
            Until::Connected => {
                if self.transport.is_none() {
                    return Some(Err(self.connection_error()));
                }
                if state == ConnectionState::Connected {
                    return Some(Ok(()));
                }
            }
            Until::Stopped => {
                if closing && self.transport.is_none() {
                    let mut inner = client.lock();
                    inner.closing = None;
                    self.retry_at = None;
                    return Some(Ok(()));
                }
                if stop {
                    client.lock().stop = false;
                    return Some(Ok(()));
                }
                if self.transport.is_none() {
                    if reconnect_now {
                        client.lock().reconnect_now = false;
                        self.retry_at = Some(std::time::Instant::now());
                    }
                    match self.retry_at {
                        Some(at) if at <= std::time::Instant::now() => {
                            self.retry_at = None;
                            self.before_reconnect(client);
                            info!(
                                attempt = self.reconnect.as_ref().map_or(0, Reconnect::attempt),
                                "MQTT reconnecting"
                            );
                            if let Err(e) = self.open(client) {
                                warn!(error = %e, "MQTT reconnection failed");
                                self.last_error = Some(e);
                                if !self.schedule_retry() {
                                    return Some(Err(self.connection_error()));
                                }
                            }
                        }
                        Some(_) => {}
                        None => return Some(Err(self.connection_error())),
                    }
                }
            }
        }
        None
    }

    /// Sets when to reconnect; `false` when automatic reconnection is off.
    fn schedule_retry(&mut self) -> bool {
        let now = self.since_epoch();
        let Some(reconnect) = self.reconnect_state() else {
            return false;
        };
        let delay = reconnect.next_delay(now, fastrand::f64());
        debug!(
            ?delay,
            attempt = reconnect.attempt(),
            "waiting before reconnecting"
        );
        self.retry_at = Some(std::time::Instant::now() + delay);
        true
    }

    /// The reconnection counter for the current options' backoff; `None` when reconnection
    /// is off.
    fn reconnect_state(&mut self) -> Option<&mut Reconnect> {
        let backoff = self.endpoint.as_ref().and_then(|e| e.options.reconnect)?;
        if self
            .reconnect
            .as_ref()
            .is_none_or(|r| *r.backoff() != backoff)
        {
            self.reconnect = Some(Reconnect::new(backoff));
        }
        self.reconnect.as_mut()
    }

    fn since_epoch(&self) -> Instant {
        Instant::from_millis(self.epoch.elapsed().as_millis() as u64)
    }

    fn before_reconnect(&mut self, client: &Client) {
        let hook = client
            .lock()
            .endpoint
            .as_ref()
            .and_then(|e| e.options.before_reconnect.clone());
        if let Some(hook) = hook {
            hook(client);
        }
    }

    /// Opens the transport to the client's endpoint and sends CONNECT.
    fn open(&mut self, client: &Client) -> Result<(), Error> {
        let endpoint = client.lock().endpoint.clone().ok_or(Error::NotConnected)?;
        let mut transport = Transport::open(&endpoint.host, &endpoint.options)?;
        transport.register(self.poll.registry(), SOCKET)?;
        self.endpoint = Some(endpoint);
        self.transport = Some(transport);
        self.out.clear();
        self.may_read = true;
        self.may_write = true;
        self.last_error = None;
        self.last_reason = None;
        self.retry_at = None;
        let opened = client.lock().session.handle_transport_opened(client.now());
        if let Err(e) = opened {
            self.close_transport();
            return Err(e.into());
        }
        Ok(())
    }

    /// Ends the current connection, if any, without DISCONNECT.
    pub(crate) fn drop_connection(&mut self, client: &Client) {
        if self.transport.is_some() {
            client.lock().session.handle_transport_closed(client.now());
            self.close_transport();
            // The session's Disconnected event stays queued; the next drain reports it.
        }
    }

    fn close_transport(&mut self) {
        if let Some(transport) = self.transport.take() {
            transport.close(self.poll.registry());
        }
        self.out.clear();
        self.may_read = false;
        self.may_write = false;
    }

    /// How long the next poll may wait: until the session's deadline, the reconnection time or
    /// the disconnect deadline; zero when bytes may still be waiting to be read.
    fn timeout(&self, client: &Client) -> Option<Duration> {
        let inner = client.lock();
        if self.transport.is_some()
            && ((self.may_read && inner.session.wants_read()) || inner.session.has_transmit())
        {
            // Bytes may be waiting to be read, or the session has something to send (a
            // CONNECT on a connection just opened).
            return Some(Duration::ZERO);
        }
        let start = client.shared.start;
        let deadlines = [
            inner
                .session
                .poll_timeout()
                .map(|t| start + Duration::from_millis(t.as_millis())),
            inner.closing.as_ref().map(|c| c.deadline),
            self.retry_at,
        ];
        let deadline = deadlines.into_iter().flatten().min()?;
        Some(deadline.saturating_duration_since(std::time::Instant::now()))
    }

    /// Blocks in `Poll::poll` until the socket is ready, the waker fires or `timeout` passes.
    fn wait(&mut self, timeout: Option<Duration>) -> Result<(), Error> {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        for event in &self.events {
            if event.token() == SOCKET {
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.may_read = true;
                }
                if event.is_writable() || event.is_write_closed() || event.is_error() {
                    self.may_write = true;
                }
            }
        }
        Ok(())
    }

    /// The error that describes why the connection ended.
    fn connection_error(&mut self) -> Error {
        if let Some(e) = self.last_error.take() {
            return e;
        }
        match self.last_reason.clone() {
            Some(DisconnectReason::Refused(connack)) => Error::Refused(Box::new(connack)),
            Some(DisconnectReason::ConnectTimeout) => Error::ConnectTimeout,
            Some(reason) => Error::Disconnected(Box::new(reason)),
            None => Error::Disconnected(Box::new(DisconnectReason::TransportClosed)),
        }
    }
}

/// A requested disconnect: DISCONNECT once nothing is queued or in flight, or at the deadline.
fn progress_closing(inner: &mut Inner, now: mqtt_session::Instant) {
    let Some(closing) = &mut inner.closing else {
        return;
    };
    match inner.session.state() {
        ConnectionState::Connected => {
            let idle =
                inner.session.publishes_queued() == 0 && inner.session.publishes_in_flight() == 0;
            if idle || std::time::Instant::now() >= closing.deadline {
                let disconnect = std::mem::take(&mut closing.disconnect);
                if let Err(e) = inner.session.disconnect(now, disconnect) {
                    warn!(error = %e, "MQTT DISCONNECT refused; closing the connection");
                    inner.session.handle_transport_closed(now);
                }
            }
        }
        ConnectionState::Connecting => inner.session.handle_transport_closed(now),
        _ => {}
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("connected", &self.transport.is_some())
            .field("retry_at", &self.retry_at)
            .field("router", &self.router)
            .finish_non_exhaustive()
    }
}

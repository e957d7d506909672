//! The loop: one `mio::Poll` over the socket and a `Waker`, doing what the client core says.
//! Runs on the loop thread ([`Client::loop_start`]), on a thread the user owns
//! ([`Client::loop_forever`]), or on the caller's thread inside the blocking calls
//! ([`Client::connect`] until CONNACK, [`Client::disconnect`] without a loop).

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Weak};
use std::task::{Poll as TaskPoll, Wake, Waker};

use bytes::Bytes;
use mio::{Events, Poll, Token};
use mqtt_client::{ClientEvent, EventsId, ReadRoom, Step};
use mqtt_session::DisconnectReason;
use tracing::{debug, info, warn};

use crate::client::{Client, Handle, Shared};
use crate::transport::{ReadStatus, Transport};
use mqtt_client::Error;

const SOCKET: Token = Token(0);
const WAKER: Token = Token(1);

/// When [`Driver::run`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Until {
    /// Once the broker has accepted the connection and the callbacks have run: `connect` and
    /// `reconnect`. An attempt that fails ends it with the error, unless the connection's
    /// options retry it.
    Connected,
    /// When the loop is asked to stop, or the client stops.
    Stopped,
}

/// Wakes the poll from another thread: the core's wake-up for the driver.
struct PollWake(mio::Waker);

impl Wake for PollWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Err(e) = self.0.wake() {
            warn!(error = %e, "MQTT loop could not be woken");
        }
    }
}

/// The loop's state: the poll and the transport. Exactly one thread holds it at a time; it
/// waits in the client's shared state between loops.
pub(crate) struct Driver {
    poll: Poll,
    events: Events,
    transport: Option<Transport>,
    /// Bytes from the core not yet taken by the socket.
    out: VecDeque<Bytes>,
    /// The socket may have bytes to read (edge-triggered readiness not yet used up).
    may_read: bool,
    /// The socket may take bytes (no `WouldBlock` since the last writable event).
    may_write: bool,
    /// Where reads land. Each turn of the loop reads once, then writes: acknowledgements of
    /// what was read go out before the next read, even while the broker keeps sending. It
    /// starts empty and grows as [`ReadRoom`] says: an idle client holds 1 KiB.
    read_buf: Vec<u8>,
    read_room: ReadRoom,
    /// The error of the last transport, and why the last connection ended, for the caller.
    last_error: Option<Error>,
    last_reason: Option<DisconnectReason>,
    /// Connection events, for the log and `last_reason`.
    log: Option<EventsId>,
}

impl Driver {
    /// A driver and the waker that interrupts its poll.
    pub(crate) fn new() -> io::Result<(Box<Driver>, Waker)> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let driver = Driver {
            poll,
            events: Events::with_capacity(16),
            transport: None,
            out: VecDeque::new(),
            may_read: false,
            may_write: false,
            read_buf: Vec::new(),
            read_room: ReadRoom::new(),
            last_error: None,
            last_reason: None,
            log: None,
        };
        Ok((Box::new(driver), Waker::from(Arc::new(PollWake(waker)))))
    }

    /// Does what the core says until `until`. Callbacks get a client from `handle` (none once
    /// every handle is gone: their messages go on as if no callback took them).
    ///
    /// # Errors
    ///
    /// Why the client stopped when it was not asked to; for `Until::Connected`, why the
    /// attempt failed.
    pub(crate) fn run(
        &mut self,
        shared: &Arc<Shared>,
        handle: &Weak<Handle>,
        until: Until,
    ) -> Result<(), Error> {
        let mut attempted = false;
        loop {
            let now = shared.now();
            let (step, connected, stop, retry) = {
                let mut inner = shared.lock();
                inner.core.take_woken();
                let step = inner.core.poll_step(now);
                while let Some(bytes) = inner.core.poll_transmit() {
                    self.out.push_back(bytes);
                }
                let log = *self.log.get_or_insert_with(|| inner.core.open_events());
                while let TaskPoll::Ready(Some(event)) = inner.core.poll_event(log, None) {
                    self.record(&event);
                }
                let stop = until == Until::Stopped && std::mem::take(&mut inner.stop);
                let retry = inner
                    .endpoint
                    .as_ref()
                    .is_some_and(|e| e.options.retry_first_connect);
                (step, inner.core.is_connected(), stop, retry)
            };
            match step {
                Step::Callbacks(mut run) => {
                    if let Some(handle) = handle.upgrade() {
                        run.run(&Client { handle });
                    }
                    shared.lock().core.finish_callbacks(now, run);
                }
                Step::Open => {
                    attempted = true;
                    self.open(shared);
                }
                Step::Close => self.close(shared, None),
                Step::Stop(result) => {
                    self.close(shared, None);
                    let error = self.last_error.take();
                    return result.map_err(|end| Error::from_end_and_transport(end, error));
                }
                _ => {
                    if stop || (until == Until::Connected && connected) {
                        return Ok(());
                    }
                    if until == Until::Connected && attempted && self.transport.is_none() && !retry
                    {
                        return Err(self.attempt_error());
                    }
                    if !self.io(shared) {
                        self.wait(shared)?;
                    }
                }
            }
        }
    }

    /// Notes a connection event: logs it, and keeps why the last connection ended.
    fn record(&mut self, event: &ClientEvent) {
        match event {
            ClientEvent::Connected(c) => {
                info!(session_present = c.session_present, "MQTT connected");
            }
            ClientEvent::Disconnected { reason, error } => {
                if *reason == DisconnectReason::Requested {
                    debug!("MQTT disconnected");
                } else {
                    warn!(%reason, error = error.as_deref(), "MQTT connection ended");
                }
                self.last_reason = Some(reason.clone());
            }
            ClientEvent::ConnectFailed { error } => warn!(%error, "MQTT connection failed"),
            other => debug!(event = ?other, "MQTT"),
        }
    }

    /// Why the attempt of `connect` or `reconnect` failed.
    fn attempt_error(&mut self) -> Error {
        if let Some(e) = self.last_error.take() {
            return e;
        }
        let reason = self
            .last_reason
            .take()
            .unwrap_or(DisconnectReason::TransportClosed);
        Error::from_end(mqtt_client::End::Lost(Box::new(reason)))
    }

    /// Reads and writes what can be, without blocking; `true` if anything moved. Reads come
    /// first: a read may finish a TLS handshake, whose waiting plaintext the write then sends.
    fn io(&mut self, shared: &Arc<Shared>) -> bool {
        let mut progressed = false;
        if self.may_read && self.transport.is_some() && shared.lock().core.wants_read() {
            let Some(transport) = &mut self.transport else {
                return false;
            };
            let status = transport.read(&mut self.read_buf, &mut self.read_room, 1, |bytes| {
                progressed = true;
                let now = shared.now();
                shared.lock().core.handle_bytes(now, bytes);
            });
            match status {
                Ok(ReadStatus::More) => progressed = true,
                Ok(ReadStatus::WouldBlock) => self.may_read = false,
                Ok(ReadStatus::Closed) => {
                    debug!("MQTT broker closed the connection");
                    self.close(shared, None);
                    return true;
                }
                Err(e) => {
                    self.close(shared, Some(e));
                    return true;
                }
            }
        }
        if progressed {
            // What the read made the core say (acknowledgements) goes out with this write.
            let mut inner = shared.lock();
            while let Some(bytes) = inner.core.poll_transmit() {
                self.out.push_back(bytes);
            }
        }
        // Also with nothing queued: a TLS handshake may have records to write.
        if self.may_write
            && let Some(transport) = &mut self.transport
        {
            match transport.write(&mut self.out) {
                Ok((written, blocked)) => {
                    self.may_write = !blocked;
                    if written > 0 {
                        shared.lock().core.handle_written(written);
                        progressed = true;
                    }
                }
                Err(e) => {
                    self.close(shared, Some(e));
                    return true;
                }
            }
        }
        progressed
    }

    /// Opens the transport to the client's endpoint.
    fn open(&mut self, shared: &Arc<Shared>) {
        let (endpoint, target) = {
            let inner = shared.lock();
            (inner.endpoint.clone(), inner.core.target())
        };
        let started = std::time::Instant::now();
        let timeout = endpoint.as_ref().map(|e| e.options.connect_timeout);
        let opened = match &endpoint {
            Some(endpoint) => {
                let (host, options) = endpoint.server(&target);
                Transport::open(&host, &options).and_then(|mut t| {
                    t.register(self.poll.registry(), SOCKET)?;
                    Ok(t)
                })
            }
            None => Err(Error::NotConnected),
        };
        let now = shared.now();
        match opened {
            Ok(transport) => {
                self.transport = Some(transport);
                self.out.clear();
                self.may_read = true;
                self.may_write = true;
                self.last_error = None;
                self.last_reason = None;
                let mut inner = shared.lock();
                // One deadline from the TCP connect to CONNACK: what opening left.
                if let Some(timeout) = timeout {
                    inner
                        .core
                        .set_connect_timeout(timeout.saturating_sub(started.elapsed()));
                }
                inner.core.handle_transport_opened(now);
            }
            Err(e) => {
                shared.lock().core.handle_connect_failed(now, &e);
                self.last_error = Some(e);
            }
        }
    }

    /// Closes the transport, if any; `error` when it failed.
    fn close(&mut self, shared: &Arc<Shared>, error: Option<Error>) {
        let Some(transport) = self.transport.take() else {
            return;
        };
        transport.close(self.poll.registry());
        self.out.clear();
        self.may_read = false;
        self.may_write = false;
        let now = shared.now();
        shared
            .lock()
            .core
            .handle_transport_closed(now, error.as_ref().map(|e| e as _));
        if let Some(e) = error {
            debug!(error = %e, "MQTT transport failed");
            self.last_error = Some(e);
        }
    }

    /// Blocks in `Poll::poll` until the socket is ready, the waker fires or the core's next
    /// deadline.
    fn wait(&mut self, shared: &Arc<Shared>) -> Result<(), Error> {
        let deadline = shared.lock().core.poll_timeout();
        let timeout = deadline.map(|at| {
            shared
                .instant(at)
                .saturating_duration_since(std::time::Instant::now())
        });
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
        let now = shared.now();
        if deadline.is_some_and(|at| at <= now) {
            shared.lock().core.handle_timeout(now);
        }
        Ok(())
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("connected", &self.transport.is_some())
            .finish_non_exhaustive()
    }
}

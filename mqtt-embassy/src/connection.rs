//! The connection task: moves bytes between the socket and the client core, and keeps time.

use alloc::format;
use alloc::sync::{Arc, Weak};
use core::future::poll_fn;

use bytes::{Buf, Bytes, BytesMut};
use embassy_futures::select::{Either3, select3};
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, RawMutex};
use embassy_time::{Duration, Timer};
use embedded_io_async::{Error as _, ErrorKind, Read, Write};
use mqtt_client::{Core, ReadRoom, Step};
use mqtt_session::Instant;

use crate::client::{Client, Handle, Shared, now};
use crate::connect::Connect;
use crate::error::Error;

/// The room offered to the first read of a connection, and the most it grows to: a
/// microcontroller's share of [`ReadRoom`]'s defaults.
const READ_ROOM: ReadRoom = ReadRoom::between(256, 4096);

/// How long closing a socket in order may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The task that owns the socket: run it with [`run`](Self::run) in a task of its own.
///
/// It does what the client core says: opens sockets with the [`Connect`]or (the first
/// connection and every reconnection, after the session's backoff), writes what the core has
/// to send, reads while the core wants to, calls the core at its deadlines
/// (`Timer::at(poll_timeout)`), and runs the seed's callbacks with a [`Client`]. Every
/// decision about MQTT is the core's.
///
/// Received bytes go straight into the buffer the session decodes from: the socket reads into
/// a buffer that is swapped with the session's, and a packet split across reads is completed
/// in place.
pub struct Connection<C: Connect, M: RawMutex + 'static = CriticalSectionRawMutex> {
    shared: Arc<Shared<M>>,
    /// For callbacks; weak, so that dropping every [`Client`] ends the client.
    client: Weak<Handle<M>>,
    connector: C,
    /// The error of the last socket, for the caller when the client stops.
    last_error: Option<Error>,
    read_room: ReadRoom,
}

/// What woke the task up while it waited with an open socket.
enum Wake<E> {
    Read(Result<usize, E>),
    Timer,
    Core,
}

/// How a connection ended.
enum Ended {
    /// The socket is closed; the core decides what comes next.
    Closed,
    /// The client stopped.
    Stopped(Result<(), Error>),
}

impl<C: Connect, M: RawMutex + 'static> Connection<C, M> {
    pub(crate) fn new(shared: Arc<Shared<M>>, client: Weak<Handle<M>>, connector: C) -> Self {
        Connection {
            shared,
            client,
            connector,
            last_error: None,
            read_room: READ_ROOM,
        }
    }

    /// Runs the client until [`Client::disconnect`] is called or every [`Client`] is dropped,
    /// reconnecting with the session's backoff when the connection is lost.
    ///
    /// Cancel safety: dropping the future drops the socket without DISCONNECT; the client's
    /// state stays, but nothing moves until a new `Connection` would run, and there is none:
    /// run it to the end.
    ///
    /// # Errors
    ///
    /// Why the client stopped when it was not asked to: the connection was lost and
    /// reconnection is off, or the first connection failed without
    /// [`Settings::retry_first_connect`](mqtt_client::Settings::retry_first_connect). Waiting
    /// publishes and requests then fail with the same reason.
    pub async fn run(mut self) -> Result<(), Error> {
        loop {
            let now = now();
            let step = self.shared.with(|core, _| {
                core.take_woken();
                core.poll_step(now)
            });
            match step {
                Step::Callbacks(run) => self.callbacks(now, run),
                Step::Open => {
                    let Connection {
                        shared,
                        client,
                        connector,
                        last_error,
                        read_room,
                    } = &mut self;
                    let socket = connector.connect().await;
                    let now = crate::client::now();
                    match socket {
                        Ok(socket) => {
                            *last_error = None;
                            shared.with(|core, _| core.handle_transport_opened(now));
                            crate::fmt::log_debug!("MQTT socket open");
                            let mut open = Open::<C, M> {
                                shared,
                                client,
                                socket,
                                read_room,
                                last_error,
                            };
                            if let Ended::Stopped(result) = open.serve().await {
                                return result;
                            }
                        }
                        Err(e) => {
                            crate::fmt::log_warn!(
                                "MQTT connect failed: {}",
                                crate::fmt::Debug2(&e)
                            );
                            let error = DebugText(&e);
                            shared.with(|core, _| core.handle_connect_failed(now, &error));
                            *last_error = Some(Error::Connect(format!("{e:?}")));
                        }
                    }
                }
                Step::Stop(result) => return self.stopped(result),
                // Close: there is no socket.
                _ => {
                    let deadline = self.shared.with(|core, _| core.poll_timeout());
                    let woken = woken(&self.shared);
                    match embassy_futures::select::select(sleep_until(deadline), woken).await {
                        embassy_futures::select::Either::First(()) => {
                            self.shared.with(|core, now| core.handle_timeout(now));
                        }
                        embassy_futures::select::Either::Second(()) => {}
                    }
                }
            }
        }
    }

    fn callbacks(&self, now: Instant, mut run: mqtt_client::CallbackRun<Client<M>>) {
        run_callbacks(&self.shared, &self.client, now, &mut run);
        self.shared.with(|core, _| core.finish_callbacks(now, run));
    }

    fn stopped(&mut self, result: Result<(), mqtt_client::End>) -> Result<(), Error> {
        crate::fmt::log_info!("MQTT client stopped");
        let error = self.last_error.take();
        result.map_err(|end| error.unwrap_or(Error::from_end(end)))
    }
}

fn run_callbacks<M: RawMutex + 'static>(
    _shared: &Shared<M>,
    client: &Weak<Handle<M>>,
    _now: Instant,
    run: &mut mqtt_client::CallbackRun<Client<M>>,
) {
    if let Some(handle) = client.upgrade() {
        run.run(&Client { handle });
    }
}

/// A connection with its socket: lives from the socket's opening to its closing.
struct Open<'a, C: Connect + 'a, M: RawMutex + 'static> {
    shared: &'a Arc<Shared<M>>,
    client: &'a Weak<Handle<M>>,
    socket: C::Socket<'a>,
    read_room: &'a mut ReadRoom,
    last_error: &'a mut Option<Error>,
}

impl<'a, C: Connect + 'a, M: RawMutex + 'static> Open<'a, C, M> {
    /// Does what the core says until the socket is closed or the client stops.
    async fn serve(&mut self) -> Ended {
        let mut read_buf = BytesMut::new();
        // The bytes being written, and how many were written and not yet flushed.
        let mut out: Option<Bytes> = None;
        let mut unflushed = 0usize;
        loop {
            let now = now();
            let (step, deadline, can_read) = self.shared.with(|core, _| {
                core.take_woken();
                let step = core.poll_step(now);
                if out.is_none() {
                    out = core.poll_transmit();
                }
                (step, core.poll_timeout(), core.wants_read())
            });
            match step {
                Step::Callbacks(mut run) => {
                    run_callbacks(self.shared, self.client, now, &mut run);
                    self.shared.with(|core, _| core.finish_callbacks(now, run));
                }
                Step::Close => {
                    let _ =
                        embassy_time::with_timeout(CLOSE_TIMEOUT, C::close(&mut self.socket)).await;
                    self.shared
                        .with(|core, now| core.handle_transport_closed(now, None));
                    crate::fmt::log_debug!("MQTT socket closed");
                    return Ended::Closed;
                }
                Step::Stop(result) => {
                    let error = self.last_error.take();
                    return Ended::Stopped(
                        result.map_err(|end| error.unwrap_or(Error::from_end(end))),
                    );
                }
                _ => {
                    if let Some(bytes) = &mut out {
                        match self.socket.write(bytes).await {
                            Ok(0) => return self.failed(ErrorKind::WriteZero),
                            Ok(n) => {
                                bytes.advance(n);
                                if bytes.is_empty() {
                                    out = None;
                                }
                                if C::FLUSH {
                                    unflushed += n;
                                } else {
                                    self.shared.with(|core, _| core.handle_written(n));
                                }
                            }
                            Err(e) => return self.failed(e.kind()),
                        }
                        continue;
                    }
                    if unflushed > 0 {
                        if let Err(e) = self.socket.flush().await {
                            return self.failed(e.kind());
                        }
                        let n = core::mem::take(&mut unflushed);
                        self.shared.with(|core, _| core.handle_written(n));
                        continue;
                    }
                    match self.wait(&mut read_buf, deadline, can_read).await {
                        Wake::Read(Ok(0)) => {
                            crate::fmt::log_debug!("MQTT broker closed the connection");
                            self.shared
                                .with(|core, now| core.handle_transport_closed(now, None));
                            return Ended::Closed;
                        }
                        Wake::Read(Ok(n)) => {
                            self.read_room.record(n);
                            self.shared
                                .with(|core, now| core.handle_read_buf(now, &mut read_buf));
                        }
                        Wake::Read(Err(kind)) => return self.failed(kind),
                        Wake::Timer => self.shared.with(|core, now| core.handle_timeout(now)),
                        Wake::Core => {}
                    }
                }
            }
        }
    }

    /// Waits for the socket (when the core wants to read), the core's deadline, or a command.
    async fn wait(
        &mut self,
        read_buf: &mut BytesMut,
        deadline: Option<Instant>,
        can_read: bool,
    ) -> Wake<ErrorKind> {
        let start = read_buf.len();
        let room = self.read_room.get();
        if read_buf.capacity() - start < room / 2 {
            read_buf.reserve(room);
        }
        let end = read_buf.capacity();
        read_buf.resize(end, 0);
        let socket = &mut self.socket;
        let into = &mut read_buf[start..];
        let read = async move {
            if can_read {
                socket.read(into).await.map_err(|e| e.kind())
            } else {
                core::future::pending().await
            }
        };
        let wake = match select3(read, sleep_until(deadline), woken(self.shared)).await {
            Either3::First(read) => Wake::Read(read),
            Either3::Second(()) => Wake::Timer,
            Either3::Third(()) => Wake::Core,
        };
        let read = match &wake {
            Wake::Read(Ok(n)) => *n,
            _ => 0,
        };
        read_buf.truncate(start + read);
        wake
    }

    /// The socket failed: it is gone.
    fn failed(&mut self, kind: ErrorKind) -> Ended {
        crate::fmt::log_warn!("MQTT socket failed: {}", crate::fmt::Debug2(&kind));
        let error = DebugText(&kind);
        self.shared
            .with(|core, now| core.handle_transport_closed(now, Some(&error)));
        *self.last_error = Some(Error::Transport(kind));
        Ended::Closed
    }
}

/// Ready once a command woke the driver since the core last said what to do.
async fn woken<M: RawMutex + 'static>(shared: &Shared<M>) {
    poll_fn(|cx| shared.with(|core: &mut Core<Client<M>>, _| core.poll_woken(cx.waker()))).await;
}

/// Sleeps until the core's deadline, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => Timer::at(embassy_time::Instant::from_millis(at.as_millis())).await,
        None => core::future::pending().await,
    }
}

/// A `Debug` value as `Display`, for the core's reports of failures.
struct DebugText<'a, T: core::fmt::Debug>(&'a T);

impl<T: core::fmt::Debug> core::fmt::Display for DebugText<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<C: Connect, M: RawMutex + 'static> core::fmt::Debug for Connection<C, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

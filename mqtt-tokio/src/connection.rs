//! The connection task: wires the session to the socket, the clock and the client handles.

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice};
use std::time::Duration;

use bytes::{Buf, Bytes};
use mqtt_proto::Disconnect;
use mqtt_session::{
    ConnectionState, DisconnectReason, Event, Instant, PublishId, Published, Reconnect, RequestId,
    Router, Session, Subscribed, Unsubscribed,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::client::{Client, Command, Message, Reply};
use crate::error::Error;
use crate::options::{Options, Transport};
use crate::transport::{self, Io};

/// The most buffers handed to one vectored write.
const MAX_IOVECS: usize = 64;

/// The most commands handled per wake-up before the socket gets its turn.
const MAX_BATCH: usize = 256;

/// The room offered to the first read of a client, and the most it grows to.
const MIN_READ_ROOM: usize = 1024;
const MAX_READ_ROOM: usize = 64 * 1024;

/// The task that owns the session and the socket. Run it with
/// `tokio::spawn(connection.run())`; [`Client::spawn`] does that for you.
///
/// It selects over the socket, the session's next deadline and the commands from [`Client`]
/// handles, and after each wake-up drains the session: bytes to the socket in vectored writes,
/// events to the waiting futures, message streams and callbacks.
pub struct Connection {
    options: Options,
    /// For hooks and callbacks; weak, so that dropping every [`Client`] ends the task.
    client: mpsc::WeakSender<Command>,
    stream_capacity: usize,
    commands: mpsc::Receiver<Command>,
    session: Session,
    router: Router<Client>,
    routes: Vec<Route>,
    publishes: HashMap<PublishId, Reply<Published>>,
    requests: HashMap<RequestId, PendingRequest>,
    start: tokio::time::Instant,
    io: Option<Halves>,
    out: VecDeque<Bytes>,
    needs_flush: bool,
    /// Room to offer each read: doubles whenever a read fills it, so an idle client holds a
    /// small buffer and a busy one reads many packets per system call.
    read_room: usize,
    /// Room the pending read was offered.
    read_offered: usize,
    /// A message waiting for room in a full stream; nothing more is read until it has it.
    stalled: Option<Delivery>,
    closing: Option<Closing>,
    /// Why the last connection ended.
    last_reason: Option<DisconnectReason>,
    last_io_error: Option<io::Error>,
    reconnect_now: bool,
    /// Reconnection attempts and their backoff; `None` when reconnection is off.
    reconnect: Option<Reconnect>,
}

struct Halves {
    reader: ReadHalf<Box<dyn Io>>,
    writer: WriteHalf<Box<dyn Io>>,
}

struct Route {
    filter: Option<mqtt_proto::TopicFilter>,
    sender: mpsc::Sender<Message>,
}

enum PendingRequest {
    Subscribe(Reply<Subscribed>),
    Unsubscribe(Reply<Unsubscribed>),
}

/// A message on its way to the streams whose filters match it.
struct Delivery {
    message: Message,
    /// Indexes into `routes` still to deliver to; the last one gets the acknowledgement token.
    targets: VecDeque<usize>,
}

struct Closing {
    disconnect: Disconnect,
    reply: Option<Reply<()>>,
    deadline: tokio::time::Instant,
}

/// What woke the task up. Short-lived and on the stack: a large command is not worth boxing.
#[allow(clippy::large_enum_variant)]
enum Wake {
    Wrote(io::Result<usize>),
    Flushed(io::Result<()>),
    Read(io::Result<usize>),
    Timer,
    Command(Option<Command>),
    Unstalled,
    CloseDeadline,
}

impl Connection {
    pub(crate) fn new(
        mut options: Options,
        client: Client,
        commands: mpsc::Receiver<Command>,
    ) -> Connection {
        options.session.connect_timeout = options.connect_timeout;
        let session = Session::new(options.session.clone());
        let reconnect = options.reconnect.map(Reconnect::new);
        Connection {
            stream_capacity: options.stream_capacity,
            client: client.commands.downgrade(),
            options,
            commands,
            session,
            router: Router::new(),
            routes: Vec::new(),
            publishes: HashMap::new(),
            requests: HashMap::new(),
            start: tokio::time::Instant::now(),
            io: None,
            out: VecDeque::new(),
            needs_flush: false,
            read_room: MIN_READ_ROOM,
            read_offered: 0,
            stalled: None,
            closing: None,
            last_reason: None,
            last_io_error: None,
            reconnect_now: false,
            reconnect,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.start.elapsed().as_millis() as u64)
    }

    fn client(&self) -> Option<Client> {
        self.client
            .upgrade()
            .map(|commands| Client::from_parts(commands, self.stream_capacity))
    }

    /// The first connection: transport and CONNACK.
    pub(crate) async fn connect_first(&mut self) -> Result<(), Error> {
        self.open().await?;
        self.drive(true).await;
        if self.session.is_connected() {
            Ok(())
        } else {
            Err(self.connection_error())
        }
    }

    /// Runs the client until [`Client::disconnect`] is called or every [`Client`] is dropped,
    /// reconnecting with backoff when the connection is lost.
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when the connection is lost and automatic reconnection is off;
    /// waiting publishes and requests then fail with the same reason.
    pub fn run(self) -> impl Future<Output = Result<(), Error>> + Send {
        // On the heap, so that the future holds a pointer rather than a copy of the state for
        // as long as it runs: an idle client's task stays small.
        Box::new(self).serve()
    }

    async fn serve(mut self: Box<Self>) -> Result<(), Error> {
        loop {
            if self.io.is_some() {
                self.drive(false).await;
            }
            if let Some(closing) = self.closing.take() {
                if let Some(reply) = closing.reply {
                    let _ = reply.send(Ok(()));
                }
                info!("MQTT client disconnected");
                return Ok(());
            }
            let now = self.now();
            let Some(reconnect) = &mut self.reconnect else {
                let error = self.connection_error();
                warn!(error = %error, "MQTT connection lost; reconnection is off");
                self.fail_pending();
                return Err(error);
            };
            let delay = reconnect.next_delay(now, fastrand::f64());
            let attempt = reconnect.attempt();
            if !self.reconnect_now {
                debug!(?delay, attempt, "waiting before reconnecting");
                self.wait(delay).await;
                if self.closing.is_some() {
                    continue;
                }
            }
            self.reconnect_now = false;
            if let (Some(hook), Some(client)) =
                (self.options.before_reconnect.clone(), self.client())
            {
                hook(&client);
                self.take_ready_commands();
            }
            info!(address = %self.options.address(), attempt, "MQTT reconnecting");
            if let Err(e) = self.open().await {
                warn!(error = %e, "MQTT reconnection failed");
            }
        }
    }

    /// Opens the transport and sends CONNECT.
    async fn open(&mut self) -> Result<(), Error> {
        // Boxed: the handshake futures (TLS, WebSocket) are large, and neither the task of an
        // idle connection nor the caller's future should carry room for them.
        let io = Box::pin(transport::connect(&self.options)).await?;
        let (reader, writer) = tokio::io::split(io);
        self.io = Some(Halves { reader, writer });
        self.out.clear();
        self.needs_flush = false;
        self.last_reason = None;
        self.last_io_error = None;
        self.session.handle_transport_opened(self.now())?;
        Ok(())
    }

    /// Serves the open connection until it ends (or, with `until_connected`, until CONNACK).
    async fn drive(&mut self, until_connected: bool) {
        loop {
            self.pump();
            if self.session.state() == ConnectionState::Disconnected
                && self.out.is_empty()
                && !self.needs_flush
            {
                if let Some(mut io) = self.io.take() {
                    let _ = io.writer.shutdown().await;
                }
                return;
            }
            if until_connected && self.session.is_connected() {
                return;
            }
            let wake = self.wait_for_wake().await;
            self.handle_wake(wake);
        }
    }

    /// Waits for the next thing to do while a connection is open.
    async fn wait_for_wake(&mut self) -> Wake {
        let deadline = self
            .session
            .poll_timeout()
            .map(|t| self.start + Duration::from_millis(t.as_millis()));
        let can_read = self.stalled.is_none() && self.session.wants_read();
        let closing_deadline = self.closing.as_ref().map(|c| c.deadline);
        let Some(io) = self.io.as_mut() else {
            return Wake::Timer;
        };
        let read_buf = self.session.read_buffer();
        if read_buf.capacity() - read_buf.len() < self.read_room / 4 {
            read_buf.reserve(self.read_room);
        }
        self.read_offered = read_buf.capacity() - read_buf.len();
        let stalled_sender = self
            .stalled
            .as_ref()
            .and_then(|d| d.targets.front())
            .and_then(|&i| self.routes.get(i))
            .map(|r| r.sender.clone());
        let out = &self.out;
        let needs_flush = self.needs_flush;
        let writing = !out.is_empty() || needs_flush;
        tokio::select! {
            biased;
            wake = write_or_flush(&mut io.writer, out), if writing => wake,
            read = io.reader.read_buf(read_buf), if can_read => Wake::Read(read),
            () = sleep_until(deadline) => Wake::Timer,
            command = self.commands.recv() => Wake::Command(command),
            _ = reserve(stalled_sender) => Wake::Unstalled,
            () = sleep_until(closing_deadline), if !writing => Wake::CloseDeadline,
        }
    }

    fn handle_wake(&mut self, wake: Wake) {
        let now = self.now();
        match wake {
            Wake::Wrote(Ok(0)) => self.transport_failed(io::ErrorKind::WriteZero.into()),
            Wake::Wrote(Ok(mut n)) => {
                // A plain TCP socket has nothing to flush; TLS and WebSocket buffer.
                self.needs_flush = self.options.transport != Transport::Tcp;
                while n > 0 {
                    let Some(front) = self.out.front_mut() else {
                        break;
                    };
                    let take = n.min(front.len());
                    front.advance(take);
                    n -= take;
                    if front.is_empty() {
                        self.out.pop_front();
                    }
                }
            }
            Wake::Flushed(Ok(())) => self.needs_flush = false,
            Wake::Wrote(Err(e)) | Wake::Flushed(Err(e)) | Wake::Read(Err(e)) => {
                self.transport_failed(e);
            }
            Wake::Read(Ok(0)) => {
                debug!("MQTT broker closed the connection");
                self.session.handle_transport_closed(now);
            }
            Wake::Read(Ok(n)) => {
                if n == self.read_offered {
                    self.read_room = (self.read_room * 2).min(MAX_READ_ROOM);
                }
                self.session.handle_read(now);
            }
            Wake::Timer | Wake::CloseDeadline => self.session.handle_timeout(now),
            Wake::Command(Some(command)) => {
                self.handle_command(command);
                // Take what else is waiting, so that a burst leaves in one write.
                for _ in 0..MAX_BATCH {
                    match self.commands.try_recv() {
                        Ok(command) => self.handle_command(command),
                        Err(_) => break,
                    }
                }
            }
            Wake::Command(None) => self.start_closing(Disconnect::default(), None),
            Wake::Unstalled => {
                if let Some(delivery) = self.stalled.take() {
                    self.deliver(delivery);
                }
            }
        }
    }

    fn transport_failed(&mut self, error: io::Error) {
        debug!(error = %error, "MQTT transport failed");
        self.last_io_error = Some(error);
        self.out.clear();
        self.needs_flush = false;
        self.session.handle_transport_closed(self.now());
    }

    /// Drains the session: events to their consumers, bytes to the write queue; and finishes a
    /// requested disconnect once there is nothing left to wait for.
    fn pump(&mut self) {
        while self.stalled.is_none() {
            let Some(event) = self.session.poll_event() else {
                break;
            };
            self.handle_event(event);
        }
        self.progress_closing();
        while let Some(bytes) = self.session.poll_transmit() {
            self.out.push_back(bytes);
        }
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Connected(connected) => {
                info!(
                    address = %self.options.address(),
                    session_present = connected.session_present,
                    "MQTT connected"
                );
                let now = self.now();
                if let Some(reconnect) = &mut self.reconnect {
                    reconnect.connected(now);
                }
                if let (Some(hook), Some(client)) =
                    (self.options.after_connect.clone(), self.client())
                {
                    hook(&client);
                }
            }
            Event::Message(message) => {
                let message = Message::new(message.publish, message.ack);
                let targets = self
                    .routes
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.filter.as_ref().is_none_or(|f| f.matches(&message.topic)))
                    .map(|(i, _)| i)
                    .collect();
                self.deliver(Delivery { message, targets });
            }
            Event::Received(received) => {
                if let Some(client) = self.client() {
                    self.router.dispatch(&client, &received);
                }
            }
            Event::Published(published) => {
                if let Some(reply) = self.publishes.remove(&published.id) {
                    let _ = reply.send(Ok(published));
                }
            }
            Event::PublishFailed(failed) => {
                if let Some(reply) = self.publishes.remove(&failed.id) {
                    let _ = reply.send(Err(Error::PublishFailed(failed.reason)));
                }
            }
            Event::Subscribed(subscribed) => {
                if let Some(PendingRequest::Subscribe(reply)) = self.requests.remove(&subscribed.id)
                {
                    let _ = reply.send(Ok(subscribed));
                }
            }
            Event::Unsubscribed(unsubscribed) => {
                if let Some(PendingRequest::Unsubscribe(reply)) =
                    self.requests.remove(&unsubscribed.id)
                {
                    let _ = reply.send(Ok(unsubscribed));
                }
            }
            Event::RequestFailed { id, reason } => match self.requests.remove(&id) {
                Some(PendingRequest::Subscribe(reply)) => {
                    let _ = reply.send(Err(Error::RequestFailed(reason)));
                }
                Some(PendingRequest::Unsubscribe(reply)) => {
                    let _ = reply.send(Err(Error::RequestFailed(reason)));
                }
                None => {}
            },
            Event::Auth(auth) => {
                let answer = self.options.on_auth.as_ref().and_then(|hook| hook(&auth));
                if let Some(answer) = answer
                    && let Err(e) = self.session.auth(self.now(), answer)
                {
                    warn!(error = %e, "MQTT AUTH answer refused");
                }
            }
            Event::Disconnected(reason) => {
                match &reason {
                    DisconnectReason::Requested => {}
                    other => warn!(reason = ?other, "MQTT connection ended"),
                }
                self.last_reason = Some(reason);
            }
            _ => {}
        }
    }

    /// Delivers to each target stream in turn; stops at a full stream and waits for it.
    fn deliver(&mut self, mut delivery: Delivery) {
        while let Some(&index) = delivery.targets.front() {
            let Some(route) = self.routes.get(index) else {
                delivery.targets.pop_front();
                continue;
            };
            let last = delivery.targets.len() == 1;
            let message = if last {
                std::mem::replace(&mut delivery.message, delivery_placeholder())
            } else {
                delivery.message.share()
            };
            match route.sender.try_send(message) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {
                    delivery.targets.pop_front();
                }
                Err(mpsc::error::TrySendError::Full(message)) => {
                    if last {
                        delivery.message = message;
                    }
                    self.stalled = Some(delivery);
                    return;
                }
            }
        }
        self.routes.retain(|r| !r.sender.is_closed());
    }

    fn handle_command(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Publish { publish, done } => match self.session.publish(now, *publish) {
                Ok(id) => {
                    if let Some(done) = done {
                        self.publishes.insert(id, done);
                    }
                }
                Err(e) => match done {
                    Some(done) => drop(done.send(Err(e.into()))),
                    None => warn!(error = %e, "MQTT publish refused"),
                },
            },
            Command::Subscribe {
                subscriptions,
                properties,
                reply,
            } => match self.session.subscribe(now, subscriptions, properties) {
                Ok(id) => {
                    self.requests.insert(id, PendingRequest::Subscribe(reply));
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Unsubscribe {
                filters,
                properties,
                reply,
            } => match self.session.unsubscribe(now, filters, properties) {
                Ok(id) => {
                    self.requests.insert(id, PendingRequest::Unsubscribe(reply));
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Ack {
                token,
                reason_code,
                reply,
            } => {
                let result = self.session.ack(now, token, reason_code);
                let _ = reply.send(result.map_err(Error::from));
            }
            Command::Auth { auth, reply } => {
                let _ = reply.send(self.session.auth(now, *auth).map_err(Error::from));
            }
            Command::Route { filter, sender } => {
                if self.stalled.is_none() {
                    self.routes.retain(|r| !r.sender.is_closed());
                }
                self.routes.push(Route { filter, sender });
            }
            Command::On {
                command,
                callback,
                condition,
            } => {
                match condition {
                    Some((condition, priority)) => {
                        self.router.on_if(command, callback, condition, priority);
                    }
                    None => self.router.on(command, callback),
                }
                self.session.set_packet_events(true);
            }
            Command::SetCredentials { username, password } => {
                self.session.set_credentials(username, password);
            }
            Command::SetWill(will) => self.session.set_will(will.map(|w| *w)),
            Command::Reconnect => {
                self.reconnect_now = true;
                if self.session.state() != ConnectionState::Disconnected {
                    self.out.clear();
                    self.needs_flush = false;
                    self.session.handle_transport_closed(now);
                }
            }
            Command::Disconnect { disconnect, reply } => {
                self.start_closing(*disconnect, Some(reply))
            }
        }
    }

    fn start_closing(&mut self, disconnect: Disconnect, reply: Option<Reply<()>>) {
        if let Some(closing) = &mut self.closing {
            // Already closing: answer this caller too once done.
            if let (Some(reply), None) = (reply, &closing.reply) {
                closing.reply = Some(reply);
            }
            return;
        }
        self.closing = Some(Closing {
            disconnect,
            reply,
            deadline: tokio::time::Instant::now() + self.options.disconnect_timeout,
        });
        self.progress_closing();
    }

    /// Sends DISCONNECT once nothing is queued or in flight, or the deadline has passed.
    fn progress_closing(&mut self) {
        let Some(closing) = &mut self.closing else {
            return;
        };
        if !self.session.is_connected() {
            if self.session.state() == ConnectionState::Connecting {
                self.session.handle_transport_closed(self.now());
            }
            return;
        }
        let idle = self.session.publishes_queued() == 0 && self.session.publishes_in_flight() == 0;
        if !idle && tokio::time::Instant::now() < closing.deadline {
            return;
        }
        let disconnect = std::mem::take(&mut closing.disconnect);
        let now = self.now();
        if let Err(e) = self.session.disconnect(now, disconnect) {
            if let Some(reply) = self.closing.as_mut().and_then(|c| c.reply.take()) {
                let _ = reply.send(Err(e.into()));
            }
            self.closing = None;
        }
    }

    /// Waits `delay` before a reconnection attempt, still serving commands (publishes queue in
    /// the session meanwhile). Returns early for [`Client::reconnect`] and
    /// [`Client::disconnect`].
    async fn wait(&mut self, delay: Duration) {
        let until = tokio::time::Instant::now() + delay;
        loop {
            self.pump();
            if self.reconnect_now || self.closing.is_some() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(until) => return,
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => self.start_closing(Disconnect::default(), None),
                },
            }
        }
    }

    /// Handles the commands already waiting, without blocking.
    fn take_ready_commands(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            self.handle_command(command);
        }
    }

    /// The error that describes why the connection ended.
    fn connection_error(&mut self) -> Error {
        if let Some(e) = self.last_io_error.take() {
            return Error::Io(e);
        }
        match self.last_reason.clone() {
            Some(DisconnectReason::Refused(connack)) => Error::Refused(Box::new(connack)),
            Some(DisconnectReason::ConnectTimeout) => Error::ConnectTimeout,
            Some(reason) => Error::Disconnected(Box::new(reason)),
            None => Error::Disconnected(Box::new(DisconnectReason::TransportClosed)),
        }
    }

    /// The connection is gone for good: everything waiting fails.
    fn fail_pending(&mut self) {
        let reason = self
            .last_reason
            .clone()
            .unwrap_or(DisconnectReason::TransportClosed);
        for (_, reply) in self.publishes.drain() {
            let _ = reply.send(Err(Error::Disconnected(Box::new(reason.clone()))));
        }
        for (_, request) in self.requests.drain() {
            let error = Error::Disconnected(Box::new(reason.clone()));
            match request {
                PendingRequest::Subscribe(reply) => drop(reply.send(Err(error))),
                PendingRequest::Unsubscribe(reply) => drop(reply.send(Err(error))),
            }
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("address", &self.options.address())
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// An empty message left behind while the real one is being sent.
fn delivery_placeholder() -> Message {
    Message::new(
        mqtt_proto::Publish::new(mqtt_proto::TopicName::default(), Bytes::new()),
        None,
    )
}

/// One vectored write of the front of `out`, or a flush once it is empty.
async fn write_or_flush(writer: &mut WriteHalf<Box<dyn Io>>, out: &VecDeque<Bytes>) -> Wake {
    if out.is_empty() {
        return Wake::Flushed(writer.flush().await);
    }
    let slices: Vec<IoSlice<'_>> = out
        .iter()
        .take(MAX_IOVECS)
        .map(|b| IoSlice::new(b))
        .collect();
    Wake::Wrote(writer.write_vectored(&slices).await)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Waits for room in a stalled stream (or forever when nothing is stalled).
async fn reserve(sender: Option<mpsc::Sender<Message>>) {
    match sender {
        Some(sender) => drop(sender.reserve().await),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle client holds little: the connection task's future keeps its state on the heap
    /// and has no room for the handshake futures, and commands are small, because a channel
    /// reserves room for 32 of them at a time.
    #[test]
    fn an_idle_client_stays_small() {
        let command = std::mem::size_of::<Command>();
        assert!(command <= 96, "a command takes {command} bytes");
        let (commands, receiver) = mpsc::channel(1);
        let client = Client::from_parts(commands, 1);
        let connection = Connection::new(Options::new("127.0.0.1", 1883, "x"), client, receiver);
        let task = std::mem::size_of_val(&connection.run());
        assert!(
            task <= 1024,
            "the connection task's future takes {task} bytes"
        );
    }
}

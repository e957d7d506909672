//! What the host tests share: the broker, a runtime, sockets, and a proxy that cuts or
//! freezes connections.
//!
//! With `MQTT_TEST_TCP` set (`.ci/run` starts mosquitto and sets it, with the other
//! `MQTT_TEST_*` variables) the tests use that broker; without it they start an embedded rumqttd
//! in this process on loopback ports, so `cargo test` passes with nothing installed. The client
//! runs on tokio (a current-thread runtime) through `embedded-io-adapters`, with embassy-time's
//! std driver; everything stays on 127.0.0.1.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use mqtt_embassy::{Backoff, Client, Config, Connect, Connection, Messages, Settings, Version};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// How long a test waits for anything the broker should do promptly.
pub const WAIT: Duration = Duration::from_secs(10);

/// Where the broker listens.
#[derive(Debug)]
pub struct Broker {
    pub v311: SocketAddr,
    pub v5: SocketAddr,
    /// MQTT 3.1.1 with user `testuser`, password `testpass` required.
    pub auth: SocketAddr,
    /// mosquitto from `.ci/mosquitto.sh`, rather than the embedded rumqttd.
    pub external: bool,
}

impl Broker {
    pub fn tcp(&self, version: Version) -> SocketAddr {
        match version {
            Version::V311 => self.v311,
            _ => self.v5,
        }
    }
}

/// The broker for this test process, started on first use. Also turns on log output for
/// `RUST_LOG`.
pub fn broker() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
    BROKER.get_or_init(|| match std::env::var("MQTT_TEST_TCP") {
        Ok(tcp) => {
            let address = |v: &str| v.parse().unwrap_or_else(|e| panic!("{v}: {e}"));
            let auth = std::env::var("MQTT_TEST_AUTH").expect("MQTT_TEST_AUTH with MQTT_TEST_TCP");
            Broker {
                v311: address(&tcp),
                v5: address(&tcp),
                auth: address(&auth),
                external: true,
            }
        }
        Err(_) => embedded(),
    })
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address")
}

fn server(
    name: &str,
    listen: SocketAddr,
    auth: Option<HashMap<String, String>>,
) -> rumqttd::ServerSettings {
    rumqttd::ServerSettings {
        name: name.into(),
        listen,
        tls: None,
        next_connection_delay_ms: 0,
        connections: rumqttd::ConnectionSettings {
            connection_timeout_ms: 10_000,
            max_payload_size: 1024 * 1024,
            max_inflight_count: 1024,
            auth,
            external_auth: None,
            dynamic_filters: true,
        },
    }
}

/// rumqttd on three loopback ports: MQTT 3.1.1, MQTT 5.0, and 3.1.1 with a password.
fn embedded() -> Broker {
    let (v311, v5, auth) = (free_port(), free_port(), free_port());
    let users = HashMap::from([("testuser".to_string(), "testpass".to_string())]);
    let config = rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 10_000,
            max_outgoing_packet_count: 200,
            max_segment_size: 104_857_600,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([
            ("v4".to_string(), server("v4", v311, None)),
            ("v4-auth".to_string(), server("v4-auth", auth, Some(users))),
        ])),
        v5: Some(HashMap::from([("v5".to_string(), server("v5", v5, None))])),
        ..Default::default()
    };
    std::thread::Builder::new()
        .name("embedded-rumqttd".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                panic!("embedded broker failed: {e}");
            }
        })
        .expect("spawn the embedded broker");
    for address in [v311, v5, auth] {
        wait_listening(address);
    }
    Broker {
        v311,
        v5,
        auth,
        external: false,
    }
}

fn wait_listening(address: SocketAddr) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(address).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the broker does not listen on {address}");
}

/// A client id unique within this process run.
pub fn client_id(test: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "emb-{test}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A topic unique within this process run.
pub fn topic(test: &str) -> String {
    format!("test/{}", client_id(test))
}

/// Runs a test's future on a current-thread tokio runtime, in a `LocalSet` (the connection
/// task need not be `Send`), within `limit`.
///
/// With the embedded broker, the tests of a process run one at a time: rumqttd 0.20 now and
/// then closes a new connection before its CONNACK when several clients connect at once, and
/// then panics when that client id connects again (a stale will handler), which would fail
/// later tests. mosquitto takes them all at once. Each run then leaves rumqttd 100 ms to retire
/// its connections: its router reuses connection ids, and a disconnect it handles late closes
/// the next client that got the same id (seen in its log: "no-connection id 0 is already gone").
pub fn run<F: Future<Output = ()>>(limit: Duration, future: F) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let embedded = std::env::var_os("MQTT_TEST_TCP").is_none();
    let _turn = embedded.then(|| ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        tokio::time::timeout(limit, future)
            .await
            .expect("the test took too long");
    });
    if embedded {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The socket type of the tests.
pub type Socket = FromTokio<TcpStream>;

/// A connector to `address`: the application's connect closure.
pub fn tcp(address: SocketAddr) -> impl Connect + 'static {
    move || async move {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok::<_, std::io::Error>(FromTokio::new(stream))
    }
}

/// The configuration of a test client: a short keep alive, a quick reconnection.
pub fn config(version: Version, id: &str) -> Config {
    let mut config = Config::new(id.to_string(), version);
    config.keep_alive = Duration::from_secs(10);
    config.connect_timeout = Duration::from_secs(5);
    config
}

/// Settings with a reconnection backoff of 50-200 ms.
pub fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.reconnect = Some(Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        ..Backoff::default()
    });
    settings.disconnect_timeout = Duration::from_secs(5);
    settings
}

/// Starts a client with `config` and `settings` to `address`, its connection task spawned on
/// the test's `LocalSet`; returns once the broker accepted it.
pub async fn start(
    config: Config,
    settings: Settings,
    address: SocketAddr,
) -> (
    Client,
    Messages,
    tokio::task::JoinHandle<Result<(), mqtt_embassy::Error>>,
) {
    let (client, messages, connection) = Client::new(config, settings, 7, tcp(address));
    let task = spawn(connection);
    tokio::time::timeout(WAIT, client.connected())
        .await
        .expect("connected in time")
        .expect("connected");
    (client, messages, task)
}

/// Spawns a connection task on the test's `LocalSet`.
pub fn spawn<C: Connect + 'static>(
    connection: Connection<C>,
) -> tokio::task::JoinHandle<Result<(), mqtt_embassy::Error>> {
    tokio::task::spawn_local(connection.run())
}

/// A TCP proxy to the broker whose connections the test can cut or freeze.
pub struct Proxy {
    pub address: SocketAddr,
    control: watch::Sender<(u64, Mode)>,
    /// How many connections it accepted.
    accepted: Arc<Mutex<u64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Connections of this generation are cut (RST).
    Cut,
    /// Connections of this generation stop moving bytes, without closing.
    Freeze,
}

impl Proxy {
    /// A proxy to `upstream`, on a thread and runtime of its own.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let address = listener.local_addr().expect("proxy address");
        let (control, _) = watch::channel((0u64, Mode::Cut));
        let accepted = Arc::new(Mutex::new(0));
        let (rx, count) = (control.subscribe(), accepted.clone());
        std::thread::Builder::new()
            .name("test-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("proxy runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    loop {
                        let Ok((client, _)) = listener.accept().await else {
                            continue;
                        };
                        *count.lock().unwrap() += 1;
                        let rx = rx.clone();
                        tokio::spawn(forward(client, upstream, rx));
                    }
                });
            })
            .expect("spawn the proxy");
        Proxy {
            address,
            control,
            accepted,
        }
    }

    /// Cuts every connection open now with a reset; later ones go through.
    pub fn cut(&self) {
        self.control.send_modify(|(generation, mode)| {
            *generation += 1;
            *mode = Mode::Cut;
        });
    }

    /// Freezes every connection open now: bytes stop moving both ways, nothing is closed;
    /// later connections go through.
    pub fn freeze(&self) {
        self.control.send_modify(|(generation, mode)| {
            *generation += 1;
            *mode = Mode::Freeze;
        });
    }

    /// Cuts every connection open now, and waits (up to [`WAIT`]) until `client` is connected
    /// again through a new one. (A cut during the handshake would leave rumqttd 0.20 with a
    /// stale will handler for the client id, on which it panics at the next connection.)
    pub async fn cut_and_wait(&self, client: &Client) {
        let before = self.accepted();
        self.cut();
        tokio::time::timeout(WAIT, async {
            while self.accepted() == before {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // The old connection is gone (the client opened a new one): wait for CONNACK.
            client.connected().await.expect("connected again");
        })
        .await
        .expect("the client reconnects");
    }

    /// How many connections it accepted so far.
    pub fn accepted(&self) -> u64 {
        *self.accepted.lock().unwrap()
    }
}

async fn forward(
    client: tokio::net::TcpStream,
    upstream: SocketAddr,
    mut rx: watch::Receiver<(u64, Mode)>,
) {
    let born = rx.borrow_and_update().0;
    let server = match TcpStream::connect(upstream).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("proxy: the broker at {upstream} refused a connection: {e}");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client, mut server) = (client, server);
    let mode = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
        mode = async {
            loop {
                if rx.changed().await.is_err() {
                    return Mode::Cut;
                }
                let (generation, mode) = *rx.borrow_and_update();
                if generation > born {
                    return mode;
                }
            }
        } => mode,
    };
    match mode {
        Mode::Cut => {
            // Linger 0: dropping them sends a reset, as a crashed middlebox does.
            let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
            let _ = socket2::SockRef::from(&server).set_linger(Some(Duration::ZERO));
        }
        Mode::Freeze => {
            // Hold both ends open, moving nothing, until the test is over.
            std::future::pending::<()>().await;
        }
    }
}

/// Receives `n` messages from `messages`, each within [`WAIT`].
pub async fn receive(messages: &mut Messages, n: usize) -> Vec<mqtt_embassy::Message> {
    let mut received = Vec::with_capacity(n);
    while received.len() < n {
        let message = tokio::time::timeout(WAIT, messages.recv())
            .await
            .unwrap_or_else(|_| panic!("{} of {n} messages came", received.len()))
            .expect("the stream ended");
        received.push(message);
    }
    received
}

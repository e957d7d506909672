//! The broker the integration tests talk to.
//!
//! With `MQTT_TEST_TCP` set (`.ci/run` starts mosquitto and sets it, with the other
//! `MQTT_TEST_*` variables), the tests use that broker. Without it, they start an embedded
//! rumqttd in this process, so `cargo test` passes on a machine with nothing installed. A
//! broker that can't be reached is a test failure, never a skip.
#![allow(dead_code, unreachable_pub)]

pub mod faults;
pub mod front;
pub mod pki;
pub mod scripted;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::OnceLock;
use std::time::Duration;

use mqtt_tokio::{Options, Version};

/// The ways to reach the broker for one protocol version.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub tcp: SocketAddr,
    pub tls: SocketAddr,
    pub mtls: SocketAddr,
    /// `ws://...` URL.
    pub ws: String,
    /// `wss://...` URL.
    pub wss: String,
}

/// Where the broker listens.
#[derive(Debug)]
pub struct Broker {
    v311: Endpoints,
    v5: Endpoints,
    /// A listener that requires user name `testuser` and password `testpass`, MQTT 3.1.1.
    pub auth: SocketAddr,
    /// The CA that signed the TLS listeners' certificates (valid for `localhost` and
    /// `127.0.0.1`), an unrelated CA, and a client certificate and key signed by the first.
    pub ca: Vec<u8>,
    pub wrong_ca: Vec<u8>,
    pub client_cert: Vec<u8>,
    pub client_key: Vec<u8>,
    /// Whether this is the external broker from the environment.
    pub external: bool,
}

impl Broker {
    pub fn endpoints(&self, version: Version) -> &Endpoints {
        match version {
            Version::V311 => &self.v311,
            _ => &self.v5,
        }
    }

    pub fn tcp(&self, version: Version) -> SocketAddr {
        self.endpoints(version).tcp
    }

    /// Options for plain TCP, `version`, with a client id unique to the test.
    pub fn options(&self, version: Version, client_id: &str) -> Options {
        let address = self.tcp(version);
        let mut options = Options::new(address.ip().to_string(), address.port(), client_id);
        options.set_version(version);
        options.connect_timeout = Duration::from_secs(5);
        options
    }
}

/// The broker for this test process, started on first use. Also turns on log output for
/// `RUST_LOG` (e.g. `RUST_LOG=mqtt_tokio=debug`).
pub fn broker() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
    BROKER.get_or_init(|| match std::env::var("MQTT_TEST_TCP") {
        Ok(_) => external(),
        Err(_) => embedded(),
    })
}

/// Restarts the broker behind `version`'s plain TCP endpoint and returns where it listens
/// now: mosquitto is stopped and started again on its port (its sessions are lost, as it runs
/// without persistence); the embedded broker can't be stopped, so a fresh rumqttd takes its
/// place on a new port, to be reached through a [`front::Front`].
pub fn restart_broker(version: Version) -> SocketAddr {
    let b = broker();
    if !b.external {
        let (fresh, _) = start_rumqttd(None);
        return match version {
            Version::V311 => fresh.0,
            _ => fresh.1,
        };
    }
    let pidfile = env("MQTT_TEST_MOSQUITTO_PIDFILE");
    let pid = std::fs::read_to_string(&pidfile).expect("mosquitto pid file");
    let status = std::process::Command::new("kill")
        .arg(pid.trim())
        .status()
        .expect("kill");
    assert!(status.success(), "stopping mosquitto");
    // Wait until the port is free, then start it again with the same configuration.
    let tcp = b.tcp(version);
    for _ in 0..200 {
        if std::net::TcpStream::connect(tcp).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let status = std::process::Command::new(env("MQTT_TEST_MOSQUITTO_BIN"))
        .args(["-c", &env("MQTT_TEST_MOSQUITTO_CONF"), "-d"])
        .status()
        .expect("start mosquitto");
    assert!(status.success(), "starting mosquitto again");
    wait_listening(tcp);
    tcp
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
            max_payload_size: 4 * 1024 * 1024,
            max_inflight_count: 1024,
            auth,
            external_auth: None,
            dynamic_filters: true,
        },
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set with MQTT_TEST_TCP"))
}

fn env_file(name: &str) -> Vec<u8> {
    let path = env(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{name}={path}: {e}"))
}

/// The broker `.ci/run` started, from its `MQTT_TEST_*` variables.
fn external() -> Broker {
    let address = |name: &str| -> SocketAddr {
        env(name)
            .parse()
            .unwrap_or_else(|e| panic!("{name} is host:port: {e}"))
    };
    let endpoints = Endpoints {
        tcp: address("MQTT_TEST_TCP"),
        tls: address("MQTT_TEST_TLS"),
        mtls: address("MQTT_TEST_MTLS"),
        ws: env("MQTT_TEST_WS"),
        wss: env("MQTT_TEST_WSS"),
    };
    Broker {
        v311: endpoints.clone(),
        v5: endpoints,
        auth: address("MQTT_TEST_AUTH"),
        ca: env_file("MQTT_TEST_CA"),
        wrong_ca: env_file("MQTT_TEST_WRONG_CA"),
        client_cert: env_file("MQTT_TEST_CLIENT_CERT"),
        client_key: env_file("MQTT_TEST_CLIENT_KEY"),
        external: true,
    }
}

/// Starts rumqttd on loopback ports (MQTT 3.1.1, MQTT 5.0, and 3.1.1 with a password) and,
/// on a runtime of their own, the TLS and WebSocket fronts for each version.
fn embedded() -> Broker {
    let ((tcp_v311, tcp_v5), auth) = start_rumqttd(Some(HashMap::from([(
        "testuser".to_string(),
        "testpass".to_string(),
    )])));
    let auth = auth.expect("an auth listener was asked for");
    let pki = pki::Pki::generate();
    let (tls, mutual) = (pki.server_config(false), pki.server_config(true));
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("test-fronts".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("fronts runtime");
            runtime.block_on(async move {
                let mut all = Vec::new();
                for upstream in [tcp_v311, tcp_v5] {
                    let fronts = [
                        front::Front::start(front::Kind::Tls(tls.clone()), upstream).await,
                        front::Front::start(front::Kind::Tls(mutual.clone()), upstream).await,
                        front::Front::start(front::Kind::WebSocket, upstream).await,
                        front::Front::start(front::Kind::SecureWebSocket(tls.clone()), upstream)
                            .await,
                    ];
                    let endpoints = Endpoints {
                        tcp: upstream,
                        tls: fronts[0].address,
                        mtls: fronts[1].address,
                        ws: format!("ws://{}/mqtt", fronts[2].address),
                        wss: format!("wss://{}/mqtt", fronts[3].address),
                    };
                    all.push(fronts);
                    sender.send(endpoints).expect("send endpoints");
                }
                std::future::pending::<()>().await;
                drop(all);
            });
        })
        .expect("spawn the fronts");
    let v311 = receiver.recv().expect("v3.1.1 fronts");
    let v5 = receiver.recv().expect("v5 fronts");
    Broker {
        v311,
        v5,
        auth,
        ca: pki.ca.into_bytes(),
        wrong_ca: pki.wrong_ca.into_bytes(),
        client_cert: pki.client_cert.into_bytes(),
        client_key: pki.client_key.into_bytes(),
        external: false,
    }
}

/// Starts an rumqttd on loopback ports: MQTT 3.1.1 and 5.0, and with `users` a 3.1.1
/// listener that requires a password.
fn start_rumqttd(
    users: Option<HashMap<String, String>>,
) -> ((SocketAddr, SocketAddr), Option<SocketAddr>) {
    let (tcp_v311, tcp_v5) = (free_port(), free_port());
    let auth = users.as_ref().map(|_| free_port());
    let mut v4 = HashMap::from([("v4".to_string(), server("v4", tcp_v311, None))]);
    if let (Some(users), Some(auth)) = (users, auth) {
        v4.insert("v4-auth".to_string(), server("v4-auth", auth, Some(users)));
    }
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
        v4: Some(v4),
        v5: Some(HashMap::from([(
            "v5".to_string(),
            server("v5", tcp_v5, None),
        )])),
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
    for address in [tcp_v311, tcp_v5].into_iter().chain(auth) {
        wait_listening(address);
    }
    ((tcp_v311, tcp_v5), auth)
}

fn wait_listening(address: SocketAddr) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(address).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the embedded broker does not listen on {address}");
}

/// A client id unique within this process run.
pub fn client_id(test: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{test}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A topic unique within this process run, so tests on a shared broker don't see each
/// other's messages.
pub fn topic(test: &str) -> String {
    format!("test/{}", client_id(test))
}

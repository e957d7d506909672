//! mqtt-embassy under test: its connection task on a thread of its own (a current-thread tokio
//! runtime, the way a firmware's executor runs it), sockets from tokio through
//! `embedded-io-adapters`, time from embassy-time's std driver. TCP and TLS 1.3 (embedded-tls);
//! the adapter has no WebSocket.

use std::future::{Future, IntoFuture};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use embedded_io_adapters::tokio_1::FromTokio;
use mqtt_embassy::tls::{TlsBuffers, TlsConfig, TlsConnector, Verified};
use mqtt_embassy::{
    Client, ClientEvent, Connect, Connection, Messages, PendingPublish, QoS, Settings,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::adapters::BlockOn;
use crate::driver::{Adapter, Endpoint, Got, Spec, TestClient, WAIT};

/// mqtt-embassy over tokio sockets.
pub struct Embassy;

pub struct EmbassyClient {
    client: Client,
    default: Mutex<Messages>,
    pending: Mutex<Vec<PendingPublish>>,
    connection: Option<std::thread::JoinHandle<()>>,
}

/// `future`'s output within `within`, from a test thread.
fn wait<F: Future>(within: Duration, future: F) -> Option<F::Output> {
    mqtt_tokio::Tokio::block_on(async move { tokio::time::timeout(within, future).await.ok() })
}

/// A buffer for the life of the test process, as firmware has its statics.
fn leak(len: usize) -> &'static mut [u8] {
    Box::leak(vec![0; len].into_boxed_slice())
}

/// The application's connect closure: a tokio TCP socket to `address`.
fn tcp(address: std::net::SocketAddr) -> impl Connect<Error = std::io::Error> + Send + 'static {
    move || async move {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok::<_, std::io::Error>(FromTokio::new(stream))
    }
}

/// Runs the connection task on a thread of its own until the client stops.
fn spawn<C: Connect + Send + 'static>(connection: Connection<C>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the connection task");
        // Why it stopped shows in the scenario's own failures; a clean stop is the usual end.
        let _ = runtime.block_on(connection.run());
    })
}

impl Adapter for Embassy {
    type Client = EmbassyClient;

    fn supports(endpoint: &Endpoint) -> bool {
        matches!(endpoint, Endpoint::Tcp(_) | Endpoint::Tls { .. })
    }

    fn connect(spec: &Spec) -> EmbassyClient {
        let mut config = mqtt_embassy::Config::new(spec.client_id.clone(), spec.version);
        config.clean_start = spec.clean_start;
        config.connect_properties.session_expiry_interval = spec.session_expiry;
        config.connect_timeout = Duration::from_secs(5);
        let mut settings = Settings::default();
        settings.reconnect = Some(Spec::backoff());
        settings.stream_capacity = spec.stream_capacity;
        let seed = 17;
        // The events are watched from before the connection task starts: against a scripted
        // broker the connection can be accepted, used and closed before this thread would
        // first look (`Client::connected` waits for the next one then).
        let (client, default, mut events, connection) = match &spec.endpoint {
            Endpoint::Tcp(address) => {
                let (client, default, connection) =
                    Client::new(config, settings, seed, tcp(*address));
                let events = client.events();
                (client, default, events, spawn(connection))
            }
            Endpoint::Tls { address, ca } => {
                let ca = CertificateDer::from_pem_slice(ca).expect("the test CA");
                let ca: &'static [u8] = Box::leak(ca.to_vec().into_boxed_slice());
                let buffers = TlsBuffers {
                    read_record: leak(16_640),
                    write_record: leak(4096),
                    incoming: leak(16_640),
                };
                let connector = TlsConnector::new(
                    tcp(*address),
                    TlsConfig::new().with_server_name("localhost"),
                    Verified::new(rand_core::OsRng, ca),
                    buffers,
                );
                let (client, default, connection) = Client::new(config, settings, seed, connector);
                let events = client.events();
                (client, default, events, spawn(connection))
            }
            other => panic!("mqtt-embassy has no transport for {other:?}"),
        };
        let connected = async {
            let mut failed = None;
            while let Some(event) = events.recv().await {
                match event {
                    ClientEvent::Connected(_) => return Ok(()),
                    ClientEvent::ConnectFailed { error } => failed = Some(error),
                    _ => {}
                }
            }
            Err(failed.unwrap_or_else(|| "the client stopped".into()))
        };
        wait(WAIT, connected)
            .unwrap_or_else(|| panic!("{}: not connected within {WAIT:?}", spec.client_id))
            .unwrap_or_else(|e| panic!("{}: connecting: {e}", spec.client_id));
        drop(events);
        EmbassyClient {
            client,
            default: Mutex::new(default),
            pending: Mutex::new(Vec::new()),
            connection: Some(connection),
        }
    }
}

impl EmbassyClient {
    fn run<F: Future>(&self, what: &str, future: F) -> F::Output {
        wait(WAIT, future).unwrap_or_else(|| panic!("{what}: nothing within {WAIT:?}"))
    }
}

impl TestClient for EmbassyClient {
    fn subscribe(&self, filter: &str, qos: QoS) {
        let codes = self
            .run("subscribe", self.client.subscribe(&[(filter, qos)]))
            .unwrap_or_else(|e| panic!("subscribe {filter}: {e}"));
        assert!(
            codes.iter().all(|c| !c.is_error()),
            "subscribe {filter}: refused: {codes:?}"
        );
    }

    fn publish(&self, topic: &str, payload: Vec<u8>, qos: QoS) {
        self.run("publish", self.client.publish(topic, payload, qos, false))
            .unwrap_or_else(|e| panic!("publish to {topic}: {e}"));
    }

    fn start_publish(&self, topic: &str, payload: Vec<u8>, qos: QoS) {
        let pending = self
            .run(
                "start_publish",
                self.client.start_publish(topic, payload, qos, false),
            )
            .unwrap_or_else(|e| panic!("publish to {topic}: {e}"));
        self.pending.lock().unwrap().push(pending);
    }

    fn wait_published(&self, within: Duration) {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap());
        let deadline = Instant::now() + within;
        for (n, publish) in pending.into_iter().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            wait(left, publish.into_future())
                .unwrap_or_else(|| panic!("publish #{n} not complete within {within:?}"))
                .unwrap_or_else(|e| panic!("publish #{n}: {e}"));
        }
    }

    fn recv(&self, within: Duration) -> Option<Got> {
        let mut default = self.default.lock().unwrap();
        wait(within, default.recv()).flatten().map(|m| Got {
            topic: m.topic.to_string(),
            payload: m.payload.to_vec(),
        })
    }

    fn disconnect(mut self) {
        self.run("disconnect", self.client.disconnect())
            .unwrap_or_else(|e| panic!("disconnect: {e}"));
        if let Some(connection) = self.connection.take() {
            connection.join().expect("the connection task ends");
        }
    }
}

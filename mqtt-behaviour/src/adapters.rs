//! The adapters under test: the async client on each runtime, and mqtt-blocking.

use std::future::{Future, IntoFuture, poll_fn};
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::{Mutex, OnceLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use mqtt_async::{Client, Messages, Options, PendingPublish, Runtime, TlsOptions, Transport};
use mqtt_tokio::{QoS, Version};

use crate::driver::{Adapter, Endpoint, Got, Spec, TestClient, WAIT};

/// A runtime the suite can block on from a test thread.
pub trait BlockOn: Runtime {
    fn block_on<F: Future>(future: F) -> F::Output;
}

impl BlockOn for mqtt_tokio::Tokio {
    fn block_on<F: Future>(future: F) -> F::Output {
        static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        RUNTIME
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime")
            })
            .block_on(future)
    }
}

impl BlockOn for mqtt_async_std::Smol {
    fn block_on<F: Future>(future: F) -> F::Output {
        smol::block_on(future)
    }
}

impl BlockOn for mqtt_async_std::AsyncStd {
    fn block_on<F: Future>(future: F) -> F::Output {
        async_std::task::block_on(future)
    }
}

/// `future`'s output, or `None` once `deadline` passes, on runtime `R`'s timer.
async fn until<R: Runtime, F: Future>(deadline: Instant, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut timer = pin!(R::sleep_until(deadline));
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// The async client (mqtt-async) on runtime `R`: mqtt-tokio, or mqtt-async-std on smol or
/// async-std.
pub struct Async<R>(PhantomData<R>);

pub struct AsyncClient<R: Runtime> {
    client: Client<R>,
    default: Mutex<Messages<R>>,
    pending: Mutex<Vec<PendingPublish<R>>>,
}

fn options<R: Runtime>(spec: &Spec) -> Options<R> {
    let url = |url: &str| url::Url::parse(url).expect("a WebSocket URL");
    let mut options = match &spec.endpoint {
        Endpoint::Tcp(address) => {
            Options::new(address.ip().to_string(), address.port(), &*spec.client_id)
        }
        Endpoint::Tls { address, ca } => {
            let mut options =
                Options::new(address.ip().to_string(), address.port(), &*spec.client_id);
            options.transport = Transport::Tls;
            options.tls = Some(TlsOptions::with_ca_pem(ca).expect("the test CA"));
            options
        }
        Endpoint::WebSocket(ws) | Endpoint::SecureWebSocket { url: ws, .. } => {
            let parsed = url(ws);
            let mut options = Options::from_url(ws, &*spec.client_id).expect("a WebSocket URL");
            options.path = parsed.path().to_owned();
            if let Endpoint::SecureWebSocket { ca, .. } = &spec.endpoint {
                options.tls = Some(TlsOptions::with_ca_pem(ca).expect("the test CA"));
            }
            options
        }
    };
    options.set_version(spec.version);
    options.session.clean_start = spec.clean_start;
    options.session.connect_properties.session_expiry_interval = spec.session_expiry;
    options.stream_capacity = spec.stream_capacity;
    options.reconnect = Some(Spec::backoff());
    options.connect_timeout = Duration::from_secs(5);
    options
}

impl<R: BlockOn> Adapter for Async<R> {
    type Client = AsyncClient<R>;

    fn connect(spec: &Spec) -> AsyncClient<R> {
        let options = options::<R>(spec);
        let (client, default) = R::block_on(Client::spawn(options))
            .unwrap_or_else(|e| panic!("{}: connecting: {e}", spec.client_id));
        AsyncClient {
            client,
            default: Mutex::new(default),
            pending: Mutex::new(Vec::new()),
        }
    }
}

impl<R: BlockOn> AsyncClient<R> {
    fn run<F: Future>(&self, what: &str, future: F) -> F::Output {
        R::block_on(until::<R, _>(Instant::now() + WAIT, future))
            .unwrap_or_else(|| panic!("{what}: nothing within {WAIT:?}"))
    }
}

impl<R: BlockOn> TestClient for AsyncClient<R> {
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
            R::block_on(until::<R, _>(deadline, publish.into_future()))
                .unwrap_or_else(|| panic!("publish #{n} not complete within {within:?}"))
                .unwrap_or_else(|e| panic!("publish #{n}: {e}"));
        }
    }

    fn recv(&self, within: Duration) -> Option<Got> {
        let mut default = self.default.lock().unwrap();
        R::block_on(until::<R, _>(Instant::now() + within, default.recv()))
            .flatten()
            .map(|m| Got {
                topic: m.topic.to_string(),
                payload: m.payload.to_vec(),
            })
    }

    fn disconnect(self) {
        self.run("disconnect", self.client.disconnect())
            .unwrap_or_else(|e| panic!("disconnect: {e}"));
    }
}

/// mqtt-blocking: the seed's API, with its loop on a thread.
pub struct Blocking;

pub struct BlockingClient {
    client: mqtt_blocking::Client,
    default: mqtt_blocking::Messages,
    pending: Mutex<Vec<mqtt_blocking::PublishId>>,
}

impl Adapter for Blocking {
    type Client = BlockingClient;

    fn connect(spec: &Spec) -> BlockingClient {
        let mut config = mqtt_blocking::Config::new(&*spec.client_id, spec.version);
        config.clean_start = spec.clean_start;
        config.connect_properties.session_expiry_interval = spec.session_expiry;
        let client = mqtt_blocking::Client::with_config(config);
        let tls = |ca: &[u8]| TlsOptions::with_ca_pem(ca).and_then(|t| t.client_config());
        let (host, mut options) = match &spec.endpoint {
            Endpoint::Tcp(address) => (
                address.ip().to_string(),
                mqtt_blocking::ConnectOptions::port(address.port()),
            ),
            Endpoint::Tls { address, ca } => (
                address.ip().to_string(),
                mqtt_blocking::ConnectOptions::port(address.port())
                    .with_tls(tls(ca).expect("the test CA")),
            ),
            Endpoint::WebSocket(ws) | Endpoint::SecureWebSocket { url: ws, .. } => {
                let url = url::Url::parse(ws).expect("a WebSocket URL");
                let mut options = mqtt_blocking::ConnectOptions::port(url.port().expect("a port"))
                    .with_websocket(url.path());
                if let Endpoint::SecureWebSocket { ca, .. } = &spec.endpoint {
                    options = options.with_tls(tls(ca).expect("the test CA"));
                }
                (url.host_str().expect("a host").to_owned(), options)
            }
        };
        options.connect_timeout = Duration::from_secs(5);
        options.reconnect = Some(Spec::backoff());
        options.stream_capacity = spec.stream_capacity;
        // Registered before the loop runs: it has every message from the first on.
        let default = client.messages();
        client
            .connect(&host, Duration::from_secs(30), options)
            .unwrap_or_else(|e| panic!("{}: connecting: {e}", spec.client_id));
        client.loop_start(None).expect("the loop starts");
        BlockingClient {
            client,
            default,
            pending: Mutex::new(Vec::new()),
        }
    }
}

impl TestClient for BlockingClient {
    fn subscribe(&self, filter: &str, qos: QoS) {
        let request = self
            .client
            .subscribe(&[(filter, qos)])
            .unwrap_or_else(|e| panic!("subscribe {filter}: {e}"));
        let codes = self
            .client
            .wait_for_request(request, WAIT)
            .unwrap_or_else(|e| panic!("subscribe {filter}: {e}"));
        assert!(
            codes.iter().all(|c| !c.is_error()),
            "subscribe {filter}: refused: {codes:?}"
        );
    }

    fn publish(&self, topic: &str, payload: Vec<u8>, qos: QoS) {
        let mid = self
            .client
            .publish(topic, payload, qos, false)
            .unwrap_or_else(|e| panic!("publish to {topic}: {e}"));
        self.client
            .wait_for_publish(mid, WAIT)
            .unwrap_or_else(|e| panic!("publish to {topic}: {e}"));
    }

    fn start_publish(&self, topic: &str, payload: Vec<u8>, qos: QoS) {
        let mid = self
            .client
            .publish(topic, payload, qos, false)
            .unwrap_or_else(|e| panic!("publish to {topic}: {e}"));
        self.pending.lock().unwrap().push(mid);
    }

    fn wait_published(&self, within: Duration) {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap());
        let deadline = Instant::now() + within;
        for mid in pending {
            let left = deadline.saturating_duration_since(Instant::now());
            self.client
                .wait_for_publish(mid, left)
                .unwrap_or_else(|e| panic!("publish {mid:?}: {e}"));
        }
    }

    fn recv(&self, within: Duration) -> Option<Got> {
        self.default.recv_timeout(within).ok().map(|m| Got {
            topic: m.topic.to_string(),
            payload: m.payload.to_vec(),
        })
    }

    fn disconnect(self) {
        self.client
            .disconnect()
            .unwrap_or_else(|e| panic!("disconnect: {e}"));
    }
}

/// The protocol versions every scenario runs in.
pub const VERSIONS: [Version; 2] = [Version::V311, Version::V5];

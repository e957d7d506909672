//! Proxies between the client and the broker (HTTP CONNECT and SOCKS5, with credentials),
//! for plain TCP and TLS, through mqtt-tokio, mqtt-async-std on smol and mqtt-blocking; and
//! the errors when the proxy refuses the credentials or the destination.

use std::time::Duration;

use mqtt_behaviour::proxies::{Behaviour, Kind, TestProxy};
use mqtt_behaviour::support::{broker, client_id, topic};
use mqtt_tokio::{Client, Error, Options, ProxyError, QoS, TlsOptions, Transport, Version};

const WAIT: Duration = Duration::from_secs(15);
const AUTH: Behaviour = Behaviour {
    auth: true,
    refuse: false,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn round_trip(options: Options) -> Result<(), Error> {
    let (client, _) = Client::spawn(options).await?;
    let topic = topic("proxied");
    let mut messages = client.subscription(&topic, QoS::AtLeastOnce).await?;
    client
        .publish(&topic, "through the proxy", QoS::AtLeastOnce, false)
        .await?;
    let message = tokio::time::timeout(WAIT, messages.recv())
        .await
        .expect("the message comes back")
        .expect("the client runs");
    assert_eq!(message.payload_str(), Some("through the proxy"));
    client.disconnect().await
}

fn options(id: &str) -> Options {
    let mut options = broker().options(Version::V311, &client_id(id));
    options.reconnect = None;
    options
}

#[test]
fn tokio_through_http_and_socks5_with_credentials_over_tcp_and_tls() {
    runtime().block_on(async {
        for kind in [Kind::Http, Kind::Socks5] {
            let proxy = TestProxy::start(kind, AUTH);
            let mut tcp = options("proxy-tcp");
            tcp.set_proxy(&proxy.url(kind, Some("s3cret"))).unwrap();
            round_trip(tcp)
                .await
                .unwrap_or_else(|e| panic!("{kind:?} over TCP: {e}"));

            let tls_address = broker().endpoints(Version::V311).tls;
            let mut tls = Options::new("127.0.0.1", tls_address.port(), client_id("proxy-tls"));
            tls.set_version(Version::V311);
            tls.transport = Transport::Tls;
            tls.tls = Some(TlsOptions::with_ca_pem(&broker().ca).unwrap());
            tls.reconnect = None;
            tls.set_proxy(&proxy.url(kind, Some("s3cret"))).unwrap();
            round_trip(tls)
                .await
                .unwrap_or_else(|e| panic!("{kind:?} over TLS: {e}"));
        }
    });
}

#[test]
fn a_wrong_password_and_a_refusal_are_clear_errors() {
    runtime().block_on(async {
        for kind in [Kind::Http, Kind::Socks5] {
            let proxy = TestProxy::start(kind, AUTH);
            let mut wrong = options("proxy-wrong");
            wrong.set_proxy(&proxy.url(kind, Some("wrong"))).unwrap();
            let error = Client::connect(wrong).await.expect_err("refused");
            assert!(
                matches!(error, Error::Proxy(ProxyError::AuthenticationFailed)),
                "{kind:?}: {error:?}"
            );
            assert!(error.to_string().contains("credentials"), "{error}");

            let refusing = TestProxy::start(
                kind,
                Behaviour {
                    auth: false,
                    refuse: true,
                },
            );
            let mut refused = options("proxy-refused");
            refused.set_proxy(&refusing.url(kind, None)).unwrap();
            let error = Client::connect(refused).await.expect_err("refused");
            assert!(
                matches!(error, Error::Proxy(ProxyError::Refused(_))),
                "{kind:?}: {error:?}"
            );
            assert!(
                error.to_string().contains("refused to reach the broker"),
                "{error}"
            );
        }
    });
}

#[test]
fn smol_through_socks5() {
    use mqtt_async_std::smol::{Client, Options};
    let proxy = TestProxy::start(Kind::Socks5, AUTH);
    let address = broker().tcp(Version::V311);
    let mut options = Options::new(
        address.ip().to_string(),
        address.port(),
        client_id("smol-proxy"),
    );
    options.set_version(Version::V311);
    options
        .set_proxy(&proxy.url(Kind::Socks5, Some("s3cret")))
        .unwrap();
    smol::block_on(async {
        let (client, _) = Client::spawn(options).await.unwrap();
        client
            .publish(&topic("smol-proxy"), "x", QoS::AtLeastOnce, false)
            .await
            .unwrap();
        client.disconnect().await.unwrap();
    });
}

#[test]
fn blocking_through_http_and_a_refusal() {
    use mqtt_blocking::ConnectOptions;
    let proxy = TestProxy::start(Kind::Http, AUTH);
    let address = broker().tcp(Version::V311);
    let client = mqtt_blocking::Client::new(client_id("blocking-proxy"), true);
    let options = ConnectOptions::port(address.port())
        .with_proxy(&proxy.url(Kind::Http, Some("s3cret")))
        .unwrap();
    client
        .connect(&address.ip().to_string(), Duration::from_secs(30), options)
        .expect("connected through the proxy");
    client.loop_start(None).unwrap();
    let mid = client
        .publish(&topic("blocking-proxy"), "x", QoS::AtLeastOnce, false)
        .unwrap();
    client.wait_for_publish(mid, WAIT).unwrap();
    client.disconnect().unwrap();

    let refusing = TestProxy::start(
        Kind::Socks5,
        Behaviour {
            auth: false,
            refuse: true,
        },
    );
    let client = mqtt_blocking::Client::new(client_id("blocking-refused"), true);
    let mut options = ConnectOptions::port(address.port())
        .with_proxy(&refusing.url(Kind::Socks5, None))
        .unwrap();
    options.reconnect = None;
    let error = client
        .connect(&address.ip().to_string(), Duration::from_secs(30), options)
        .expect_err("refused");
    assert!(
        matches!(error, mqtt_blocking::Error::Proxy(ProxyError::Refused(_))),
        "{error:?}"
    );
}

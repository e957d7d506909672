//! Connect over TLS with a private CA, and optionally a client certificate (mutual TLS).
//!
//! ```sh
//! cargo run -p mqtt-tokio --example tls -- mqtts://localhost:8883 ca.pem [client.pem client.key]
//! ```
//!
//! Without arguments it runs against the embedded broker's TLS front, with certificates the
//! test support generates.

#[path = "../tests/support/mod.rs"]
mod support;

use mqtt_tokio::{Client, Options, QoS, TlsOptions, Transport, Version};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match args.as_slice() {
        [url, ca, rest @ ..] => {
            let mut options = Options::from_url(url, "mqtt-tokio-tls")?;
            let mut tls = TlsOptions::with_ca_pem(&std::fs::read(ca)?)?;
            if let [cert, key] = rest {
                tls = tls.with_client_cert_pem(&std::fs::read(cert)?, &std::fs::read(key)?)?;
            }
            options.tls = Some(tls);
            options
        }
        [] => {
            let broker = support::broker();
            let address = broker.endpoints(Version::V5).tls;
            let mut options = Options::new("localhost", address.port(), "mqtt-tokio-tls");
            options.transport = Transport::Tls;
            options.tls = Some(TlsOptions::with_ca_pem(&broker.ca)?);
            options
        }
        _ => return Err("usage: tls [URL CA.pem [CLIENT.pem CLIENT.key]]".into()),
    };
    let (client, _) = Client::spawn(options).await?;
    let published = client
        .publish(
            "tls/hello",
            "encrypted and verified",
            QoS::AtLeastOnce,
            false,
        )
        .await?;
    println!("published over TLS: {published:?}");
    client.disconnect().await?;
    Ok(())
}

//! Publish and subscribe with mqtt-tokio.
//!
//! ```sh
//! cargo run -p mqtt-tokio --example quickstart                      # an embedded broker
//! cargo run -p mqtt-tokio --example quickstart mqtt://127.0.0.1:1883  # your broker
//! ```
//!
//! Without a URL it starts the embedded broker the tests use (rumqttd, in this process), so it
//! runs on a machine with nothing installed.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use mqtt_tokio::{Client, Options, QoS, Version};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = match std::env::args().nth(1) {
        Some(url) => Options::from_url(&url, "mqtt-tokio-quickstart")?,
        None => {
            println!("no broker URL given: starting an embedded broker");
            support::broker().options(Version::V5, "mqtt-tokio-quickstart")
        }
    };
    println!(
        "connecting to {}:{} ({})",
        options.host, options.port, options.session.version
    );
    let (client, _) = Client::spawn(options).await?;

    // A stream of the messages that match one subscription.
    let mut greetings = client
        .subscription("quickstart/greetings/#", QoS::AtLeastOnce)
        .await?;

    for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .enumerate()
    {
        let published = client
            .publish(
                "quickstart/greetings/world",
                format!("hello #{i} at {qos:?}"),
                qos,
                false,
            )
            .await?;
        println!(
            "published {:?} (packet id {:?})",
            published.id, published.packet_id
        );
    }

    for _ in 0..3 {
        let message = tokio::time::timeout(Duration::from_secs(5), greetings.recv())
            .await?
            .ok_or("the client stopped")?;
        println!(
            "received on {}: {} ({:?})",
            message.topic,
            message.payload_str().unwrap_or("<binary>"),
            message.qos
        );
    }

    client.disconnect().await?;
    println!("disconnected");
    Ok(())
}

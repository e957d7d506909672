//! Publish and subscribe with mqtt-async-std on smol.
//!
//! ```sh
//! cargo run -p mqtt-async-std --example smol                      # an embedded broker
//! cargo run -p mqtt-async-std --example smol mqtt://127.0.0.1:1883  # your broker
//! ```
//!
//! Without a URL it starts the embedded broker the tests use (rumqttd, in this process), so it
//! runs on a machine with nothing installed.

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use mqtt_async_std::smol::{Client, Options, QoS, Version};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = match std::env::args().nth(1) {
        Some(url) => Options::from_url(&url, "mqtt-smol-example")?,
        None => {
            println!("no broker URL given: starting an embedded broker");
            let address = support::broker().tcp(Version::V5);
            Options::new(
                address.ip().to_string(),
                address.port(),
                "mqtt-smol-example",
            )
        }
    };
    smol::block_on(async {
        let (client, _) = Client::spawn(options).await?;
        let mut greetings = client
            .subscription("example/smol/#", QoS::AtLeastOnce)
            .await?;
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let published = client
                .publish(
                    "example/smol/world",
                    format!("hello at {qos:?}"),
                    qos,
                    false,
                )
                .await?;
            println!("published {:?}", published.id);
        }
        for _ in 0..3 {
            let message = smol::future::or(
                async { greetings.recv().await.ok_or("the client stopped") },
                async {
                    smol::Timer::after(Duration::from_secs(5)).await;
                    Err("no message within 5 s")
                },
            )
            .await?;
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
    })
}

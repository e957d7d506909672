//! The seed's example (the Zerynth `mqtt.Client` documentation) written with mqtt-tokio:
//! retry the first connection, subscribe to `cool/channel`, a conditional callback for messages on
//! topic `cool`, and a generic callback for everything else.
//!
//! ```sh
//! cargo run -p mqtt-tokio --example callbacks [mqtt://host:port]
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use mqtt_tokio::{Client, Command, Options, QoS, Received, Version};

/// The seed's `is_cool`: true for messages on topic "cool". Checks that the data carries a
/// message, since QoS 2 PUBLISH packets may not (the message can come with PUBREL).
fn is_cool(data: &Received) -> bool {
    data.message.as_ref().is_some_and(|m| m.topic == "cool")
}

fn print_cool_stuff(_client: &Client, data: &Received) {
    if let Some(message) = &data.message {
        println!("cool:  {}", String::from_utf8_lossy(&message.payload));
    }
}

fn print_generic_stuff(_client: &Client, data: &Received) {
    if let Some(message) = &data.message {
        println!("not cool: {}", String::from_utf8_lossy(&message.payload));
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = match std::env::args().nth(1) {
        Some(url) => Options::from_url(&url, "myId")?,
        None => support::broker().options(Version::V311, "myId"),
    };

    // The seed retries `connect` in a loop (`for retry in range(10)`); here the client retries
    // the first connection itself, with its backoff, and `spawn` returns at once.
    let mut options = options;
    options.retry_first_connect = true;
    let (client, _default) = Client::spawn(options).await?;
    let mut events = client.events();
    println!("first event: {:?}", events.recv().await);

    client.on_if(Command::Publish, print_cool_stuff, is_cool, 0);
    client.on(Command::Publish, print_generic_stuff);
    client
        .subscribe(&[
            ("cool/channel", QoS::AtLeastOnce),
            ("cool", QoS::AtLeastOnce),
        ])
        .await?;

    // "do something else": publish to both topics so both callbacks run.
    client
        .publish("cool", "ice", QoS::AtLeastOnce, false)
        .await?;
    client
        .publish("cool/channel", "lukewarm", QoS::AtLeastOnce, false)
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    client.disconnect().await?;
    Ok(())
}

//! The seed's example (the Zerynth `mqtt.Client` documentation) written with mqtt-blocking:
//! retry the connection, subscribe to `cool/channel`, a conditional callback for messages on
//! topic `cool`, a generic callback for everything else, and the loop on its own thread.
//!
//! ```sh
//! cargo run -p mqtt-blocking --example seed                      # an embedded broker
//! cargo run -p mqtt-blocking --example seed -- test.mosquitto.org:1883
//! ```

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use mqtt_blocking::{Client, Command, ConnectOptions, QoS, Received};

/// The seed's `is_cool`: true for messages on topic "cool". It checks that the data carries a
/// message: QoS 2 PUBLISH packets don't (their message comes with PUBREL).
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (host, port) = match std::env::args().nth(1) {
        Some(address) => match address.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), port.parse()?),
            None => (address, 1883),
        },
        None => {
            let address = support::broker().tcp(mqtt_blocking::Version::V311);
            (address.ip().to_string(), address.port())
        }
    };

    // my_client = mqtt.Client("myId", True)
    let my_client = Client::new("myId", true);
    // for retry in range(10): try: my_client.connect(host, 60) ... except: print("connecting...")
    let mut connected = false;
    for _retry in 0..10 {
        match my_client.connect(&host, Duration::from_secs(60), ConnectOptions::port(port)) {
            Ok(()) => {
                connected = true;
                break;
            }
            Err(e) => {
                println!("connecting... ({e})");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    if !connected {
        return Err("could not connect".into());
    }
    // my_client.subscribe([["cool/channel", 1]]); "cool" too, so that is_cool can match.
    let subscribed = my_client.subscribe(&[
        ("cool/channel", QoS::AtLeastOnce),
        ("cool", QoS::AtLeastOnce),
    ])?;
    // my_client.on(mqtt.PUBLISH, print_cool_stuff, is_cool)
    my_client.on_if(Command::Publish, print_cool_stuff, is_cool, 0);
    // my_client.on(mqtt.PUBLISH, print_generic_stuff)
    my_client.on(Command::Publish, print_generic_stuff);
    // my_client.loop()
    my_client.loop_start(None)?;

    // "do something else": publish to both topics, so that both callbacks run.
    my_client.wait_for_request(subscribed, Duration::from_secs(5))?;
    let ice = my_client.publish("cool", "ice", QoS::AtLeastOnce, false)?;
    let tea = my_client.publish("cool/channel", "lukewarm tea", QoS::AtLeastOnce, false)?;
    my_client.wait_for_publish(ice, Duration::from_secs(5))?;
    my_client.wait_for_publish(tea, Duration::from_secs(5))?;
    std::thread::sleep(Duration::from_millis(300));
    my_client.disconnect()?;
    Ok(())
}

//! The firmware behaviour on rust-mqtt 0.6 (MQTT 5.0 only): the application opens the socket,
//! connects, subscribes again after each connection, and keeps the connection alive by
//! publishing within the keep alive.
#![no_std]
#![no_main]

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::num::NonZero;

use embassy_executor::Spawner;
use embassy_futures::select::{Either, select};
use embassy_net::tcp::client::{TcpClient, TcpClientState};
use embassy_time::{Instant, Timer};
use embedded_nal_async::TcpConnect;
use mqtt_embassy_firmware::{
    CLIENT_ID, HEAP_SIZE, Heap, KEEP_ALIVE_SECS, TOPIC_CMD, TOPIC_TEMP, reading,
};
use panic_halt as _;
use rust_mqtt::buffer::AllocBuffer;
use rust_mqtt::client::Client;
use rust_mqtt::client::event::Event;
use rust_mqtt::client::options::{
    ConnectOptions, PublicationOptions, SubscriptionOptions, TopicReference,
};
use rust_mqtt::config::KeepAlive;
use rust_mqtt::types::{MqttString, TopicFilter, TopicName};
use static_cell::StaticCell;

#[global_allocator]
static HEAP: Heap = Heap::empty();

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    // SAFETY: called once, before anything allocates.
    unsafe {
        embedded_alloc::init!(HEAP, HEAP_SIZE);
    }
    let board = mqtt_embassy_firmware::init(spawner).await;

    static STATE: StaticCell<TcpClientState<1, 1024, 1024>> = StaticCell::new();
    let mut tcp = TcpClient::new(board.stack, STATE.init(TcpClientState::new()));
    tcp.set_timeout(Some(embassy_time::Duration::from_secs(60)));
    let broker = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)), 1883);

    let mut buffer = AllocBuffer;
    let mut client = Client::<'_, '_, _, _, 1, 4, 4, 0, 0, 0, 0>::new(&mut buffer);
    let keep_alive = KeepAlive::Seconds(NonZero::new(KEEP_ALIVE_SECS).unwrap());
    let options = ConnectOptions::new().clean_start().keep_alive(keep_alive);
    let id = MqttString::from_str(CLIENT_ID).unwrap();
    let temp = TopicName::new(MqttString::from_str(TOPIC_TEMP).unwrap()).unwrap();
    let cmd = TopicFilter::new(MqttString::from_str(TOPIC_CMD).unwrap()).unwrap();

    let mut n = 0u32;
    let mut received = 0u32;
    let mut buf = heapless::String::new();
    loop {
        let Ok(socket) = tcp.connect(broker).await else {
            Timer::after_secs(1).await;
            continue;
        };
        if client
            .connect(socket, &options, Some(id.as_borrowed()))
            .await
            .is_err()
            || client
                .subscribe(
                    cmd.as_borrowed(),
                    &SubscriptionOptions::new().at_least_once(),
                )
                .await
                .is_err()
        {
            let _ = client.abort().await;
            Timer::after_secs(1).await;
            continue;
        }
        'connected: loop {
            let payload = reading(n.wrapping_add(received), &mut buf);
            n += 1;
            let topic = TopicReference::Name(temp.as_borrowed());
            let published = client
                .publish(
                    &PublicationOptions::new(topic).at_least_once(),
                    payload.into(),
                )
                .await;
            if published.is_err() {
                break 'connected;
            }
            let mut acknowledged = false;
            let next = Instant::now() + embassy_time::Duration::from_secs(5);
            loop {
                match select(client.poll(), Timer::at(next)).await {
                    Either::First(Ok(Event::Publish(_))) => received += 1,
                    Either::First(Ok(Event::PublishAcknowledged(_))) => acknowledged = true,
                    Either::First(Ok(_)) => {}
                    Either::First(Err(_)) => break 'connected,
                    Either::Second(()) => break,
                }
            }
            let _ = acknowledged;
        }
        let _ = client.abort().await;
        Timer::after_secs(1).await;
    }
}

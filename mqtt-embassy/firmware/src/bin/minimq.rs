//! The firmware behaviour on minimq 0.13 (MQTT 5.0 only): the application opens the socket,
//! connects the session, subscribes again when the broker made a fresh session, and drives the
//! connection.
#![no_std]
#![no_main]

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use embassy_executor::Spawner;
use embassy_futures::select::{Either, select};
use embassy_net::tcp::client::{TcpClient, TcpClientState};
use embassy_time::{Instant, Timer};
use embedded_nal_async::TcpConnect;
use minimq::{Buffers, ConfigBuilder, ConnectEvent, Publication, QoS, Session, TopicFilter};
use mqtt_embassy_firmware::{CLIENT_ID, KEEP_ALIVE_SECS, TOPIC_CMD, TOPIC_TEMP, reading};
use panic_halt as _;
use static_cell::StaticCell;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let board = mqtt_embassy_firmware::init(spawner).await;

    static STATE: StaticCell<TcpClientState<1, 1024, 1024>> = StaticCell::new();
    let mut tcp = TcpClient::new(board.stack, STATE.init(TcpClientState::new()));
    tcp.set_timeout(Some(embassy_time::Duration::from_secs(60)));
    let broker = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)), 1883);

    static RX: StaticCell<[u8; 1024]> = StaticCell::new();
    static TX: StaticCell<[u8; 1024]> = StaticCell::new();
    let mut session = Session::new(
        ConfigBuilder::new(Buffers::new(RX.init([0; 1024]), TX.init([0; 1024])))
            .client_id(CLIENT_ID)
            .unwrap()
            .keepalive_interval(KEEP_ALIVE_SECS),
    );

    let mut n = 0u32;
    let mut received = 0u32;
    let mut buf = heapless::String::new();
    loop {
        let Ok(socket) = tcp.connect(broker).await else {
            Timer::after_secs(1).await;
            continue;
        };
        let Ok(mut connection) = session.connect(socket).await else {
            Timer::after_secs(1).await;
            continue;
        };
        if connection.connect_event() == ConnectEvent::Connected
            && connection
                .subscribe(&[TopicFilter::new(TOPIC_CMD)], &[])
                .await
                .is_err()
        {
            Timer::after_secs(1).await;
            continue;
        }
        'connected: loop {
            let payload = reading(n.wrapping_add(received), &mut buf);
            n += 1;
            let publication =
                Publication::new(TOPIC_TEMP, payload.as_bytes()).qos(QoS::AtLeastOnce);
            if connection.publish(publication).await.is_err() {
                break 'connected;
            }
            let next = Instant::now() + embassy_time::Duration::from_secs(5);
            loop {
                match select(connection.poll(), Timer::at(next)).await {
                    Either::First(Ok(Some(_message))) => received += 1,
                    Either::First(Ok(None)) => {}
                    Either::First(Err(_)) => break 'connected,
                    Either::Second(()) => break,
                }
            }
        }
        drop(connection);
        Timer::after_secs(1).await;
    }
}

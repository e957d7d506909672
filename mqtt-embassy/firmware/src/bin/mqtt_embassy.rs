//! The firmware behaviour on mqtt-embassy: the connection runs in a task of its own and
//! reconnects by itself; the subscription is restored when the broker lost the session.
#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_futures::select::{Either, select};
use embassy_sync::blocking_mutex::raw::ThreadModeRawMutex;
use embassy_time::{Instant, Timer};
use mqtt_embassy::proto::Bytes;
use mqtt_embassy::{Backoff, Client, Config, Connection, QoS, Settings, TcpConnector, Version};
use mqtt_embassy_firmware::{BROKER, CLIENT_ID, HEAP_SIZE, Heap, TOPIC_CMD, TOPIC_TEMP, reading};
use panic_halt as _;
use static_cell::StaticCell;

#[global_allocator]
static HEAP: Heap = Heap::empty();

/// Every user of the client runs in thread mode, on one executor.
type Mutex = ThreadModeRawMutex;

#[embassy_executor::task]
async fn mqtt(connection: Connection<TcpConnector<'static>, Mutex>) {
    let _ = connection.run().await;
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    // SAFETY: called once, before anything allocates.
    unsafe {
        embedded_alloc::init!(HEAP, HEAP_SIZE);
    }
    let board = mqtt_embassy_firmware::init(spawner).await;

    static RX: StaticCell<[u8; 1024]> = StaticCell::new();
    static TX: StaticCell<[u8; 1024]> = StaticCell::new();
    let connector = TcpConnector::new(board.stack, BROKER, RX.init([0; 1024]), TX.init([0; 1024]));

    let mut config = Config::new(CLIENT_ID, Version::V5);
    config.keep_alive = core::time::Duration::from_secs(30);
    config.max_inflight = 4.try_into().unwrap();
    config.max_queued = 8;
    let mut settings = Settings::default();
    settings.stream_capacity = 4;
    settings.event_capacity = 1;
    settings.retry_first_connect = true;
    settings.reconnect = Some(Backoff {
        initial: core::time::Duration::from_secs(1),
        max: core::time::Duration::from_secs(1),
        multiplier: 1.0,
        jitter: false,
    });
    let (client, default, connection) =
        Client::<Mutex>::with_mutex(config, settings, board.seed, connector);
    drop(default);
    spawner.spawn(mqtt(connection).unwrap());

    let mut commands = loop {
        match client.subscription(TOPIC_CMD, QoS::AtLeastOnce).await {
            Ok(commands) => break commands,
            Err(_) => Timer::after_secs(1).await,
        }
    };
    let mut received = 0u32;
    let mut buf = heapless::String::new();
    for n in 0u32.. {
        let payload =
            Bytes::copy_from_slice(reading(n.wrapping_add(received), &mut buf).as_bytes());
        // Resolves at PUBACK; across a reconnection it is sent again.
        let _ = client
            .publish(TOPIC_TEMP, payload, QoS::AtLeastOnce, false)
            .await;
        let next = Instant::now() + embassy_time::Duration::from_secs(5);
        loop {
            match select(commands.recv(), Timer::at(next)).await {
                Either::First(Some(_command)) => received += 1,
                Either::First(None) | Either::Second(()) => break,
            }
        }
    }
}

//! No MQTT: the board, the network stack and a TCP connection that sends the reading every
//! 5 s. The size table subtracts it to show what each MQTT client adds.
#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_net::tcp::TcpSocket;
use embassy_time::Timer;
use embedded_io_async::Write;
use mqtt_embassy_firmware::{BROKER, reading};
use panic_halt as _;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let board = mqtt_embassy_firmware::init(spawner).await;
    let mut rx = [0u8; 1024];
    let mut tx = [0u8; 1024];
    let mut buf = heapless::String::new();
    let mut n = 0u32;
    loop {
        let mut socket = TcpSocket::new(board.stack, &mut rx, &mut tx);
        socket.set_timeout(Some(embassy_time::Duration::from_secs(60)));
        if socket.connect(BROKER).await.is_ok() {
            loop {
                n += 1;
                if socket.write_all(reading(n, &mut buf).as_bytes()).await.is_err() {
                    break;
                }
                Timer::after_secs(5).await;
            }
        }
        drop(socket);
        Timer::after_secs(1).await;
    }
}

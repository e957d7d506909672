//! A scripted fake broker for exact wire behaviour: the test accepts the client's connection,
//! reads the packets it sends as raw frames, and sends whatever bytes it likes. Plain std
//! sockets with timeouts, so that tokio and blocking tests share it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// How long the script waits for the client.
const WAIT: Duration = Duration::from_secs(10);

/// A listener on a loopback port.
pub struct Scripted {
    listener: TcpListener,
    pub address: SocketAddr,
}

impl Scripted {
    pub fn start() -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        Scripted { listener, address }
    }

    /// Waits for the client's next connection.
    pub fn accept(&self) -> Peer {
        self.listener
            .set_nonblocking(false)
            .expect("blocking listener");
        let (stream, _) = self.listener.accept().expect("the client connects");
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        stream.set_nodelay(true).expect("nodelay");
        Peer { stream }
    }
}

/// One connection from the client.
pub struct Peer {
    stream: TcpStream,
}

impl From<TcpStream> for Peer {
    fn from(stream: TcpStream) -> Peer {
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        Peer { stream }
    }
}

impl Peer {
    /// The next packet the client sends, as its raw frame (fixed header included).
    pub fn packet(&mut self) -> Vec<u8> {
        self.try_packet().expect("the client sends a packet")
    }

    /// The next packet, or `None` when the client closed the connection or sent nothing
    /// within the wait.
    pub fn try_packet(&mut self) -> Option<Vec<u8>> {
        let mut frame = vec![0u8; 1];
        self.stream.read_exact(&mut frame).ok()?;
        let mut length = 0usize;
        for shift in (0..28).step_by(7) {
            let mut byte = [0u8; 1];
            self.stream.read_exact(&mut byte).ok()?;
            frame.push(byte[0]);
            length |= usize::from(byte[0] & 0x7f) << shift;
            if byte[0] & 0x80 == 0 {
                break;
            }
        }
        let start = frame.len();
        frame.resize(start + length, 0);
        self.stream.read_exact(&mut frame[start..]).ok()?;
        Some(frame)
    }

    /// Reads packets until one whose first byte is `first`; returns it.
    pub fn expect(&mut self, first: u8) -> Vec<u8> {
        loop {
            let packet = self.packet();
            if packet[0] == first {
                return packet;
            }
        }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send to the client");
    }

    /// Reads for up to `within`, returning every packet the client sent meanwhile.
    pub fn packets_within(&mut self, within: Duration) -> Vec<Vec<u8>> {
        self.stream
            .set_read_timeout(Some(within))
            .expect("read timeout");
        let packets = std::iter::from_fn(|| self.try_packet()).collect();
        self.stream
            .set_read_timeout(Some(WAIT))
            .expect("read timeout");
        packets
    }
}

//! Small HTTP CONNECT and SOCKS5 proxies for the tests, on loopback: with or without
//! credentials, and one that refuses every destination.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::restart::fronts;

/// The proxy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Http,
    Socks5,
}

/// How the proxy behaves.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Credentials it requires: user `alice`, password `s3cret`.
    pub auth: bool,
    /// Refuse every destination.
    pub refuse: bool,
}

/// A listening proxy; it stops with the test process.
pub struct TestProxy {
    pub address: SocketAddr,
}

impl TestProxy {
    pub fn start(kind: Kind, behaviour: Behaviour) -> TestProxy {
        // Bound here, served on the fronts' runtime: `start` may run inside another runtime.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let address = listener.local_addr().unwrap();
        fronts().spawn(async move {
            let listener = TcpListener::from_std(listener).expect("the proxy's listener");
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = match kind {
                        Kind::Http => http(client, behaviour).await,
                        Kind::Socks5 => socks5(client, behaviour).await,
                    };
                });
            }
        });
        TestProxy { address }
    }

    /// The proxy URL, with the right credentials or `password`.
    pub fn url(&self, kind: Kind, password: Option<&str>) -> String {
        let scheme = match kind {
            Kind::Http => "http",
            Kind::Socks5 => "socks5",
        };
        match password {
            Some(password) => format!("{scheme}://alice:{password}@{}", self.address),
            None => format!("{scheme}://{}", self.address),
        }
    }
}

async fn relay(mut client: TcpStream, target: &str) -> std::io::Result<()> {
    let mut broker = TcpStream::connect(target).await?;
    tokio::io::copy_bidirectional(&mut client, &mut broker).await?;
    Ok(())
}

async fn http(mut client: TcpStream, behaviour: Behaviour) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await? == 0 || head.len() > 8192 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let target = head
        .strip_prefix("CONNECT ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("")
        .to_owned();
    // base64("alice:s3cret")
    let authorized = head.contains("Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n");
    let answer: &[u8] = if behaviour.auth && !authorized {
        b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"
    } else if behaviour.refuse || target.is_empty() {
        b"HTTP/1.1 403 Forbidden\r\n\r\n"
    } else {
        b"HTTP/1.1 200 Connection established\r\n\r\n"
    };
    client.write_all(answer).await?;
    if answer.starts_with(b"HTTP/1.1 200") {
        relay(client, &target).await?;
    }
    Ok(())
}

async fn socks5(mut client: TcpStream, behaviour: Behaviour) -> std::io::Result<()> {
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting).await?;
    let mut methods = vec![0u8; usize::from(greeting[1])];
    client.read_exact(&mut methods).await?;
    if behaviour.auth {
        if !methods.contains(&0x02) {
            client.write_all(&[5, 0xFF]).await?;
            return Ok(());
        }
        client.write_all(&[5, 2]).await?;
        let mut header = [0u8; 2];
        client.read_exact(&mut header).await?;
        let mut user = vec![0u8; usize::from(header[1])];
        client.read_exact(&mut user).await?;
        let mut len = [0u8; 1];
        client.read_exact(&mut len).await?;
        let mut password = vec![0u8; usize::from(len[0])];
        client.read_exact(&mut password).await?;
        if user != b"alice" || password != b"s3cret" {
            client.write_all(&[1, 1]).await?;
            return Ok(());
        }
        client.write_all(&[1, 0]).await?;
    } else {
        client.write_all(&[5, 0]).await?;
    }
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    let host = match request[3] {
        0x01 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        0x03 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            format!("[{}]", std::net::Ipv6Addr::from(ip))
        }
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    if behaviour.refuse {
        client.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    }
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
    relay(client, &target).await
}

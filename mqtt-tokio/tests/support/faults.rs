//! A fault-injecting TCP proxy for the fault suites: it relays loopback connections to the
//! broker and, on command, cuts them with RST or FIN, stalls them, delivers half a packet
//! and then closes, or black-holes them (keeps them open and forwards nothing).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// What the proxy does to the connections open when it is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward as usual.
    Pass,
    /// Close both sides with RST (linger 0), as a crashed middlebox does.
    Reset,
    /// Close both sides with FIN.
    Close,
    /// Forward nothing for a while, then go on.
    Stall(Duration),
    /// Forward at most half of the next chunk towards the client, then close both sides.
    HalfThenClose,
    /// Forward nothing, ever, and keep the connections open: a dead link without FIN.
    BlackHole,
}

/// The listening proxy; dropping it stops accepting and closes every connection.
pub struct FaultProxy {
    pub address: SocketAddr,
    faults: Arc<Mutex<Vec<Arc<watch::Sender<Fault>>>>>,
    accept: AbortHandle,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl FaultProxy {
    /// Listens on a loopback port and relays to `upstream`.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let address = listener.local_addr().expect("proxy address");
        let faults: Arc<Mutex<Vec<Arc<watch::Sender<Fault>>>>> = Arc::default();
        let tasks: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (registry, running) = (faults.clone(), tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(broker) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = broker.set_nodelay(true);
                let (fault, watch) = watch::channel(Fault::Pass);
                registry.lock().expect("lock").push(Arc::new(fault));
                let (client_read, client_write) = client.into_split();
                let (broker_read, broker_write) = broker.into_split();
                let up = tokio::spawn(relay(client_read, broker_write, watch.clone(), false));
                let down = tokio::spawn(relay(broker_read, client_write, watch, true));
                let mut tasks = running.lock().expect("lock");
                tasks.push(up.abort_handle());
                tasks.push(down.abort_handle());
            }
        })
        .abort_handle();
        FaultProxy {
            address,
            faults,
            accept,
            tasks,
        }
    }

    /// Applies `fault` to every connection open now; later ones pass. A stall ends by itself.
    pub fn inject(&self, fault: Fault) {
        let mut faults = self.faults.lock().expect("lock");
        for sender in faults.iter() {
            let _ = sender.send(fault);
        }
        match fault {
            Fault::Reset | Fault::Close | Fault::HalfThenClose => faults.clear(),
            Fault::Stall(time) => {
                let stalled: Vec<_> = faults.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(time).await;
                    for sender in stalled {
                        let _ = sender.send(Fault::Pass);
                    }
                });
            }
            _ => {}
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        for task in self.tasks.lock().expect("lock").drain(..) {
            task.abort();
        }
    }
}

/// One direction of a connection. The side that closes with RST sets linger 0 on the socket
/// it writes to before dropping it.
async fn relay(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut fault: watch::Receiver<Fault>,
    towards_client: bool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let current = *fault.borrow_and_update();
        match current {
            Fault::Pass => {}
            Fault::Reset => {
                let _ = socket2::SockRef::from(to.as_ref()).set_linger(Some(Duration::ZERO));
                return;
            }
            Fault::Close => {
                let _ = to.shutdown().await;
                return;
            }
            Fault::Stall(_) | Fault::BlackHole => {
                // Forward nothing until told otherwise (a black hole never is).
                if fault.changed().await.is_err() {
                    return;
                }
                continue;
            }
            Fault::HalfThenClose => {
                if towards_client
                    && let Ok(Ok(n)) =
                        tokio::time::timeout(Duration::from_secs(2), from.read(&mut buf)).await
                    && n > 1
                {
                    let _ = to.write_all(&buf[..n / 2]).await;
                }
                let _ = to.shutdown().await;
                return;
            }
        }
        tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown().await;
                    return;
                }
                Ok(n) => {
                    if *fault.borrow() != Fault::Pass {
                        continue;
                    }
                    if to.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            },
            changed = fault.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

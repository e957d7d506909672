//! A broker a scenario owns, so that it can restart it without disturbing the tests beside it.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use mqtt_tokio::Version;

use crate::support::front::{Front, Kind};
use crate::support::{self, client_id};

/// A tokio runtime for the test's network fronts, whatever runtime the adapter uses.
pub fn fronts() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("the fronts' runtime")
    })
}

/// A plain TCP front to `upstream`, whose connections the test can cut.
pub fn front(upstream: SocketAddr) -> Front {
    fronts().block_on(Front::start(Kind::Tcp, upstream))
}

/// A broker of the scenario's own, without persistence: a restart loses its sessions.
///
/// With mosquitto installed (`MQTT_TEST_MOSQUITTO_BIN`, set by `.ci/run`), a mosquitto
/// process restarted on the same port. Otherwise the embedded rumqttd can't be stopped, so a
/// fresh one takes the place of the first behind a front that cuts its connections.
pub struct OwnBroker {
    pub address: SocketAddr,
    version: Version,
    mosquitto: Option<(String, std::path::PathBuf, Child)>,
    front: Option<Front>,
}

impl OwnBroker {
    pub fn start(version: Version) -> OwnBroker {
        if let Ok(bin) = std::env::var("MQTT_TEST_MOSQUITTO_BIN") {
            let dir = std::env::temp_dir().join(client_id("own-mosquitto"));
            std::fs::create_dir_all(&dir).expect("a directory for mosquitto");
            let address: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port");
            let user = Command::new("id").arg("-un").output().expect("id -un");
            let conf = format!(
                "listener {} 127.0.0.1\nallow_anonymous true\nuser {}\n",
                address.port(),
                String::from_utf8_lossy(&user.stdout).trim()
            );
            let conf_path = dir.join("mosquitto.conf");
            std::fs::write(&conf_path, conf).expect("mosquitto.conf");
            let child = run_mosquitto(&bin, &conf_path, address);
            return OwnBroker {
                address,
                version,
                mosquitto: Some((bin, conf_path, child)),
                front: None,
            };
        }
        assert!(
            !support::broker().external,
            "MQTT_TEST_MOSQUITTO_BIN must be set with MQTT_TEST_TCP"
        );
        let front = front(support::restart_broker(version));
        OwnBroker {
            address: front.address,
            version,
            mosquitto: None,
            front: Some(front),
        }
    }

    /// Stops the broker for good: connections to it break, and new ones are refused.
    pub fn stop(&mut self) {
        if let Some((_, _, child)) = &mut self.mosquitto {
            stop(child);
        } else if let Some(front) = self.front.take() {
            front.cut();
            drop(front);
        }
    }

    /// Stops the broker and starts it again, empty, where clients reach it.
    pub fn restart(&mut self) {
        if let Some((bin, conf, child)) = &mut self.mosquitto {
            stop(child);
            *child = run_mosquitto(bin, conf, self.address);
        } else if let Some(front) = &self.front {
            front.set_upstream(support::restart_broker(self.version));
            front.cut();
        }
    }
}

fn run_mosquitto(bin: &str, conf: &std::path::Path, address: SocketAddr) -> Child {
    let mut child = Command::new(bin)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mosquitto");
    for _ in 0..200 {
        if std::net::TcpStream::connect(address).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    stop(&mut child);
    panic!("mosquitto does not listen on {address}");
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        if let Some((_, conf, child)) = &mut self.mosquitto {
            stop(child);
            if let Some(dir) = conf.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

//! A real embedded TCP/IP stack on the host: embassy-net (smoltcp doing TCP) over a Linux tap
//! device, talking to mosquitto.
//!
//! To keep all traffic inside the test, the test runs itself again in a network namespace of
//! its own (`unshare -n`, as root), creates the tap device there (192.168.69.1/24 on the
//! kernel's side, where a mosquitto of the test's own listens; the client's smoltcp stack is
//! 192.168.69.2), and talks only to those addresses. Where a namespace can't be made (not
//! root, no `unshare`, `ip` or `/dev/net/tun`, no mosquitto), it prints why and passes without
//! running; with `MQTT_TAP_REQUIRED=1` (as `.ci/run` sets) that is a failure instead.

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use embassy_net::{IpEndpoint, Ipv4Address, Ipv4Cidr, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use mqtt_embassy::{Client, QoS, TcpConnector, Version};
use support::{WAIT, receive, run, settings};

const INSIDE: &str = "MQTT_EMBASSY_TAP_INSIDE";
const TAP: &str = "tap-mqtt";
const TEST: &str = "embassy_net_over_a_tap_device_talks_to_mosquitto";

#[test]
fn embassy_net_over_a_tap_device_talks_to_mosquitto() {
    if std::env::var_os(INSIDE).is_some() {
        inside();
        return;
    }
    if let Err(reason) = can_run() {
        if std::env::var("MQTT_TAP_REQUIRED").as_deref() == Ok("1") {
            panic!("the tap test must run (MQTT_TAP_REQUIRED=1), but: {reason}");
        }
        println!("tap test skipped: {reason}");
        return;
    }
    let status = Command::new("unshare")
        .args(["--net", "--"])
        .arg(std::env::current_exe().expect("the test binary"))
        .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .env("MQTT_EMBASSY_MOSQUITTO", mosquitto().expect("checked"))
        .status()
        .expect("run unshare");
    assert!(
        status.success(),
        "the test in its network namespace failed: {status}"
    );
}

/// Why the test can't make its namespace here, if it can't.
fn can_run() -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err("network namespaces are Linux only".into());
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("`id -u`: {e}"))?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("not root: `unshare --net` and tap devices need it".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err("no /dev/net/tun".into());
    }
    for tool in ["unshare", "ip"] {
        if which(tool).is_none() {
            return Err(format!("no `{tool}` on PATH"));
        }
    }
    mosquitto().ok_or("no mosquitto (MQTT_TEST_MOSQUITTO_BIN, or on PATH or in /usr/sbin)")?;
    let probe = Command::new("unshare")
        .args([
            "--net", "--", "ip", "tuntap", "add", "dev", "probe0", "mode", "tap",
        ])
        .output()
        .map_err(|e| format!("`unshare --net`: {e}"))?;
    if !probe.status.success() {
        return Err(format!(
            "can't make a namespace with a tap device: {}",
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    Ok(())
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

fn mosquitto() -> Option<PathBuf> {
    match std::env::var_os("MQTT_TEST_MOSQUITTO_BIN") {
        Some(bin) => Some(PathBuf::from(bin)),
        None => which("mosquitto"),
    }
}

fn sh(args: &[&str]) {
    let status = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect(args[0]);
    assert!(status.success(), "{args:?}: {status}");
}

/// mosquitto in the namespace; killed when dropped.
struct Broker {
    child: Child,
    dir: PathBuf,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_mosquitto() -> Broker {
    let dir = std::env::temp_dir().join(format!("mqtt-embassy-tap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("mosquitto.conf");
    let mut file = std::fs::File::create(&conf).unwrap();
    writeln!(
        file,
        "listener 1883 192.168.69.1\nallow_anonymous true\npersistence false\nuser root\nlog_dest file {}",
        dir.join("mosquitto.log").display()
    )
    .unwrap();
    let bin = std::env::var("MQTT_EMBASSY_MOSQUITTO").unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mosquitto");
    // Killed and waited for on every path, the panic below included.
    let broker = Broker { child, dir };
    for _ in 0..200 {
        if std::net::TcpStream::connect("192.168.69.1:1883").is_ok() {
            return broker;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("mosquitto does not listen on 192.168.69.1:1883");
}

/// In the namespace: the tap device, mosquitto, and the client on embassy-net.
fn inside() {
    sh(&["ip", "link", "set", "lo", "up"]);
    sh(&["ip", "tuntap", "add", "dev", TAP, "mode", "tap"]);
    sh(&["ip", "addr", "add", "192.168.69.1/24", "dev", TAP]);
    sh(&["ip", "link", "set", TAP, "up"]);
    let _broker = start_mosquitto();

    run(Duration::from_secs(60), async {
        let device = TunTapDevice::new(TAP).expect("open the tap device");
        let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
            address: Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 2), 24),
            gateway: None,
            dns_servers: Default::default(),
        });
        let resources = Box::leak(Box::new(StackResources::<4>::new()));
        let (stack, mut runner) = embassy_net::new(device, config, resources, 0x5eed);
        tokio::task::spawn_local(async move { runner.run().await });
        stack.wait_config_up().await;
        let broker = IpEndpoint::new(Ipv4Address::new(192, 168, 69, 1).into(), 1883);

        for version in [Version::V311, Version::V5] {
            let rx: &'static mut [u8] = Box::leak(vec![0; 4096].into_boxed_slice());
            let tx: &'static mut [u8] = Box::leak(vec![0; 4096].into_boxed_slice());
            let connector = TcpConnector::new(stack, broker, rx, tx);
            let mut config = support::config(version, &format!("tap-{}", version as u8));
            config.clean_start = false;
            if version == Version::V5 {
                config.connect_properties.session_expiry_interval = Some(60);
            }
            let (client, _default, connection) = Client::new(config, settings(), 11, connector);
            let task = tokio::task::spawn_local(connection.run());
            tokio::time::timeout(WAIT, client.connected())
                .await
                .unwrap()
                .unwrap();
            let topic = format!("tap/{}", version as u8);
            let mut messages = Vec::new();
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let filter = format!("{topic}/{}", qos as u8);
                messages.push(client.subscription(&filter, qos).await.unwrap());
            }
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let published = client
                    .publish(
                        &format!("{topic}/{}", qos as u8),
                        vec![qos as u8; 2000],
                        qos,
                        false,
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{version} {qos:?}: {e}"));
                assert_eq!(published.qos, qos);
            }
            for (stream, qos) in messages.iter_mut().zip([0u8, 1, 2]) {
                let got = receive(stream, 1).await;
                assert_eq!(got[0].qos as u8, qos, "{version}");
                assert_eq!(
                    got[0].payload.len(),
                    2000,
                    "{version}: a payload over smoltcp's MSS"
                );
            }
            // Reconnect (the smoltcp socket is dropped and a new one opened) and go on.
            let mut events = client.events();
            client.reconnect();
            loop {
                let event = tokio::time::timeout(WAIT, events.recv())
                    .await
                    .unwrap()
                    .unwrap();
                if let mqtt_embassy::ClientEvent::Connected(connected) = event {
                    assert!(
                        connected.session_present,
                        "{version}: the session was resumed"
                    );
                    break;
                }
            }
            client
                .publish(&format!("{topic}/1"), "again", QoS::AtLeastOnce, false)
                .await
                .unwrap();
            assert_eq!(
                receive(&mut messages[1], 1).await[0].payload_str(),
                Some("again")
            );
            client.disconnect().await.unwrap();
            assert!(task.await.unwrap().is_ok(), "{version}");
            println!("tap: {version} over embassy-net and smoltcp: ok");
        }
    });
}

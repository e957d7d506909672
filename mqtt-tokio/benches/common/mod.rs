//! What the end-to-end benchmarks of mqtt-tokio and mqtt-blocking share: the messages, the
//! tally of what arrived, the report lines, and the rumqttc settings they compare against.
//! mqtt-blocking includes this file with `#[path]`.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mqtt_proto::QoS;

/// Payload size of every message.
pub const PAYLOAD: usize = 64;
/// The in-flight window, for both clients: mosquitto's limit for MQTT 3.1.1 clients.
pub const WINDOW: u16 = 20;

/// A payload carrying sequence number `n`.
pub fn payload(n: u32) -> Vec<u8> {
    let mut p = vec![0u8; PAYLOAD];
    p[..4].copy_from_slice(&n.to_be_bytes());
    p
}

/// Which sequence numbers arrived, each counted once.
pub struct Tally {
    seen: Vec<bool>,
    /// Distinct messages received.
    pub received: u32,
}

impl Tally {
    pub fn new(messages: u32) -> Tally {
        Tally {
            seen: vec![false; messages as usize],
            received: 0,
        }
    }

    pub fn record(&mut self, payload: &[u8]) {
        let n = u32::from_be_bytes(payload[..4].try_into().expect("a sequence number")) as usize;
        if !std::mem::replace(&mut self.seen[n], true) {
            self.received += 1;
        }
    }

    pub fn complete(&self) -> bool {
        self.received as usize == self.seen.len()
    }
}

/// CPU time this process has used, as the kernel splits it: running the program (user) and
/// in system calls on its behalf (system), which for a client on loopback includes much of the
/// peer's TCP receive path.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    pub user: Duration,
    pub system: Duration,
}

impl Cpu {
    pub fn now() -> Cpu {
        use nix::sys::resource::{UsageWho, getrusage};
        let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
        let duration = |t: nix::sys::time::TimeVal| {
            Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
        };
        Cpu {
            user: duration(usage.user_time()),
            system: duration(usage.system_time()),
        }
    }

    /// The CPU time used since `start`.
    pub fn since(start: Cpu) -> Cpu {
        let now = Cpu::now();
        Cpu {
            user: now.user.saturating_sub(start.user),
            system: now.system.saturating_sub(start.system),
        }
    }
}

/// The measured part of a run: wall time, CPU time and, in a child process started by
/// [`count_syscalls`], the system calls perf counts while it lasts.
pub struct Measure {
    start: Instant,
    cpu: Cpu,
}

impl Measure {
    pub fn start() -> Measure {
        perf_control("enable");
        Measure {
            start: Instant::now(),
            cpu: Cpu::now(),
        }
    }

    /// The run's figures: `received` of `messages` arrived.
    pub fn stop(self, messages: u32, received: u32) -> Run {
        let (elapsed, cpu) = (self.start.elapsed(), Cpu::since(self.cpu));
        perf_control("disable");
        Run {
            messages,
            received,
            elapsed,
            cpu,
        }
    }
}

/// Offered rates of the fixed-rate runs, messages per second. Each QoS also runs at the slower
/// client's unpaced rate, measured just before.
pub const RATES: [u32; 2] = [5_000, 20_000];
/// How long a fixed-rate run offers messages.
pub const PACED_SECONDS: u32 = 2;
/// Runs per client, QoS and rate in the fixed-rate part.
pub const PACED_ROUNDS: usize = 3;

/// How many messages a fixed-rate run at `rate` offers.
pub fn paced_messages(rate: u32) -> u32 {
    rate * PACED_SECONDS
}

/// When message `n` is due in a run offering `rate` messages per second from `start`.
pub fn due(start: Instant, rate: u32, n: u32) -> Instant {
    start + Duration::from_secs_f64(f64::from(n) / f64::from(rate))
}

/// Waits until message `n` is due, when `rate` paces the run (tokio's timer: 1 ms steps, so
/// the messages of each millisecond go out together).
pub async fn pace(start: Instant, rate: Option<u32>, n: u32) {
    if let Some(rate) = rate {
        let at = due(start, rate, n);
        if at > Instant::now() {
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

/// Sends a command (`enable`, `disable`) to the perf that started this process, if one did
/// ([`count_syscalls`]), and waits for its acknowledgement.
fn perf_control(command: &str) {
    use std::io::{BufRead, Write};
    let (Ok(ctl), Ok(ack)) = (
        std::env::var("MQTT_BENCH_PERF_CTL"),
        std::env::var("MQTT_BENCH_PERF_ACK"),
    ) else {
        return;
    };
    let mut ctl = std::fs::OpenOptions::new()
        .write(true)
        .open(ctl)
        .expect("perf's control fifo");
    writeln!(ctl, "{command}").expect("perf takes the command");
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::open(ack).expect("perf's ack fifo"))
        .read_line(&mut line)
        .expect("perf acknowledges");
}

/// Runs this benchmark again with `args` under `perf stat`, counting system calls
/// (`raw_syscalls:sys_enter`, every thread) only while the child's [`Measure`] runs. `None`
/// when perf is missing or can't count them.
pub fn count_syscalls(args: &[String]) -> Option<u64> {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("mqtt-bench-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let (ctl, ack, out) = (dir.join("ctl"), dir.join("ack"), dir.join("out"));
    for fifo in [&ctl, &ack] {
        let _ = std::fs::remove_file(fifo);
        Command::new("mkfifo").arg(fifo).status().ok()?;
    }
    let status = Command::new("perf")
        .args([
            "stat",
            "-x,",
            "-e",
            "raw_syscalls:sys_enter",
            "-D",
            "-1",
            "-o",
        ])
        .arg(&out)
        .arg(format!(
            "--control=fifo:{},{}",
            ctl.display(),
            ack.display()
        ))
        .arg("--")
        .arg(std::env::current_exe().ok()?)
        .args(args)
        .env("MQTT_BENCH_PERF_CTL", &ctl)
        .env("MQTT_BENCH_PERF_ACK", &ack)
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    let report = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    if !status.success() {
        return None;
    }
    report
        .lines()
        .find(|l| l.contains("raw_syscalls:sys_enter"))
        .and_then(|l| l.split(',').next())
        .and_then(|n| n.trim().parse().ok())
}

/// `Some(args)` after `--paced` when this process was started by [`count_syscalls`]: which
/// client, QoS, rate and message count to run once.
pub fn paced_argument() -> Option<(String, QoS, u32, u32)> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == "--paced")?;
    let field = |k: usize| args.get(i + k).cloned().unwrap_or_default();
    let qos = match field(2).as_str() {
        "0" => QoS::AtMostOnce,
        "1" => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    };
    Some((
        field(1),
        qos,
        field(3).parse().unwrap_or(0),
        field(4).parse().unwrap_or(0),
    ))
}

/// What one throughput run measured.
pub struct Run {
    pub messages: u32,
    pub received: u32,
    pub elapsed: Duration,
    pub cpu: Cpu,
}

/// Throughput runs per client and QoS; the clients take turns and the medians are reported.
pub const ROUNDS: usize = 5;

impl Run {
    fn rate(&self) -> f64 {
        f64::from(self.received) / self.elapsed.as_secs_f64()
    }

    /// `time` spread over this run's messages, in microseconds.
    fn per_message(&self, time: Duration) -> f64 {
        time.as_secs_f64() * 1e6 / f64::from(self.messages)
    }

    fn cpu_per_message(&self) -> f64 {
        self.per_message(self.cpu.user + self.cpu.system)
    }

    /// Prints the median rate and the median CPU time per message of `runs` (with that run's
    /// split into user and system time), and every message lost in any of them.
    pub fn report(client: &str, qos: QoS, runs: &mut [Run]) {
        let messages = runs[0].messages;
        let lost: u32 = runs.iter().map(|r| r.messages - r.received).sum();
        runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
        let rate = runs[runs.len() / 2].rate();
        runs.sort_by(|a, b| a.cpu_per_message().total_cmp(&b.cpu_per_message()));
        let median = &runs[runs.len() / 2];
        println!(
            "{client:<8} {qos:<12?} {messages:>7} msgs  {rate:>9.0} msg/s  {:>6.2} us CPU/msg \
             ({:.2} user + {:.2} system)  lost {lost}  (medians of {})",
            median.cpu_per_message(),
            median.per_message(median.cpu.user),
            median.per_message(median.cpu.system),
            runs.len(),
        );
    }
}

impl Run {
    /// The median of `runs` of one client at one offered rate: the rate achieved and the CPU
    /// time per message split into user and system time, with the system calls per message
    /// counted in a separate run (`syscalls`, if counted).
    pub fn report_paced(client: &str, qos: QoS, offered: u32, runs: &mut [Run]) {
        let lost: u32 = runs.iter().map(|r| r.messages - r.received).sum();
        runs.sort_by(|a, b| a.cpu_per_message().total_cmp(&b.cpu_per_message()));
        let median = &runs[runs.len() / 2];
        println!(
            "{client:<8} {qos:<12?} offered {offered:>6}/s  achieved {:>7.0}/s  {:>6.2} us CPU/msg \
             ({:.2} user + {:.2} system)  lost {lost}  (median of {})",
            median.rate(),
            median.cpu_per_message(),
            median.per_message(median.cpu.user),
            median.per_message(median.cpu.system),
            runs.len(),
        );
    }

    /// The unpaced rate of this run, messages per second.
    pub fn achieved(&self) -> u32 {
        self.rate() as u32
    }
}

/// Prints the system calls per message of `client` at each rate, counted by perf in a child
/// process per run ([`count_syscalls`]).
pub fn report_syscalls(client: &str, qos: QoS, rates: &[u32]) {
    for &rate in rates {
        let messages = paced_messages(rate);
        let args = [
            "--paced".to_owned(),
            client.to_owned(),
            (qos as u8).to_string(),
            rate.to_string(),
            messages.to_string(),
        ];
        match count_syscalls(&args) {
            Some(calls) => println!(
                "{client:<8} {qos:<12?} offered {rate:>6}/s  {:>6.2} system calls/msg \
                 (perf, a separate run)",
                calls as f64 / f64::from(messages)
            ),
            None => println!("{client:<8} {qos:<12?} system calls not counted (no perf?)"),
        }
    }
}

/// rumqttc's options for the broker at `address`, with the same window as ours.
pub fn rumqttc_options(id: &str, address: SocketAddr) -> rumqttc::MqttOptions {
    let mut options = rumqttc::MqttOptions::new(id, address.ip().to_string(), address.port());
    options.set_keep_alive(Duration::from_secs(60));
    options.set_inflight(WINDOW);
    options.set_max_packet_size(1 << 20, 1 << 20);
    options
}

pub fn rumqttc_qos(qos: QoS) -> rumqttc::QoS {
    match qos {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

/// Prints the median and 99th percentile of round-trip times, after `label`.
pub fn report_latency(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    println!(
        "{label}: p50 {:.1} us  p99 {:.1} us  ({} samples)",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        times.len()
    );
}

/// How many more idle clients [`IdleRss`] connects after the first, to see what each costs
/// once the code they run is resident.
pub const MORE_IDLE_CLIENTS: usize = 50;

/// Resident memory in KiB, from `/proc/self/status`: all of it, and the anonymous part (heap
/// and stacks). The rest is mostly the program's code, read in once as it first runs and
/// shared with every other client in the process.
#[derive(Debug, Clone, Copy)]
pub struct Rss {
    pub total: u64,
    pub anonymous: u64,
}

impl Rss {
    pub fn now() -> Rss {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        Rss {
            total: field("VmRSS:"),
            anonymous: field("RssAnon:"),
        }
    }
}

/// What a child process started by [`report_idle_rss`] measured: resident memory before any
/// client, after the first idle connected client, and after [`MORE_IDLE_CLIENTS`] more.
pub struct IdleRss {
    pub before: Rss,
    pub first: Rss,
    pub more: Rss,
}

impl IdleRss {
    /// Prints the figures for [`report_idle_rss`] to read.
    pub fn print(&self) {
        println!(
            "{} {} {}",
            self.first.total.saturating_sub(self.before.total),
            self.first.anonymous.saturating_sub(self.before.anonymous),
            self.more.total.saturating_sub(self.first.total) / MORE_IDLE_CLIENTS as u64,
        );
    }
}
/// One throughput run of rumqttc (its async client, on the current tokio runtime): a
/// subscriber and a publisher on `topic`, `messages` messages at `qos`.
pub async fn rumqttc_run(
    qos: QoS,
    messages: u32,
    rate: Option<u32>,
    broker: SocketAddr,
    topic: &str,
    [subscriber_id, publisher_id]: [&str; 2],
) -> Run {
    use rumqttc::{AsyncClient, Event, Packet};
    let (subscriber, mut sub_loop) = AsyncClient::new(rumqttc_options(subscriber_id, broker), 4096);
    subscriber
        .subscribe(topic, rumqttc_qos(qos))
        .await
        .expect("subscribe");
    // Until SUBACK, then count publishes.
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = sub_loop.poll().await.expect("subscriber") {
            break;
        }
    }
    let (publisher, mut pub_loop) = AsyncClient::new(rumqttc_options(publisher_id, broker), 4096);

    let measure = Measure::start();
    let start = Instant::now();
    let receiver = tokio::spawn(async move {
        let mut tally = Tally::new(messages);
        while !tally.complete() {
            match tokio::time::timeout(Duration::from_secs(5), sub_loop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::Publish(p)))) => tally.record(&p.payload),
                Ok(Ok(_)) => {}
                _ => break,
            }
        }
        tally.received
    });
    // The publisher's event loop completes its QoS flows; count the final acknowledgements.
    let acks = tokio::spawn(async move {
        let mut done = 0;
        let final_ack = |packet: &Packet| match qos {
            QoS::AtMostOnce => false,
            QoS::AtLeastOnce => matches!(packet, Packet::PubAck(_)),
            _ => matches!(packet, Packet::PubComp(_)),
        };
        loop {
            match tokio::time::timeout(Duration::from_secs(5), pub_loop.poll()).await {
                Ok(Ok(Event::Incoming(p))) if final_ack(&p) => {
                    done += 1;
                    if done == messages {
                        break;
                    }
                }
                Ok(Ok(Event::Outgoing(rumqttc::Outgoing::Publish(_))))
                    if qos == QoS::AtMostOnce =>
                {
                    done += 1;
                    if done == messages {
                        break;
                    }
                }
                Ok(Ok(_)) => {}
                _ => break,
            }
        }
        pub_loop
    });
    for n in 0..messages {
        pace(start, rate, n).await;
        publisher
            .publish(topic, rumqttc_qos(qos), false, payload(n))
            .await
            .expect("queued");
    }
    let received = receiver.await.expect("receiver");
    let _pub_loop = acks.await.expect("publisher loop");
    measure.stop(messages, received)
}

/// Whether the command line asks for `part` of the benchmark: it names it, or names no part.
/// Cargo's own `--bench` flag is not a part.
pub fn wanted(part: &str) -> bool {
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    parts.is_empty() || parts.iter().any(|p| p == part)
}

/// `Some(client)` when this process was started as `--idle-rss CLIENT` by
/// [`report_idle_rss`].
pub fn idle_rss_argument() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == "--idle-rss")?;
    Some(args.get(i + 1).cloned().unwrap_or_else(|| "ours".into()))
}

/// Runs this benchmark again as a child process per client, each measuring idle connected
/// clients (so the allocator's state from the runs before doesn't blur it), and prints what
/// they report: the resident memory the first client adds, its anonymous part (heap and
/// stacks; the rest is code pages, paid once per process), and what each further client adds.
pub fn report_idle_rss() {
    let exe = std::env::current_exe().expect("own path");
    for which in ["ours", "rumqttc"] {
        let output = std::process::Command::new(&exe)
            .args(["--idle-rss", which])
            .output()
            .expect("child run");
        let report = String::from_utf8_lossy(&output.stdout);
        let figures: Vec<&str> = report.split_whitespace().collect();
        match figures.as_slice() {
            [total, anonymous, each] => println!(
                "{which:<8} idle connected client: +{total} KiB RSS (+{anonymous} KiB \
                 anonymous); each of {MORE_IDLE_CLIENTS} more: +{each} KiB"
            ),
            _ => println!("{which:<8} idle connected client: no figures ({report:?})"),
        }
    }
}

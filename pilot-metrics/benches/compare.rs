//! Side-by-side comparison with Debian's prometheus-node-exporter.
//!
//! Runs `pilot-metrics-exporter` and node_exporter (with its default
//! collectors, and restricted to the collectors that cover what Pilot
//! collects) at the same time, scrapes each at the same interval for the
//! same time, and prints a table: resident memory after warm-up, CPU time
//! per collection (collection plus exposition plus serving the scrape), and
//! CPU share at a 5 s interval.
//!
//! `cargo bench -p pilot-metrics --bench compare`. Tunables (environment):
//! `PILOT_BENCH_INTERVAL_MS` (phase 1 interval, default 1000),
//! `PILOT_BENCH_SECONDS` (phase 1 length, default 60),
//! `PILOT_BENCH_SHARE_SECONDS` (phase 2 length at 5 s, default 60).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::time::{clock_getcpuclockid, clock_gettime};
use nix::unistd::Pid;

/// node_exporter restricted to what Pilot's collector covers.
const SAME_SCOPE: &[&str] = &[
    "--collector.disable-defaults",
    "--collector.cpu",
    "--collector.diskstats",
    "--collector.filesystem",
    "--collector.loadavg",
    "--collector.meminfo",
    "--collector.netdev",
    "--collector.processes",
    "--collector.stat",
];

/// One running exporter.
struct Subject {
    name: &'static str,
    child: Child,
    addr: String,
    /// Reads the number of collections made so far from a scrape, for
    /// exporters that collect on their own timer; `None`: one per scrape.
    counts_itself: bool,
    scrapes: u64,
    series: usize,
    last_body: String,
}

impl Subject {
    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// CPU time used so far (all threads, including ended ones).
    fn cpu(&self) -> Duration {
        let clock = clock_getcpuclockid(self.pid()).expect("cpu clock of the exporter");
        let t = clock_gettime(clock).expect("read the exporter's cpu clock");
        Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
    }

    /// A field of /proc/<pid>/status in kB.
    fn status_kb(&self, field: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = text.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    fn scrape(&mut self) {
        let mut stream = TcpStream::connect(&self.addr).expect("connect to the exporter");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        self.series = body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
        self.last_body = body.to_owned();
        self.scrapes += 1;
    }

    /// Collections made so far.
    fn collections(&self) -> u64 {
        if !self.counts_itself {
            return self.scrapes;
        }
        self.last_body
            .lines()
            .find(|l| l.starts_with("pilot_collector_collections_total"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until_up(addr: &str) {
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{addr} never came up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start_pilot(interval: Duration) -> Subject {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_pilot-metrics-exporter"))
        .args([
            "--listen",
            &addr,
            "--interval",
            &interval.as_secs_f64().to_string(),
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("start pilot-metrics-exporter");
    wait_until_up(&addr);
    Subject {
        name: "pilot-metrics",
        child,
        addr,
        counts_itself: true,
        scrapes: 0,
        series: 0,
        last_body: String::new(),
    }
}

fn start_node_exporter(name: &'static str, extra: &[&str]) -> Subject {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new("prometheus-node-exporter")
        .arg(format!("--web.listen-address={addr}"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus-node-exporter");
    wait_until_up(&addr);
    Subject {
        name,
        child,
        addr,
        counts_itself: false,
        scrapes: 0,
        series: 0,
        last_body: String::new(),
    }
}

fn start_all(interval: Duration) -> Vec<Subject> {
    vec![
        start_pilot(interval),
        start_node_exporter("node_exporter (defaults)", &[]),
        start_node_exporter("node_exporter (same scope)", SAME_SCOPE),
    ]
}

/// Scrapes every subject once per `interval` for `length`.
fn scrape_for(subjects: &mut [Subject], interval: Duration, length: Duration) {
    let start = Instant::now();
    let mut next = start;
    while start.elapsed() < length {
        for s in subjects.iter_mut() {
            s.scrape();
        }
        next += interval;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

/// What was measured of one subject.
struct Figures {
    rss_kb: u64,
    peak_kb: u64,
    cpu_per_collection: Duration,
    collections: u64,
    series: usize,
    share_percent: f64,
}

fn env_secs(name: &str, default: f64) -> Duration {
    let v = std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Duration::from_secs_f64(v)
}

fn main() {
    let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/setup/metrics-tools.sh");
    let status = Command::new("bash")
        .arg(&setup)
        .status()
        .expect("run metrics-tools.sh");
    assert!(
        status.success(),
        "{} failed; node_exporter is needed",
        setup.display()
    );

    let interval = env_secs("PILOT_BENCH_INTERVAL_MS", 1000.0) / 1000;
    let length = env_secs("PILOT_BENCH_SECONDS", 60.0);
    let share_length = env_secs("PILOT_BENCH_SHARE_SECONDS", 60.0);
    let warm_up = interval * 5;

    println!("phase 1: every {interval:?} for {length:?} after {warm_up:?} of warm-up");
    let mut subjects = start_all(interval);
    scrape_for(&mut subjects, interval, warm_up);
    let start: Vec<(Duration, u64)> = subjects
        .iter()
        .map(|s| (s.cpu(), s.collections()))
        .collect();
    let rss: Vec<u64> = subjects.iter().map(|s| s.status_kb("VmRSS:")).collect();
    scrape_for(&mut subjects, interval, length);
    let mut figures: Vec<Figures> = subjects
        .iter()
        .zip(start)
        .zip(rss)
        .map(|((s, (cpu0, n0)), rss_kb)| {
            let collections = s.collections() - n0;
            Figures {
                rss_kb: rss_kb.max(s.status_kb("VmRSS:")),
                peak_kb: s.status_kb("VmHWM:"),
                cpu_per_collection: (s.cpu() - cpu0) / collections.max(1) as u32,
                collections,
                series: s.series,
                share_percent: 0.0,
            }
        })
        .collect();
    let names: Vec<&str> = subjects.iter().map(|s| s.name).collect();
    drop(subjects);

    let five = Duration::from_secs(5);
    println!("phase 2: every 5 s for {share_length:?} after 10 s of warm-up");
    let mut subjects = start_all(five);
    scrape_for(&mut subjects, five, Duration::from_secs(10));
    let started = Instant::now();
    let cpu0: Vec<Duration> = subjects.iter().map(Subject::cpu).collect();
    scrape_for(&mut subjects, five, share_length);
    let wall = started.elapsed().as_secs_f64();
    for ((f, s), c0) in figures.iter_mut().zip(&subjects).zip(cpu0) {
        f.share_percent = (s.cpu() - c0).as_secs_f64() / wall * 100.0;
    }
    drop(subjects);

    print_table(&names, &figures);
}

fn print_table(names: &[&str], f: &[Figures]) {
    let mb = |kb: u64| kb as f64 / 1024.0;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!();
    println!("{:<34}{:>16}{:>26}{:>28}", "", names[0], names[1], names[2]);
    let row = |label: &str, values: [String; 3]| {
        println!(
            "{label:<34}{:>16}{:>26}{:>28}",
            values[0], values[1], values[2]
        );
    };
    row(
        "RSS after warm-up (MB)",
        [0, 1, 2].map(|i| format!("{:.1}", mb(f[i].rss_kb))),
    );
    row(
        "peak RSS (MB)",
        [0, 1, 2].map(|i| format!("{:.1}", mb(f[i].peak_kb))),
    );
    row(
        "CPU per collection (ms)",
        [0, 1, 2].map(|i| format!("{:.3}", ms(f[i].cpu_per_collection))),
    );
    row(
        "collections measured",
        [0, 1, 2].map(|i| f[i].collections.to_string()),
    );
    row("series exposed", [0, 1, 2].map(|i| f[i].series.to_string()));
    row(
        "CPU share at 5 s (% of a core)",
        [0, 1, 2].map(|i| format!("{:.4}", f[i].share_percent)),
    );
    println!();
    for (i, name) in names.iter().enumerate().skip(1) {
        println!(
            "pilot-metrics / {name}: RSS {:.2}x, CPU per collection {:.3}x",
            f[0].rss_kb as f64 / f[i].rss_kb as f64,
            f[0].cpu_per_collection.as_secs_f64() / f[i].cpu_per_collection.as_secs_f64()
        );
    }
    println!(
        "goals: RSS <= 8 MB ({:.1} MB) and <= 0.5x node_exporter; CPU per collection <= 0.5x; CPU share <= 0.05% ({:.4}%)",
        mb(f[0].rss_kb),
        f[0].share_percent
    );
}

//! The collector's host figures against the kernel's own numbers, read by
//! the test around the same collection.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;
use pilot_metrics::{Collector, CollectorOptions, Snapshot};

use crate::common::*;

fn collector() -> Collector {
    Collector::new(CollectorOptions::default()).unwrap()
}

/// A thread spinning on CPU 0 until dropped.
struct BusyLoop {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BusyLoop {
    fn on_cpu0() -> BusyLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut set = CpuSet::new();
            set.set(0).unwrap();
            sched_setaffinity(Pid::from_raw(0), &set).unwrap();
            let mut n = 0u64;
            while !flag.load(Ordering::Relaxed) {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        });
        BusyLoop {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for BusyLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn cpu_usage_matches_proc_stat_under_a_busy_loop() {
    let _busy = BusyLoop::on_cpu0();
    std::thread::sleep(Duration::from_millis(200));
    let mut c = collector();
    c.collect(&[]).unwrap();
    let before = cpu_ticks();
    std::thread::sleep(Duration::from_millis(1500));
    let snap = c.collect(&[]).unwrap().clone();
    let after = cpu_ticks();

    let cpu = snap.cpu.expect("second collection has CPU usage");
    let expected_total = busy_percent(&before["cpu"], &after["cpu"]);
    let cpu0 = cpu.cores.iter().find(|(i, _)| *i == 0).unwrap().1;
    let expected_cpu0 = busy_percent(&before["cpu0"], &after["cpu0"]);
    println!(
        "total: collector {:.2} kernel {expected_total:.2}; cpu0: collector {:.2} kernel {expected_cpu0:.2}",
        cpu.total.usage(),
        cpu0.usage()
    );
    assert!(
        cpu0.usage() >= 90.0,
        "cpu0 runs a busy loop: {}",
        cpu0.usage()
    );
    assert!((cpu0.usage() - expected_cpu0).abs() < 3.0);
    assert!((cpu.total.usage() - expected_total).abs() < 3.0);
    assert!(cpu.total.usage() >= 100.0 / snap.cpu_cores as f64 - 3.0);
    // Each of the eight modes is rounded to 0.01, so within 0.005 of its share.
    let modes: f64 = cpu.total.named().iter().map(|(_, v)| v).sum();
    assert!(
        (modes - 100.0).abs() <= 0.04 + 1e-9,
        "modes add up to {modes}"
    );
    assert_eq!(snap.cpu_cores, before.len() - 1);
}

/// Memory from one collection, compared with `/proc/meminfo` read just
/// before and just after it: a figure that did not change across the
/// collection must match exactly, one that did must lie between the two.
#[test]
fn memory_matches_proc_meminfo_at_the_sampled_instant() {
    let mut c = collector();
    let mut exact_rounds = 0;
    for _ in 0..50 {
        let before = meminfo();
        let m = c.collect(&[]).unwrap().memory;
        let after = meminfo();
        let check =
            |name: &str,
             got: u64,
             key: &dyn Fn(&std::collections::BTreeMap<String, u64>) -> u64| {
                let (b, a) = (key(&before), key(&after));
                if b == a {
                    assert_eq!(got, b, "{name}");
                } else {
                    assert!(
                        got >= b.min(a) && got <= b.max(a),
                        "{name}: {got} not within {b}..{a}"
                    );
                }
                b == a
            };
        let mut stable = true;
        stable &= check("total", m.total, &|i| i["MemTotal"]);
        stable &= check("free", m.free, &|i| i["MemFree"]);
        stable &= check("available", m.available, &|i| i["MemAvailable"]);
        stable &= check("buffers", m.buffers, &|i| i["Buffers"]);
        stable &= check("cached", m.cached, &|i| i["Cached"] + i["SReclaimable"]);
        stable &= check("swap total", m.swap_total, &|i| i["SwapTotal"]);
        stable &= check("swap free", m.swap_free, &|i| i["SwapFree"]);
        assert_eq!(m.used, m.total - m.available);
        assert_eq!(m.swap_used, m.swap_total - m.swap_free);
        if stable {
            exact_rounds += 1;
        }
    }
    println!("{exact_rounds} of 50 collections saw /proc/meminfo unchanged and matched it exactly");
}

#[test]
fn network_rates_match_counter_deltas_under_loopback_traffic() {
    const DATAGRAMS: u64 = 300;
    const PAYLOAD: usize = 1200;
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut c = collector();
    let first = c.collect(&[]).unwrap().clone();
    let lo_before = first
        .network
        .iter()
        .find(|n| n.name == "lo")
        .unwrap()
        .counters;

    let mut buf = [0u8; PAYLOAD];
    for _ in 0..DATAGRAMS {
        sender
            .send_to(&[7u8; PAYLOAD], receiver.local_addr().unwrap())
            .unwrap();
        assert_eq!(receiver.recv(&mut buf).unwrap(), PAYLOAD);
    }

    let kernel_before = net_counters("lo");
    let snap = c.collect(&[]).unwrap().clone();
    let kernel_after = net_counters("lo");
    let lo = snap.network.iter().find(|n| n.name == "lo").unwrap();
    let counters = lo.counters;
    for (got, b, a) in [
        (counters.rx_bytes, kernel_before[0], kernel_after[0]),
        (counters.rx_packets, kernel_before[1], kernel_after[1]),
        (counters.tx_bytes, kernel_before[2], kernel_after[2]),
        (counters.tx_packets, kernel_before[3], kernel_after[3]),
    ] {
        assert!(b <= got && got <= a, "{got} not within {b}..{a}");
    }
    let rx_delta = counters.rx_bytes - lo_before.rx_bytes;
    let packets_delta = counters.rx_packets - lo_before.rx_packets;
    assert!(
        rx_delta >= DATAGRAMS * PAYLOAD as u64,
        "sent {} bytes, counted {rx_delta}",
        DATAGRAMS * PAYLOAD as u64
    );
    assert!(packets_delta >= DATAGRAMS);

    let secs = snap.elapsed.unwrap().as_secs_f64();
    let rates = lo.rates.unwrap();
    // Rates are rounded to 0.01 per second.
    let close = |rate: f64, delta: u64| {
        let exact = delta as f64 / secs;
        (rate - exact).abs() <= 0.005 + exact * 1e-12 && (rate * 100.0).round() / 100.0 == rate
    };
    assert!(close(rates.rx_bytes, rx_delta));
    assert!(close(rates.rx_packets, packets_delta));
    assert!(close(
        rates.tx_bytes,
        counters.tx_bytes - lo_before.tx_bytes
    ));
    assert!(close(
        rates.tx_packets,
        counters.tx_packets - lo_before.tx_packets
    ));
    println!(
        "lo: {rx_delta} bytes in {secs:.4} s = {:.0} B/s",
        rates.rx_bytes
    );
}

#[test]
fn filesystems_match_statvfs_and_skip_pseudo_filesystems() {
    let mut c = collector();
    let before = statvfs_of("/");
    let snap: Snapshot = c.collect(&[]).unwrap().clone();
    let after = statvfs_of("/");
    let root = snap
        .filesystems
        .iter()
        .find(|f| f.mountpoint == "/")
        .expect("the root filesystem is reported");
    assert_eq!(root.size, before.0);
    // Other processes write meanwhile; allow what they may write in the
    // few milliseconds between the readings.
    const SLACK: u64 = 16 << 20;
    let within = |got: u64, b: u64, a: u64| got + SLACK >= b.min(a) && got <= b.max(a) + SLACK;
    assert!(
        within(root.used, before.1, after.1),
        "used {} not within {}..{}",
        root.used,
        before.1,
        after.1
    );
    assert!(within(root.available, before.2, after.2));
    for fs in &snap.filesystems {
        assert!(
            ![
                "proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "mqueue"
            ]
            .contains(&fs.fstype.as_str()),
            "{} ({}) is a pseudo filesystem",
            fs.mountpoint,
            fs.fstype
        );
        assert!(fs.size > 0);
    }
    let mut devices: Vec<_> = snap.filesystems.iter().map(|f| &f.device).collect();
    devices.dedup();
    assert_eq!(devices.len(), snap.filesystems.len());
}

/// (size, used, available) in bytes, as `df` computes them.
fn statvfs_of(path: &str) -> (u64, u64, u64) {
    let v = nix::sys::statvfs::statvfs(path).unwrap();
    let f = v.fragment_size();
    (
        v.blocks() * f,
        (v.blocks() - v.blocks_free()) * f,
        v.blocks_available() * f,
    )
}

#[test]
fn disk_counters_match_proc_diskstats() {
    let mut c = collector();
    c.collect(&[]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let names: Vec<String> = c
        .snapshot()
        .disks
        .iter()
        .map(|d| d.device.clone())
        .collect();
    let before: Vec<[u64; 4]> = names.iter().map(|n| disk_counters(n)).collect();
    let snap = c.collect(&[]).unwrap().clone();
    let after: Vec<[u64; 4]> = names.iter().map(|n| disk_counters(n)).collect();
    for (i, disk) in snap.disks.iter().enumerate() {
        assert_eq!(disk.device, names[i]);
        assert!(!disk.device.starts_with("loop") && !disk.device.starts_with("ram"));
        let got = [
            disk.counters.reads,
            disk.counters.read_bytes,
            disk.counters.writes,
            disk.counters.written_bytes,
        ];
        for k in 0..4 {
            assert!(
                before[i][k] <= got[k] && got[k] <= after[i][k],
                "{}: {got:?} vs {:?}..{:?}",
                disk.device,
                before[i],
                after[i]
            );
        }
        assert!(disk.rates.is_some());
    }
}

#[test]
fn counts_uptime_and_load_match_the_kernel() {
    let mut c = collector();
    let start = Instant::now();
    let uptime_before: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let snap = c.collect(&[]).unwrap().clone();
    let uptime = snap.uptime.as_secs_f64();
    assert!(
        uptime >= uptime_before && uptime <= uptime_before + start.elapsed().as_secs_f64() + 0.02
    );
    let processes = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .count() as f64;
    // Other tests start and end processes meanwhile.
    assert!((snap.tasks.processes as f64 - processes).abs() <= processes * 0.2 + 10.0);
    assert!(snap.tasks.threads >= snap.tasks.processes);
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap();
    let load1: f64 = loadavg.split_whitespace().next().unwrap().parse().unwrap();
    assert!((snap.load[0] - load1).abs() < 1.0);
    let btime: u64 = std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(snap.boot_time, btime);
}

#[test]
fn system_info_matches_the_kernel() {
    let info = pilot_metrics::SystemInfo::gather().unwrap();
    assert_eq!(info.cpu_cores, cpu_ticks().len() - 1);
    assert_eq!(info.memory_total_bytes, meminfo()["MemTotal"]);
    assert_eq!(info.swap_total_bytes, meminfo()["SwapTotal"]);
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(info.kernel_version, release.trim());
    assert_eq!(info.architecture, std::env::consts::ARCH);
    assert_ne!(info.cpu_model, "");
    assert!(
        info.disks
            .iter()
            .any(|d| d.mountpoint == "/" && d.size_bytes == statvfs_of("/").0)
    );
    let json = serde_json::to_string(&info).unwrap();
    assert_eq!(
        serde_json::from_str::<pilot_metrics::SystemInfo>(&json).unwrap(),
        info
    );
}

//! Whole snapshots carry their derived gauges on the decimal grid of
//! [`crate::precision`]: one built from two fixed readings of the kernel's
//! files, through the same parsers and computations as a collection, and one
//! collected live.

use std::collections::BTreeSet;
use std::time::Duration;

use pilot_core::Sample;

use super::devices::{self, CounterTable};
use super::processes::{ProcEntry, ProcessTable};
use super::services::{self, ServiceScratch, ServiceTarget, Units};
use super::{Collector, CollectorOptions, cpu, memory_usage, process_usage};
use crate::catalog::METRICS;
use crate::precision::{DURATION_SCALE, PERCENT_SCALE, RATE_SCALE};
use crate::procfs::diskstats::{self, DiskCounters};
use crate::procfs::meminfo::MemInfo;
use crate::procfs::netdev::{self, NetCounters};
use crate::procfs::stat::{self, KernelStat};
use crate::procfs::{ReadBuf, load, pidstat};
use crate::snapshot::{CpuUsage, FilesystemUsage, Snapshot};

/// Seconds between the two readings, as a collector measures them.
const SECS: f64 = 10.000_213;

const UNITS: Units = Units {
    ticks_per_sec: 100.0,
    page_size: 4096,
};

/// Two readings of `/proc/stat`: 1001 ticks passed on cpu0, 1003 on cpu1.
const STAT: [&str; 2] = [
    "cpu  2000 0 600 10000 40 0 20 0 0 0\n\
     cpu0 1000 0 300 5000 20 0 10 0 0 0\n\
     cpu1 1000 0 300 5000 20 0 10 0 0 0\n\
     procs_running 2\nprocs_blocked 0\nbtime 1700000000\n",
    "cpu  2701 0 767 11130 43 0 23 0 0 0\n\
     cpu0 1334 0 366 5600 21 0 10 0 0 0\n\
     cpu1 1367 0 401 5530 22 0 13 0 0 0\n\
     procs_running 3\nprocs_blocked 1\nbtime 1700000000\n",
];

const MEMINFO: &str = "MemTotal: 3000000 kB\nMemFree: 500000 kB\n\
    MemAvailable: 1000001 kB\nBuffers: 7 kB\nCached: 11 kB\nSReclaimable: 13 kB\n\
    SwapTotal: 300000 kB\nSwapFree: 100001 kB\n";

const NETDEV: [&str; 2] = [
    "Inter-| Receive | Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n\
     lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n\
     eth0: 5000 50 0 0 0 0 0 0 7000 70 0 0 0 0 0 0\n",
    "Inter-| Receive | Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n\
     lo: 613331 1011 0 0 0 0 0 0 613331 1011 0 0 0 0 0 0\n\
     eth0: 12345678 9001 0 0 0 0 0 0 7777 77 0 0 0 0 0 0\n",
];

const DISKSTATS: [&str; 2] = [
    " 254 0 vda 100 0 2000 0 50 0 3000 0 0 400 0\n   7 0 loop0 1 0 1 0 1 0 1 0 0 1 0\n",
    " 254 0 vda 133 0 2777 0 61 0 9999 0 0 1401 0\n   7 0 loop0 2 0 2 0 2 0 2 0 0 2 0\n",
];

/// `/proc/<pid>/stat` of a process with the given CPU ticks.
fn pid_stat(pid: u32, ppid: u32, session: u32, utime: u64, stime: u64) -> String {
    format!(
        "{pid} (worker-{pid}) S {ppid} {pid} {session} 0 -1 4194560 10 0 0 0 \
         {utime} {stime} 0 0 20 0 2 0 5000 1000000 250\n"
    )
}

/// The process table after the second reading: (pid, ppid, session, CPU
/// ticks at the first reading, at the second).
fn process_table() -> ProcessTable {
    let mut table = ProcessTable::new();
    for (pid, ppid, session, before, after) in [
        (1, 0, 1, 10, 10),
        (100, 1, 100, 500, 517),
        (101, 100, 100, 40, 47),
        (200, 1, 200, 0, 3),
        (300, 1, 300, 1000, 1333),
    ] {
        let parse = |ticks: u64| {
            let line = pid_stat(pid, ppid, session, ticks - ticks / 3, ticks / 3);
            pidstat::parse(line.as_bytes()).expect("fixed stat line parses")
        };
        let (then, now) = (parse(before), parse(after));
        table.entries.push(ProcEntry {
            pid,
            stat: now,
            cpu_delta: now.cpu_ticks.checked_sub(then.cpu_ticks),
            owner: 0,
            visit: 0,
            // Keeps the table from reading `/proc/<pid>/statm`.
            rss_exact: true,
        });
    }
    table
}

/// The snapshot a collector would make of the second readings.
fn fixed_snapshot() -> Snapshot {
    let mut snap = Snapshot {
        elapsed: Some(Duration::from_secs_f64(SECS)),
        collections: 2,
        duration: Duration::from_nanos(4_567_891),
        ..Snapshot::default()
    };

    let (mut before, mut now) = (KernelStat::default(), KernelStat::default());
    stat::parse(STAT[0], &mut before).expect("fixed /proc/stat parses");
    stat::parse(STAT[1], &mut now).expect("fixed /proc/stat parses");
    let mut usage = CpuUsage::default();
    assert!(cpu::usage(&now, &before, &mut usage));
    snap.cpu = Some(usage);
    snap.cpu_cores = now.cores.len();
    snap.load = load::parse_loadavg("0.33 1.07 2.91 2/120 4242\n").expect("fixed loadavg");

    let mem = MemInfo::parse(MEMINFO).expect("fixed /proc/meminfo parses");
    snap.memory = memory_usage(&mem);
    snap.filesystems = vec![FilesystemUsage {
        device: "/dev/vda1".into(),
        mountpoint: "/".into(),
        fstype: "ext4".into(),
        size: 3 << 30,
        used: 1 << 30,
        available: 2 << 30,
    }];

    let mut net = CounterTable::<NetCounters>::default();
    let mut disk = CounterTable::<DiskCounters>::default();
    for reading in 0..2 {
        netdev::parse(NETDEV[reading], net.now_mut()).expect("fixed /proc/net/dev parses");
        net.publish(&mut snap.network, |slot, name, now, before| {
            devices::set(&mut slot.name, name);
            slot.counters = *now;
            slot.rates = before.and_then(|b| devices::net_rates(now, b, SECS));
        });
        diskstats::parse(DISKSTATS[reading], disk.now_mut(), |n| n == "vda")
            .expect("fixed /proc/diskstats parses");
        disk.publish(&mut snap.disks, |slot, name, now, before| {
            devices::set(&mut slot.device, name);
            slot.counters = *now;
            slot.rates = before.and_then(|b| devices::disk_rates(now, b, SECS));
        });
    }

    let mut table = process_table();
    let targets = [
        ServiceTarget::process("shop-g1", 100),
        ServiceTarget::process("shop-g2", 200),
        ServiceTarget::process("blog-g7", 300),
    ];
    let mut scratch = ServiceScratch::default();
    services::measure(
        &mut table,
        &targets,
        UNITS,
        Some(SECS),
        &mut scratch,
        &mut snap.services,
    );
    let listed = |e: &ProcEntry| process_usage(e, &targets, UNITS, Some(SECS));
    let mut buf = ReadBuf::default();
    table.top(10, |e| e.cpu_delta, listed, &mut buf, &mut snap.top_cpu);
    let rss = |e: &ProcEntry| Some(e.stat.rss_pages);
    table.top(10, rss, listed, &mut buf, &mut snap.top_memory);
    snap
}

/// Checks that every derived gauge of `samples` is on its grid; returns the
/// names of those checked.
fn assert_on_grid(samples: &[Sample]) -> BTreeSet<&str> {
    let on_grid = |v: f64, scale: f64| (v * scale).round() / scale == v;
    let mut checked = BTreeSet::new();
    for s in samples {
        let scale = if s.name.ends_with("_percent") {
            PERCENT_SCALE
        } else if s.name.ends_with("_per_second") {
            RATE_SCALE
        } else if s.name == "collector_duration_seconds" {
            DURATION_SCALE
        } else {
            continue;
        };
        assert!(
            on_grid(s.value, scale),
            "{} {:?} = {} is off its grid",
            s.name,
            s.labels,
            s.value
        );
        checked.insert(s.name.as_str());
    }
    checked
}

fn value(samples: &[Sample], name: &str, label: (&str, &str)) -> f64 {
    samples
        .iter()
        .find(|s| s.name == name && s.labels.get(label.0).is_some_and(|v| v == label.1))
        .map(|s| s.value)
        .unwrap_or_else(|| panic!("no {name} with {label:?}"))
}

/// The value of the one sample called `name`.
fn only(samples: &[Sample], name: &str) -> f64 {
    let mut matching = samples.iter().filter(|s| s.name == name);
    let sample = matching.next().unwrap_or_else(|| panic!("no {name}"));
    assert!(matching.next().is_none(), "one {name}");
    sample.value
}

#[test]
fn a_snapshot_of_fixed_readings_has_every_derived_gauge_on_its_grid() {
    let mut samples = Vec::new();
    fixed_snapshot().write_samples(&mut samples);
    let checked = assert_on_grid(&samples);
    let derived: BTreeSet<&str> = METRICS
        .iter()
        .map(|m| m.name)
        .filter(|n| {
            n.ends_with("_percent")
                || n.ends_with("_per_second")
                || *n == "collector_duration_seconds"
        })
        .collect();
    assert_eq!(checked, derived, "every derived gauge is present");

    // cpu0: 100 - 59.94 (600 of 1001 ticks idle) - 0.1 (1 in I/O wait);
    // user 701 of 2004 ticks; a third of the filesystem; 1_999_999 kB used
    // of 3_000_000.
    assert_eq!(value(&samples, "cpu_usage_percent", ("cpu", "0")), 39.96);
    assert_eq!(value(&samples, "cpu_mode_percent", ("mode", "user")), 34.98);
    let fs = value(&samples, "filesystem_usage_percent", ("mountpoint", "/"));
    assert_eq!(fs, 33.33);
    assert_eq!(only(&samples, "memory_usage_percent"), 66.67);
    // 612_331 bytes and 1001 packets, 777 sectors of 512 bytes, over
    // 10.000213 s.
    let rx = ("interface", "lo");
    assert_eq!(
        value(&samples, "network_receive_bytes_per_second", rx),
        61_231.8
    );
    assert_eq!(
        value(&samples, "network_receive_packets_per_second", rx),
        100.1
    );
    let vda = ("device", "vda");
    assert_eq!(
        value(&samples, "disk_read_bytes_per_second", vda),
        39_781.55
    );
    // shop: 17 + 7 ticks of g1's tree and 3 of g2, summed per project.
    let shop = value(&samples, "service_cpu_usage_percent", ("project", "shop"));
    assert_eq!(shop, 2.7);
    let blog = value(&samples, "service_cpu_usage_percent", ("project", "blog"));
    assert_eq!(blog, 33.3);
    let worker = value(&samples, "process_cpu_usage_percent", ("pid", "100"));
    assert_eq!(worker, 1.7);
    assert_eq!(only(&samples, "collector_duration_seconds"), 0.004568);
    // Load averages keep the two decimals of /proc/loadavg.
    assert_eq!(only(&samples, "load1"), 0.33);
    assert_eq!(only(&samples, "load15"), 2.91);
}

#[test]
fn a_live_collection_has_every_derived_gauge_on_its_grid() {
    let mut collector = Collector::new(CollectorOptions::default()).expect("collector");
    let me = ServiceTarget::process("grid-g1", std::process::id());
    collector
        .collect(std::slice::from_ref(&me))
        .expect("first collection");
    // Some work, so the process has CPU time to report.
    let mut n = 0u64;
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_millis(30) {
        n = std::hint::black_box(n.wrapping_add(1));
    }
    let snapshot = collector.collect(&[me]).expect("second collection");
    let mut samples = Vec::new();
    snapshot.write_samples(&mut samples);
    let checked = assert_on_grid(&samples);
    for name in [
        "cpu_usage_percent",
        "cpu_mode_percent",
        "memory_usage_percent",
        "service_cpu_usage_percent",
        "network_receive_bytes_per_second",
        "collector_duration_seconds",
    ] {
        assert!(checked.contains(name), "{name} was collected");
    }
}

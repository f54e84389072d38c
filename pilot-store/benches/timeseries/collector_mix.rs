//! The second dataset: every series Pilot's collector writes for one host
//! (`pilot_metrics::catalog`), as on a small 2-core VPS with one disk, one
//! network interface, two filesystems, two projects and five top
//! processes: 78 series per node, at 10 s.
//!
//! Values follow the collector's arithmetic: CPU shares come from whole
//! ticks (100 Hz) over a measured interval of about 10 s; per-second rates
//! are counter deltas over that interval; memory and filesystem figures
//! are whole pages; load averages and uptime have the two decimals of
//! `/proc`; percentages and rates carry the collector's 0.01 resolution
//! and the collection time its 1 µs one. What drives them is random:
//! a CPU load that wanders (with busy hours), network and disk traffic
//! whose rate wanders, memory and disk usage that move by pages and now
//! and then jump. The set of top processes is kept fixed (on a real host
//! it changes now and then, which starts new series).
//!
//! No information floor is computed for this dataset.

use std::collections::BTreeMap;

use crate::dataset::{Rng, SeriesData, collection_times};

const PAGE: f64 = 4096.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const CORES: usize = 2;
const HZ: f64 = 100.0;

/// `nodes` nodes × 78 series, `days` days of samples ending at `end_ms`.
pub(crate) fn generate(nodes: usize, days: i64, end_ms: i64) -> Vec<SeriesData> {
    let mut out = Vec::new();
    for node_index in 0..nodes {
        let node = format!("node-{:02}", node_index + 1);
        let mut rng = Rng::new(0xC011_0000 + node_index as u64);
        let ts = collection_times(&mut rng, days, end_ms);
        let mut host = Host::new(&mut rng);
        let mut columns = Columns::default();
        for step in 0..ts.len() {
            columns.next_row();
            host.collect(&mut rng, step, &mut columns);
        }
        for (name, labels, kind, values) in columns.series {
            out.push(SeriesData {
                node: node.clone(),
                name,
                labels,
                ts: ts.clone(),
                values,
                kind,
                floor_bits: 0.0,
            });
        }
    }
    out
}

type Column = (String, BTreeMap<String, String>, &'static str, Vec<f64>);

/// The series of one node, filled one collection (row) at a time in the
/// same order every time.
#[derive(Default)]
struct Columns {
    series: Vec<Column>,
    position: usize,
}

impl Columns {
    fn next_row(&mut self) {
        self.position = 0;
    }

    fn put(&mut self, name: &str, labels: &[(&str, &str)], kind: &'static str, value: f64) {
        if self.position == self.series.len() {
            let labels = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            self.series.push((name.into(), labels, kind, Vec::new()));
        }
        let column = &mut self.series[self.position];
        debug_assert_eq!(column.0, name, "series written out of order");
        column.3.push(value);
        self.position += 1;
    }
}

/// Rounds to the collector's 0.01 resolution of percentages and rates.
fn centi(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A value that reverts to `mean` and moves by `sd` per step.
fn wander(x: &mut f64, mean: f64, pull: f64, sd: f64, rng: &mut Rng) {
    *x += pull * (mean - *x) + sd * rng.normal();
}

/// A monotonic counter in whole `unit`s, driven by a wandering log-rate
/// per second.
struct Traffic {
    total: f64,
    log_rate: f64,
    typical: f64,
    unit: f64,
}

impl Traffic {
    fn new(rng: &mut Rng, typical: f64, unit: f64) -> Self {
        Traffic {
            total: rng.below(1 << 36) as f64 * unit,
            log_rate: typical.ln(),
            typical,
            unit,
        }
    }

    /// Adds one interval of `secs` (`busy` scales the rate) and returns
    /// the increment.
    fn advance(&mut self, rng: &mut Rng, secs: f64, busy: f64) -> f64 {
        wander(&mut self.log_rate, self.typical.ln(), 0.02, 0.1, rng);
        let mean = self.log_rate.exp() * secs * (0.5 + busy);
        let delta = (mean * (0.5 + rng.unit()) / self.unit).round() * self.unit;
        self.total += delta;
        delta
    }
}

struct Host {
    /// Mean CPU load of the host (share of all cores).
    mean_load: f64,
    load: f64,
    loadavg: [f64; 3],
    uptime: f64,
    boot_time: f64,
    memory: Memory,
    processes: f64,
    threads: f64,
    root: Filesystem,
    rx: Traffic,
    tx: Traffic,
    rx_packets: f64,
    tx_packets: f64,
    rx_drops: f64,
    read: Traffic,
    written: Traffic,
    reads: f64,
    writes: f64,
    io_ms: f64,
    services: Vec<Service>,
    collections: f64,
}

struct Memory {
    total: f64,
    used: f64,
    cached: f64,
    buffers: f64,
    swap_total: f64,
    swap_used: f64,
}

struct Filesystem {
    size: f64,
    used: f64,
}

/// A process of the top list; the first two are the projects' services.
struct Service {
    name: &'static str,
    pid: &'static str,
    share: f64,
    rss: f64,
    threads: f64,
}

impl Host {
    fn new(rng: &mut Rng) -> Self {
        let service = |name, pid, share, rss_mib: f64, threads| Service {
            name,
            pid,
            share,
            rss: rss_mib * 1024.0 * 1024.0,
            threads,
        };
        Host {
            mean_load: 0.05 + rng.unit() * 0.3,
            load: 0.2,
            loadavg: [0.3, 0.3, 0.3],
            uptime: 86_400.0 * (1.0 + rng.below(100) as f64),
            boot_time: 1_690_000_000.0 + rng.below(1_000_000) as f64,
            memory: Memory {
                total: 4.0 * GIB - 212.0 * 1024.0 * 1024.0,
                used: (0.8 + rng.unit()) * GIB,
                cached: 0.9 * GIB,
                buffers: 60.0 * 1024.0 * 1024.0,
                swap_total: GIB,
                swap_used: 12.0 * 1024.0 * 1024.0,
            },
            processes: 140.0,
            threads: 380.0,
            root: Filesystem {
                size: 38.0 * GIB,
                used: (6.0 + rng.below(20) as f64) * GIB,
            },
            rx: Traffic::new(rng, 60_000.0, 1.0),
            tx: Traffic::new(rng, 20_000.0, 1.0),
            rx_packets: rng.below(1 << 30) as f64,
            tx_packets: rng.below(1 << 30) as f64,
            rx_drops: rng.below(100) as f64,
            // Whole 512-byte sectors.
            read: Traffic::new(rng, 20_000.0, 512.0),
            written: Traffic::new(rng, 150_000.0, 512.0),
            reads: rng.below(1 << 24) as f64,
            writes: rng.below(1 << 26) as f64,
            io_ms: rng.below(1 << 30) as f64,
            services: vec![
                service("shop", "1204", 0.35, 180.0, 12.0),
                service("api", "1377", 0.25, 95.0, 24.0),
                service("postgres", "812", 0.2, 140.0, 1.0),
                service("caddy", "655", 0.1, 40.0, 9.0),
                service("pilot-agent", "590", 0.02, 18.0, 6.0),
            ],
            collections: rng.below(1_000_000) as f64,
        }
    }

    fn collect(&mut self, rng: &mut Rng, step: usize, out: &mut Columns) {
        // The measured interval between two collections.
        let secs = 10.0 + 0.0004 * rng.normal();
        let ticks = (HZ * secs).round();
        // Busy hours: a daily swing around the host's mean load.
        let hour = (step % 8640) as f64 / 360.0;
        let daily = 1.0 + 0.5 * ((hour - 14.0) / 24.0 * std::f64::consts::TAU).cos();
        wander(&mut self.load, self.mean_load * daily, 0.1, 0.03, rng);
        let load = self.load.clamp(0.0, 1.0);
        self.cpu(rng, ticks, load, out);
        self.loadavg_and_tasks(rng, load, out);
        self.memory(rng, out);
        self.uptime += secs;
        out.put("system_uptime_seconds", &[], "constant", centi(self.uptime));
        out.put("system_boot_time_seconds", &[], "constant", self.boot_time);
        self.filesystems(rng, out);
        self.disk(rng, secs, load, out);
        self.network(rng, secs, load, out);
        self.processes(rng, ticks, load, out);
        self.collections += 1.0;
        out.put(
            "collector_collections_total",
            &[],
            "counter",
            self.collections,
        );
        let duration = (0.003 * (0.3 * rng.normal()).exp() * 1e6).round() / 1e6;
        out.put("collector_duration_seconds", &[], "collector", duration);
    }

    fn cpu(&mut self, rng: &mut Rng, ticks: f64, load: f64, out: &mut Columns) {
        // Ticks per mode and core: user, nice, system, idle, iowait, irq,
        // softirq, steal.
        let mut total = [0.0; 8];
        let mut cores = Vec::with_capacity(CORES);
        for _ in 0..CORES {
            let busy = ((load + 0.08 * rng.normal()).clamp(0.0, 1.0) * ticks).round();
            let system = (busy * (0.2 + 0.1 * rng.unit())).round();
            let softirq = (busy * 0.03 * rng.unit()).round();
            let user = busy - system - softirq;
            let iowait = if rng.below(10) == 0 {
                rng.below(6) as f64
            } else {
                0.0
            };
            let idle = (ticks - busy - iowait).max(0.0);
            let modes = [user, 0.0, system, idle, iowait, 0.0, softirq, 0.0];
            for (t, m) in total.iter_mut().zip(modes) {
                *t += m;
            }
            cores.push(modes);
        }
        let usage = |modes: &[f64; 8]| {
            let sum: f64 = modes.iter().sum();
            centi((100.0 - (modes[3] + modes[4]) * 100.0 / sum).clamp(0.0, 100.0))
        };
        out.put(
            "cpu_usage_percent",
            &[("cpu", "total")],
            "cpu %",
            usage(&total),
        );
        for (index, modes) in ["0", "1"].into_iter().zip(&cores) {
            out.put(
                "cpu_usage_percent",
                &[("cpu", index)],
                "cpu %",
                usage(modes),
            );
        }
        let sum: f64 = total.iter().sum();
        let names = [
            "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
        ];
        for (mode, ticks) in names.into_iter().zip(total) {
            out.put(
                "cpu_mode_percent",
                &[("mode", mode)],
                "cpu %",
                centi(ticks * 100.0 / sum),
            );
        }
        out.put("cpu_cores", &[], "constant", CORES as f64);
    }

    fn loadavg_and_tasks(&mut self, rng: &mut Rng, load: f64, out: &mut Columns) {
        let running = (load * CORES as f64 + 0.3 * rng.normal()).max(0.0);
        for (avg, minutes) in self.loadavg.iter_mut().zip([1.0_f64, 5.0, 15.0]) {
            let decay = (-10.0 / (60.0 * minutes)).exp();
            *avg = *avg * decay + running * (1.0 - decay);
        }
        for (name, avg) in ["load1", "load5", "load15"].into_iter().zip(self.loadavg) {
            out.put(name, &[], "load", centi(avg));
        }
        if rng.below(20) == 0 {
            let change = rng.below(7) as f64 - 3.0;
            self.processes = (self.processes + change).max(100.0);
            self.threads = (self.threads + change * 3.0).max(250.0);
        }
        out.put("processes", &[], "tasks", self.processes);
        out.put("threads", &[], "tasks", self.threads);
        let runnable = (running.round() + 1.0).min(self.processes);
        out.put("processes_running", &[], "tasks", runnable);
        let blocked = if rng.below(25) == 0 { 1.0 } else { 0.0 };
        out.put("processes_blocked", &[], "tasks", blocked);
    }

    fn memory(&mut self, rng: &mut Rng, out: &mut Columns) {
        let m = &mut self.memory;
        let pages = |rng: &mut Rng, n: u64| (rng.below(2 * n + 1) as f64 - n as f64) * PAGE;
        if rng.below(720) == 0 {
            m.used += rng.normal() * 200.0 * 1024.0 * 1024.0;
        } else if rng.below(3) == 0 {
            m.used += pages(rng, 64);
        }
        // The page cache grows with disk traffic and is dropped now and then.
        if rng.below(4000) == 0 {
            m.cached *= 0.5;
        } else if rng.below(2) == 0 {
            m.cached += rng.below(32) as f64 * PAGE;
        }
        if rng.below(4) == 0 {
            m.buffers += pages(rng, 8);
        }
        m.used = m.used.clamp(0.2 * GIB, 0.85 * m.total);
        m.used = (m.used / PAGE).round() * PAGE;
        m.buffers = m
            .buffers
            .clamp(8.0 * 1024.0 * 1024.0, 200.0 * 1024.0 * 1024.0);
        m.cached = m
            .cached
            .min(m.total - m.used - m.buffers - 64.0 * 1024.0 * 1024.0);
        if rng.below(8640) == 0 {
            m.swap_used += pages(rng, 256).abs();
        }
        let free = m.total - m.used - m.cached - m.buffers;
        let available = free + m.cached * 0.85 + m.buffers;
        let available = (available / 1024.0).round() * 1024.0;
        for (name, value) in [
            ("memory_total_bytes", m.total),
            ("memory_used_bytes", m.used),
            ("memory_available_bytes", available),
            ("memory_free_bytes", free),
            ("memory_buffers_bytes", m.buffers),
            ("memory_cached_bytes", m.cached),
            ("swap_total_bytes", m.swap_total),
            ("swap_used_bytes", m.swap_used),
            ("swap_free_bytes", m.swap_total - m.swap_used),
        ] {
            let kind = if name.ends_with("total_bytes") {
                "constant"
            } else {
                "memory"
            };
            out.put(name, &[], kind, value);
        }
        out.put(
            "memory_usage_percent",
            &[],
            "memory",
            centi(m.used / m.total * 100.0),
        );
    }

    fn filesystems(&mut self, rng: &mut Rng, out: &mut Columns) {
        let fs = &mut self.root;
        let r = rng.unit();
        if r < 0.01 {
            fs.used += (rng.below(256) + 1) as f64 * PAGE;
        } else if r < 0.0105 {
            fs.used -= rng.below(100_000) as f64 * PAGE;
        }
        let reserved = (fs.size * 0.05 / PAGE).round() * PAGE;
        let boot = (470.0 * 1024.0 * 1024.0, 98.0 * 1024.0 * 1024.0);
        for (device, mountpoint, size, used) in [
            ("/dev/vda1", "/", fs.size, fs.used),
            ("/dev/vda15", "/boot/efi", boot.0, boot.1),
        ] {
            let labels = [
                ("device", device),
                ("mountpoint", mountpoint),
                ("fstype", "ext4"),
            ];
            let available = size - used - reserved.min(size - used);
            let kind = if mountpoint == "/" {
                "disk"
            } else {
                "constant"
            };
            out.put("filesystem_size_bytes", &labels, "constant", size);
            out.put("filesystem_used_bytes", &labels, kind, used);
            out.put("filesystem_available_bytes", &labels, kind, available);
            let percent = centi(used / (used + available) * 100.0);
            out.put("filesystem_usage_percent", &labels, kind, percent);
        }
    }

    fn disk(&mut self, rng: &mut Rng, secs: f64, load: f64, out: &mut Columns) {
        let labels = [("device", "vda")];
        let read = self.read.advance(rng, secs, load);
        let written = self.written.advance(rng, secs, load);
        // Requests of 4 KiB to 32 KiB.
        self.reads += (read / (4096.0 * (1.0 + 7.0 * rng.unit()))).ceil();
        self.writes += (written / (4096.0 * (1.0 + 7.0 * rng.unit()))).ceil();
        self.io_ms += (written / 150_000.0 * 4.0 * rng.unit()).round();
        out.put("disk_read_bytes_total", &labels, "counter", self.read.total);
        out.put(
            "disk_written_bytes_total",
            &labels,
            "counter",
            self.written.total,
        );
        out.put("disk_reads_completed_total", &labels, "counter", self.reads);
        out.put(
            "disk_writes_completed_total",
            &labels,
            "counter",
            self.writes,
        );
        out.put(
            "disk_io_time_seconds_total",
            &labels,
            "counter",
            self.io_ms / 1000.0,
        );
        out.put(
            "disk_read_bytes_per_second",
            &labels,
            "rate",
            centi(read / secs),
        );
        out.put(
            "disk_written_bytes_per_second",
            &labels,
            "rate",
            centi(written / secs),
        );
    }

    fn network(&mut self, rng: &mut Rng, secs: f64, load: f64, out: &mut Columns) {
        let labels = [("interface", "eth0")];
        let rx = self.rx.advance(rng, secs, load);
        let tx = self.tx.advance(rng, secs, load);
        let rx_packets = (rx / (700.0 + 400.0 * rng.unit())).ceil();
        let tx_packets = (tx / (300.0 + 400.0 * rng.unit())).ceil();
        self.rx_packets += rx_packets;
        self.tx_packets += tx_packets;
        if rng.below(50_000) == 0 {
            self.rx_drops += 1.0;
        }
        for (name, kind, value) in [
            ("network_receive_bytes_total", "counter", self.rx.total),
            ("network_transmit_bytes_total", "counter", self.tx.total),
            ("network_receive_packets_total", "counter", self.rx_packets),
            ("network_transmit_packets_total", "counter", self.tx_packets),
            ("network_receive_errors_total", "constant", 0.0),
            ("network_transmit_errors_total", "constant", 0.0),
            ("network_receive_drops_total", "constant", self.rx_drops),
            ("network_transmit_drops_total", "constant", 0.0),
        ] {
            out.put(name, &labels, kind, value);
        }
        for (name, value) in [
            ("network_receive_bytes_per_second", rx),
            ("network_transmit_bytes_per_second", tx),
            ("network_receive_packets_per_second", rx_packets),
            ("network_transmit_packets_per_second", tx_packets),
        ] {
            out.put(name, &labels, "rate", centi(value / secs));
        }
    }

    /// The two projects' services and the top processes (the services'
    /// processes among them).
    fn processes(&mut self, rng: &mut Rng, ticks: f64, load: f64, out: &mut Columns) {
        let mut usage = Vec::with_capacity(self.services.len());
        for s in &mut self.services {
            // Whole ticks of one core over the interval, in % of one core.
            let busy = (s.share * load * CORES as f64 * ticks * (0.5 + rng.unit())).round();
            let cpu = centi(busy * 100.0 / ticks);
            if rng.below(3) == 0 {
                s.rss += (rng.below(33) as f64 - 16.0) * PAGE;
            }
            s.rss = s.rss.max(8.0 * 1024.0 * 1024.0);
            usage.push(cpu);
        }
        for (s, cpu) in self.services.iter().zip(&usage).take(2) {
            let labels = [("project", s.name)];
            out.put("service_cpu_usage_percent", &labels, "process", *cpu);
            out.put("service_resident_memory_bytes", &labels, "process", s.rss);
            out.put("service_threads", &labels, "constant", s.threads);
            out.put("service_processes", &labels, "constant", 1.0);
        }
        for (s, cpu) in self.services.iter().zip(&usage) {
            let labels = [("pid", s.pid), ("name", s.name)];
            out.put("process_cpu_usage_percent", &labels, "process", *cpu);
            out.put("process_resident_memory_bytes", &labels, "process", s.rss);
        }
    }
}

//! The typed result of one collection.

use std::time::Duration;

use crate::precision;
pub use crate::procfs::diskstats::DiskCounters;
pub use crate::procfs::netdev::NetCounters;

/// Everything one collection measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// When the collection ran, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// Time since the previous collection; `None` on the first one, which
    /// therefore has no CPU percentages and no rates.
    pub elapsed: Option<Duration>,
    /// How many collections this collector has made, this one included.
    pub collections: u64,
    /// How long this collection took (exposed as `collector_duration_seconds`,
    /// rounded to the microsecond).
    pub duration: Duration,
    /// CPU usage since the previous collection.
    pub cpu: Option<CpuUsage>,
    /// Number of online CPUs (logical cores).
    pub cpu_cores: usize,
    /// Load averages over 1, 5 and 15 minutes.
    pub load: [f64; 3],
    /// Physical memory and swap.
    pub memory: MemoryUsage,
    /// Usage of each mounted local filesystem (pseudo and network
    /// filesystems skipped, each device once).
    pub filesystems: Vec<FilesystemUsage>,
    /// I/O of each whole block device (partitions, loop and RAM disks skipped).
    pub disks: Vec<DiskIo>,
    /// Traffic of each network interface.
    pub network: Vec<NetworkInterface>,
    /// Process and thread counts.
    pub tasks: TaskCounts,
    /// Time since boot.
    pub uptime: Duration,
    /// Boot time, seconds since the Unix epoch.
    pub boot_time: u64,
    /// Usage of each service the caller asked about, in the caller's order.
    pub services: Vec<ServiceUsage>,
    /// The processes using the most CPU, highest first (empty on the first
    /// collection).
    pub top_cpu: Vec<ProcessUsage>,
    /// The processes with the largest resident memory, largest first.
    pub top_memory: Vec<ProcessUsage>,
}

/// Share of time spent in each mode, in percent of the CPUs measured, each
/// rounded to 0.01 (see [`crate::precision`]; the modes add up to 100 within
/// that rounding).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuModes {
    /// User mode (guest time included).
    pub user: f64,
    /// User mode of niced processes.
    pub nice: f64,
    /// Kernel mode.
    pub system: f64,
    /// Idle.
    pub idle: f64,
    /// Idle with I/O outstanding.
    pub iowait: f64,
    /// Hardware interrupts.
    pub irq: f64,
    /// Soft interrupts.
    pub softirq: f64,
    /// Stolen by the hypervisor.
    pub steal: f64,
}

impl CpuModes {
    /// Busy share: everything but idle and I/O wait, rounded to 0.01. It is
    /// computed from the rounded idle and I/O wait shares, so it lies within
    /// 0.01 of the exact busy share.
    pub fn usage(&self) -> f64 {
        // The modes are on the 0.01 grid already; rounding removes the
        // residue the subtraction can leave in the last bits.
        precision::percent((100.0 - self.idle - self.iowait).clamp(0.0, 100.0))
    }

    /// The modes with their conventional names, in `/proc/stat` order.
    pub fn named(&self) -> [(&'static str, f64); 8] {
        [
            ("user", self.user),
            ("nice", self.nice),
            ("system", self.system),
            ("idle", self.idle),
            ("iowait", self.iowait),
            ("irq", self.irq),
            ("softirq", self.softirq),
            ("steal", self.steal),
        ]
    }
}

/// CPU usage over the interval between two collections.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuUsage {
    /// All CPUs together.
    pub total: CpuModes,
    /// Each online CPU: its number and its modes.
    pub cores: Vec<(u32, CpuModes)>,
}

/// Physical memory and swap, in bytes, as `/proc/meminfo` had them at the
/// moment of the collection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Usable physical memory.
    pub total: u64,
    /// In use: total minus available.
    pub used: u64,
    /// Available to new work without swapping.
    pub available: u64,
    /// Not used at all.
    pub free: u64,
    /// Block-device buffers.
    pub buffers: u64,
    /// Page cache plus reclaimable slab.
    pub cached: u64,
    /// Swap space.
    pub swap_total: u64,
    /// Swap in use.
    pub swap_used: u64,
    /// Swap unused.
    pub swap_free: u64,
}

impl MemoryUsage {
    /// Used share of physical memory, in percent rounded to 0.01.
    pub fn used_percent(&self) -> f64 {
        percent(self.used, self.total)
    }
}

/// Space on one mounted filesystem, in bytes, as `statvfs` reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilesystemUsage {
    /// Mount source, e.g. "/dev/vda1".
    pub device: String,
    /// Mount point.
    pub mountpoint: String,
    /// Filesystem type, e.g. "ext4".
    pub fstype: String,
    /// Size.
    pub size: u64,
    /// Used.
    pub used: u64,
    /// Available to unprivileged users (what `df` shows as "Avail").
    pub available: u64,
}

impl FilesystemUsage {
    /// Used share as `df` computes it: used / (used + available), in percent
    /// rounded to 0.01.
    pub fn used_percent(&self) -> f64 {
        percent(self.used, self.used + self.available)
    }
}

/// I/O counters and rates of one block device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskIo {
    /// Device name, e.g. "vda".
    pub device: String,
    /// Cumulative counters.
    pub counters: DiskCounters,
    /// Rates over the interval; `None` on the first collection or after a
    /// counter reset.
    pub rates: Option<DiskRates>,
}

/// Per-second I/O rates of a block device, each rounded to 0.01.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DiskRates {
    /// Bytes read per second.
    pub read_bytes: f64,
    /// Bytes written per second.
    pub written_bytes: f64,
    /// Reads completed per second.
    pub reads: f64,
    /// Writes completed per second.
    pub writes: f64,
}

/// Traffic counters and rates of one network interface.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkInterface {
    /// Interface name, e.g. "eth0".
    pub name: String,
    /// Cumulative counters.
    pub counters: NetCounters,
    /// Rates over the interval; `None` on the first collection or after a
    /// counter reset.
    pub rates: Option<NetRates>,
}

/// Per-second traffic rates of a network interface, each rounded to 0.01.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NetRates {
    /// Bytes received per second.
    pub rx_bytes: f64,
    /// Bytes sent per second.
    pub tx_bytes: f64,
    /// Packets received per second.
    pub rx_packets: f64,
    /// Packets sent per second.
    pub tx_packets: f64,
}

/// Process and thread counts of the whole machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskCounts {
    /// Processes.
    pub processes: u64,
    /// Threads of all processes.
    pub threads: u64,
    /// Tasks runnable right now.
    pub running: u64,
    /// Tasks blocked on I/O right now.
    pub blocked: u64,
}

/// Resource use of one service, summed over all its processes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceUsage {
    /// The service name, e.g. "shop-g12".
    pub service: String,
    /// The project it belongs to, e.g. "shop".
    pub project: String,
    /// CPU use in percent of one core, rounded to 0.01 (a service busy on
    /// two cores shows 200); `None` on the first collection.
    pub cpu_percent: Option<f64>,
    /// Resident memory of all its processes (memory shared between them is
    /// counted once per process, as `ps` does).
    pub rss_bytes: u64,
    /// Threads of all its processes.
    pub threads: u64,
    /// Number of processes.
    pub processes: u64,
}

/// Resource use of one process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessUsage {
    /// Process id.
    pub pid: u32,
    /// Command name (at most 15 characters, as the kernel keeps it).
    pub name: String,
    /// The project of the service it belongs to, if any.
    pub project: Option<String>,
    /// CPU use in percent of one core, rounded to 0.01; `None` on the first
    /// collection.
    pub cpu_percent: Option<f64>,
    /// Resident memory.
    pub rss_bytes: u64,
    /// Threads.
    pub threads: u64,
}

/// `part / whole` in percent rounded to 0.01; 0 for an empty whole.
pub(crate) fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        precision::percent(part as f64 * 100.0 / whole as f64)
    }
}

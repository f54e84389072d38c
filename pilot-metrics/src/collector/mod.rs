//! The [`Collector`]: one pass over the kernel's statistics per call.
//!
//! Host figures come straight from `/proc` (`stat`, `meminfo`, `loadavg`,
//! `uptime`, `net/dev`, `diskstats`, `self/mountinfo`, one `<pid>/stat` per
//! process) and `statvfs`. Those files stay open between collections and are
//! re-read with one `pread` into a reused buffer (per-process files too, for
//! up to 256 processes: open and close were most of a scan's cost), and
//! every table is updated in place. sysinfo, by contrast, reads several
//! files per process and keeps each one's command line and environment;
//! one `stat` per process is all the per-service and top-process figures
//! need, plus `statm` for the few processes whose memory is reported.

mod cpu;
mod devices;
mod filesystems;
#[cfg(test)]
mod grid_tests;
mod processes;
mod services;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::unistd::{SysconfVar, sysconf};

pub use self::services::{ServiceTarget, project_of};

use self::devices::{CounterTable, DiskFilter};
use self::processes::{ProcEntry, ProcessTable};
use self::services::{ServiceScratch, Units};
use crate::error::{Error, Result};
use crate::procfs::diskstats::{self, DiskCounters};
use crate::procfs::meminfo::MemInfo;
use crate::procfs::mountinfo::{self, Mount};
use crate::procfs::netdev::{self, NetCounters};
use crate::procfs::stat::{self, KernelStat};
use crate::procfs::{ProcFile, ReadBuf, load};
use crate::snapshot::{FilesystemUsage, MemoryUsage, ProcessUsage, Snapshot, TaskCounts};

/// What a [`Collector`] measures beyond the fixed host figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorOptions {
    /// How many processes to list by CPU and by memory (default 10; 0 turns
    /// the lists off).
    pub top_processes: usize,
}

impl Default for CollectorOptions {
    fn default() -> Self {
        CollectorOptions { top_processes: 10 }
    }
}

/// The kernel files read every collection.
#[derive(Debug)]
struct Files {
    stat: ProcFile,
    meminfo: ProcFile,
    loadavg: ProcFile,
    uptime: ProcFile,
    netdev: ProcFile,
    diskstats: ProcFile,
    mountinfo: ProcFile,
}

/// Measures the host and the given services; keeps what it needs from one
/// collection to the next (counters for rates, CPU ticks per process) and
/// reuses all its buffers.
///
/// The first collection has no CPU percentages and no rates: they need a
/// previous reading.
#[derive(Debug)]
pub struct Collector {
    options: CollectorOptions,
    units: Units,
    files: Files,
    buf: ReadBuf,
    stat: KernelStat,
    previous_stat: KernelStat,
    net: CounterTable<NetCounters>,
    disk: CounterTable<DiskCounters>,
    disk_filter: DiskFilter,
    mounts: Vec<Mount>,
    seen_devices: Vec<(u32, u32)>,
    processes: ProcessTable,
    service_scratch: ServiceScratch,
    last: Option<Instant>,
    snapshot: Snapshot,
}

impl Collector {
    /// A collector with `options`.
    pub fn new(options: CollectorOptions) -> Result<Self> {
        let ticks = sysconf(SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .filter(|t| *t > 0);
        let page = sysconf(SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .filter(|p| *p > 0);
        let (Some(ticks), Some(page)) = (ticks, page) else {
            return Err(Error::InvalidOption {
                option: "clock ticks and page size",
                problem: "sysconf reports neither; this platform is not supported",
            });
        };
        Ok(Collector {
            options,
            units: Units {
                ticks_per_sec: ticks as f64,
                page_size: page.unsigned_abs(),
            },
            files: Files {
                stat: ProcFile::new("/proc/stat"),
                meminfo: ProcFile::new("/proc/meminfo"),
                loadavg: ProcFile::new("/proc/loadavg"),
                uptime: ProcFile::new("/proc/uptime"),
                netdev: ProcFile::new("/proc/net/dev"),
                diskstats: ProcFile::new("/proc/diskstats"),
                mountinfo: ProcFile::new("/proc/self/mountinfo"),
            },
            buf: ReadBuf::with_capacity(16 * 1024),
            stat: KernelStat::default(),
            previous_stat: KernelStat::default(),
            net: CounterTable::default(),
            disk: CounterTable::default(),
            disk_filter: DiskFilter::default(),
            mounts: Vec::new(),
            seen_devices: Vec::new(),
            processes: ProcessTable::new(),
            service_scratch: ServiceScratch::default(),
            last: None,
            snapshot: Snapshot::default(),
        })
    }

    /// The result of the latest collection (empty before the first).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Measures everything now. `services` are the services to measure this
    /// time (see [`ServiceTarget`]); the snapshot lists them in this order.
    pub fn collect(&mut self, services: &[ServiceTarget]) -> Result<&Snapshot> {
        let started = Instant::now();
        let elapsed = self.last.map(|last| started.duration_since(last));
        let secs = elapsed.map(|e| e.as_secs_f64()).filter(|s| *s > 0.0);
        self.snapshot.timestamp_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.snapshot.elapsed = elapsed;

        let uptime = self.read_host()?;
        self.read_devices(secs)?;
        self.read_processes(services, uptime, secs)?;

        std::mem::swap(&mut self.stat, &mut self.previous_stat);
        self.last = Some(started);
        self.snapshot.collections += 1;
        self.snapshot.duration = started.elapsed();
        Ok(&self.snapshot)
    }

    /// CPU, memory, load and uptime; returns the uptime in seconds.
    fn read_host(&mut self) -> Result<f64> {
        let (f, snap) = (&mut self.files, &mut self.snapshot);
        let text = f.stat.read_text(&mut self.buf)?;
        stat::parse(text, &mut self.stat).map_err(|p| Error::format(f.stat.path(), p))?;
        let mut cpu = snap.cpu.take().unwrap_or_default();
        let measured = self.last.is_some() && cpu::usage(&self.stat, &self.previous_stat, &mut cpu);
        snap.cpu = measured.then_some(cpu);
        snap.cpu_cores = self.stat.cores.len();
        snap.boot_time = self.stat.boot_time;

        let text = f.meminfo.read_text(&mut self.buf)?;
        let mem = MemInfo::parse(text).map_err(|p| Error::format(f.meminfo.path(), p))?;
        snap.memory = memory_usage(&mem);

        let text = f.loadavg.read_text(&mut self.buf)?;
        snap.load = load::parse_loadavg(text).map_err(|p| Error::format(f.loadavg.path(), p))?;
        let text = f.uptime.read_text(&mut self.buf)?;
        let uptime = load::parse_uptime(text).map_err(|p| Error::format(f.uptime.path(), p))?;
        snap.uptime = Duration::try_from_secs_f64(uptime).unwrap_or_default();
        Ok(uptime)
    }

    /// Network interfaces, block devices and filesystems.
    fn read_devices(&mut self, secs: Option<f64>) -> Result<()> {
        let (f, snap) = (&mut self.files, &mut self.snapshot);
        let text = f.netdev.read_text(&mut self.buf)?;
        netdev::parse(text, self.net.now_mut()).map_err(|p| Error::format(f.netdev.path(), p))?;
        self.net
            .publish(&mut snap.network, |slot, name, now, before| {
                devices::set(&mut slot.name, name);
                slot.counters = *now;
                slot.rates = secs
                    .zip(before)
                    .and_then(|(s, b)| devices::net_rates(now, b, s));
            });

        let text = f.diskstats.read_text(&mut self.buf)?;
        let filter = &mut self.disk_filter;
        diskstats::parse(text, self.disk.now_mut(), |name| filter.is_disk(name))
            .map_err(|p| Error::format(f.diskstats.path(), p))?;
        self.disk
            .publish(&mut snap.disks, |slot, name, now, before| {
                devices::set(&mut slot.device, name);
                slot.counters = *now;
                slot.rates = secs
                    .zip(before)
                    .and_then(|(s, b)| devices::disk_rates(now, b, s));
            });

        f.mountinfo.read_into(&mut self.buf)?;
        let text = String::from_utf8_lossy(self.buf.bytes());
        mountinfo::parse(&text, &mut self.mounts)
            .map_err(|p| Error::format(f.mountinfo.path(), p))?;
        filesystems::measure(&self.mounts, &mut self.seen_devices, &mut snap.filesystems);
        Ok(())
    }

    /// The process table, the services and the top processes.
    fn read_processes(
        &mut self,
        services: &[ServiceTarget],
        uptime: f64,
        secs: Option<f64>,
    ) -> Result<()> {
        let snap = &mut self.snapshot;
        let uptime_ticks = (uptime * self.units.ticks_per_sec) as u64;
        self.processes.scan(&mut self.buf, uptime_ticks)?;
        services::measure(
            &mut self.processes,
            services,
            self.units,
            secs,
            &mut self.service_scratch,
            &mut snap.services,
        );
        snap.tasks = TaskCounts {
            processes: self.processes.entries.len() as u64,
            threads: self.processes.threads(),
            running: self.stat.procs_running,
            blocked: self.stat.procs_blocked,
        };
        let n = self.options.top_processes;
        let units = self.units;
        let usage = |e: &ProcEntry| process_usage(e, services, units, secs);
        let buf = &mut self.buf;
        // Without a previous collection no process has a CPU delta.
        self.processes
            .top(n, |e| e.cpu_delta, usage, buf, &mut snap.top_cpu);
        let rss = |e: &ProcEntry| Some(e.stat.rss_pages);
        self.processes.top(n, rss, usage, buf, &mut snap.top_memory);
        Ok(())
    }
}

/// The local filesystems a collection would report, read now.
pub(crate) fn filesystems_now() -> Result<Vec<FilesystemUsage>> {
    let mut file = ProcFile::new("/proc/self/mountinfo");
    let mut buf = ReadBuf::default();
    file.read_into(&mut buf)?;
    let mut mounts = Vec::new();
    mountinfo::parse(&String::from_utf8_lossy(buf.bytes()), &mut mounts)
        .map_err(|p| Error::format(file.path(), p))?;
    let mut out = Vec::new();
    filesystems::measure(&mounts, &mut Vec::new(), &mut out);
    Ok(out)
}

/// The listed form of one process.
fn process_usage(
    entry: &ProcEntry,
    services: &[ServiceTarget],
    units: Units,
    secs: Option<f64>,
) -> ProcessUsage {
    let project = (entry.owner as usize)
        .checked_sub(1)
        .and_then(|i| services.get(i))
        .map(|s| s.project().to_owned());
    ProcessUsage {
        pid: entry.pid,
        name: entry.stat.comm().into_owned(),
        project,
        cpu_percent: secs
            .zip(entry.cpu_delta)
            .map(|(s, d)| units.cpu_percent(d, s)),
        rss_bytes: entry.stat.rss_pages * units.page_size,
        threads: u64::from(entry.stat.threads),
    }
}

/// The memory figures of a snapshot from `/proc/meminfo`.
pub(crate) fn memory_usage(mem: &MemInfo) -> MemoryUsage {
    MemoryUsage {
        total: mem.total,
        used: mem.used(),
        available: mem.available,
        free: mem.free,
        buffers: mem.buffers,
        cached: mem.cache(),
        swap_total: mem.swap_total,
        swap_used: mem.swap_used(),
        swap_free: mem.swap_free,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_collection_has_no_rates_second_has_them() {
        let mut c = Collector::new(CollectorOptions::default()).unwrap();
        let own = ServiceTarget::process("self-g1", std::process::id());
        let first = c.collect(std::slice::from_ref(&own)).unwrap().clone();
        assert_eq!(first.collections, 1);
        assert!(first.cpu.is_none() && first.elapsed.is_none());
        assert!(first.network.iter().all(|n| n.rates.is_none()));
        assert!(first.top_cpu.is_empty());
        assert!(!first.top_memory.is_empty());
        assert!(first.memory.total > 0 && first.cpu_cores > 0);
        assert_eq!(first.services[0].cpu_percent, None);
        std::thread::sleep(Duration::from_millis(50));
        let second = c.collect(&[own]).unwrap();
        assert_eq!(second.collections, 2);
        assert!(second.cpu.is_some());
        assert!(
            second
                .network
                .iter()
                .any(|n| n.name == "lo" && n.rates.is_some())
        );
        let service = &second.services[0];
        assert_eq!((service.project.as_str(), service.processes), ("self", 1));
        assert!(service.rss_bytes > 0 && service.cpu_percent.is_some());
        assert!(
            second
                .top_memory
                .windows(2)
                .all(|w| w[0].rss_bytes >= w[1].rss_bytes)
        );
        assert!(second.tasks.processes >= 1 && second.tasks.threads >= second.tasks.processes);
        assert!(second.uptime > Duration::ZERO && second.boot_time > 0);
    }
}

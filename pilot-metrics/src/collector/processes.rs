//! The process table: one read of `/proc/<pid>/stat` per process per
//! collection, CPU time deltas against the previous collection, and the top
//! processes by CPU and memory.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::os::fd::OwnedFd;

use nix::dir::Dir;
use nix::fcntl::{OFlag, open, openat};
use nix::sys::stat::Mode;

use crate::error::{Error, Result};
use crate::procfs::ReadBuf;
use crate::procfs::pidstat::{self, PidStat};
use crate::snapshot::ProcessUsage;

/// One live process as scanned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcEntry {
    /// Process id.
    pub pid: u32,
    /// Its stat fields.
    pub stat: PidStat,
    /// CPU ticks used since the previous collection; `None` when unknown.
    pub cpu_delta: Option<u64>,
    /// 1 + index of the service target that claimed it; 0 for none.
    pub owner: u32,
    /// Marks set while services gather their members.
    pub visit: u32,
    /// Whether `stat.rss_pages` was replaced by the exact figure of
    /// `/proc/<pid>/statm` (see [`ProcessTable::refine_rss`]).
    pub rss_exact: bool,
}

/// At most this many `/proc/<pid>/stat` files are kept open between scans
/// (each costs the kernel a few kilobytes; the descriptor limit is often
/// 1024). Processes beyond it are opened and closed every scan.
const MAX_OPEN_STATS: usize = 256;

/// What a scan remembers of one process for the next.
#[derive(Debug)]
struct Known {
    /// Start time, telling the process from a later one with its pid.
    start_ticks: u64,
    /// CPU ticks used so far.
    cpu_ticks: u64,
    /// Its `stat` file, kept open: re-reading an open file skips the path
    /// lookup, open and close, most of the cost of a scan. Reading it fails
    /// once the process is gone, even when its pid is reused.
    file: Option<File>,
}

/// The `/proc` directory: one handle to list it, one to open files in it.
#[derive(Debug)]
struct ProcDir {
    list: Dir,
    fd: OwnedFd,
}

/// All processes of the machine, refreshed by [`ProcessTable::scan`].
#[derive(Debug)]
pub(crate) struct ProcessTable {
    proc_dir: Option<ProcDir>,
    path: String,
    /// Live processes, sorted by pid.
    pub entries: Vec<ProcEntry>,
    /// What the previous scan saw, by pid.
    previous: HashMap<u32, Known>,
    current: HashMap<u32, Known>,
    /// Uptime in ticks at the previous scan.
    previous_uptime: Option<u64>,
    order: Vec<u32>,
}

impl ProcessTable {
    /// An empty table.
    pub fn new() -> Self {
        ProcessTable {
            proc_dir: None,
            path: String::with_capacity(32),
            entries: Vec::new(),
            previous: HashMap::new(),
            current: HashMap::new(),
            previous_uptime: None,
            order: Vec::new(),
        }
    }

    /// Reads every process's stat. `uptime_ticks` is the time since boot in
    /// clock ticks, read just before; a process that started after the
    /// previous scan counts all its CPU time as used in this interval.
    pub fn scan(&mut self, buf: &mut ReadBuf, uptime_ticks: u64) -> Result<()> {
        self.entries.clear();
        self.current.clear();
        let dir = match &mut self.proc_dir {
            Some(dir) => dir,
            None => self.proc_dir.insert(open_proc_dir()?),
        };
        for entry in dir.list.iter() {
            let Ok(entry) = entry else { continue };
            let Some(pid) = parse_pid(entry.file_name().to_bytes()) else {
                continue;
            };
            let mut known = self.previous.remove(&pid);
            let mut file = known.as_mut().and_then(|k| k.file.take());
            if let Some(f) = &file
                && (buf.fill_from_start(f, true).is_err() || buf.bytes().is_empty())
            {
                file = None;
            }
            if file.is_none() {
                self.path.clear();
                // Writing to a String cannot fail.
                let _ = write!(self.path, "{pid}/stat");
                // The process may exit between the listing and the read.
                let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
                let Ok(fd) = openat(&dir.fd, self.path.as_str(), flags, Mode::empty()) else {
                    continue;
                };
                let opened = File::from(fd);
                if buf.fill_from_start(&opened, true).is_err() {
                    continue;
                }
                file = Some(opened);
            }
            let Some(stat) = pidstat::parse(buf.bytes()) else {
                continue;
            };
            let cpu_delta = match (&known, self.previous_uptime) {
                (Some(k), _) if k.start_ticks == stat.start_ticks => {
                    Some(stat.cpu_ticks.saturating_sub(k.cpu_ticks))
                }
                (_, Some(before)) if stat.start_ticks >= before => Some(stat.cpu_ticks),
                _ => None,
            };
            let file = file.filter(|_| self.current.len() < MAX_OPEN_STATS);
            self.current.insert(
                pid,
                Known {
                    start_ticks: stat.start_ticks,
                    cpu_ticks: stat.cpu_ticks,
                    file,
                },
            );
            self.entries.push(ProcEntry {
                pid,
                stat,
                cpu_delta,
                owner: 0,
                visit: 0,
                rss_exact: false,
            });
        }
        self.entries.sort_unstable_by_key(|e| e.pid);
        // What is left of the previous scan has exited: closing its files.
        self.previous.clear();
        std::mem::swap(&mut self.previous, &mut self.current);
        self.previous_uptime = Some(uptime_ticks);
        Ok(())
    }

    /// Index of `pid` in [`ProcessTable::entries`].
    pub fn index_of(&self, pid: u32) -> Option<usize> {
        self.entries.binary_search_by_key(&pid, |e| e.pid).ok()
    }

    /// Replaces the resident size of entry `index` with the exact figure.
    ///
    /// `/proc/<pid>/stat` reports the kernel's per-CPU cached counters,
    /// which may lag by some pages per CPU; `/proc/<pid>/statm` sums them
    /// exactly. Reading it for every process would double the cost of a
    /// scan, so only the processes that are reported (service members and
    /// listed processes) are refined.
    pub fn refine_rss(&mut self, index: usize, buf: &mut ReadBuf) {
        let entry = &mut self.entries[index];
        if entry.rss_exact {
            return;
        }
        self.path.clear();
        let _ = write!(self.path, "/proc/{}/statm", entry.pid);
        let read = File::open(&self.path).and_then(|mut f| buf.fill(&mut f, true));
        let resident = read.ok().and_then(|()| {
            let text = std::str::from_utf8(buf.bytes()).ok()?;
            text.split_ascii_whitespace().nth(1)?.parse().ok()
        });
        if let Some(pages) = resident {
            entry.stat.rss_pages = pages;
        }
        entry.rss_exact = true;
    }

    /// Total threads of all processes.
    pub fn threads(&self) -> u64 {
        self.entries.iter().map(|e| u64::from(e.stat.threads)).sum()
    }

    /// Fills `out` with the `n` processes ranked highest by `key` (skipping
    /// zombies and those whose key is zero or unknown), highest first, each turned into
    /// a [`ProcessUsage`] by `usage`. The listed processes' resident sizes
    /// are refined first (see [`ProcessTable::refine_rss`]).
    pub fn top(
        &mut self,
        n: usize,
        key: impl Fn(&ProcEntry) -> Option<u64>,
        usage: impl Fn(&ProcEntry) -> ProcessUsage,
        buf: &mut ReadBuf,
        out: &mut Vec<ProcessUsage>,
    ) {
        out.clear();
        self.order.clear();
        self.order.extend(
            self.entries
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.stat.is_zombie() && key(e).is_some_and(|k| k > 0))
                .map(|(i, _)| i as u32),
        );
        let by_key_desc = |a: &u32, b: &u32| {
            let (a, b) = (&self.entries[*a as usize], &self.entries[*b as usize]);
            key(b).cmp(&key(a)).then(a.pid.cmp(&b.pid))
        };
        if self.order.len() > n && n > 0 {
            self.order.select_nth_unstable_by(n - 1, by_key_desc);
        }
        self.order.truncate(n);
        let order = std::mem::take(&mut self.order);
        for &i in &order {
            self.refine_rss(i as usize, buf);
        }
        self.order = order;
        let by_key_desc = |a: &u32, b: &u32| {
            let (a, b) = (&self.entries[*a as usize], &self.entries[*b as usize]);
            key(b).cmp(&key(a)).then(a.pid.cmp(&b.pid))
        };
        self.order.sort_unstable_by(by_key_desc);
        out.extend(self.order.iter().map(|i| usage(&self.entries[*i as usize])));
    }
}

/// Opens `/proc` for listing and for opening files relative to it.
fn open_proc_dir() -> Result<ProcDir> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let list = Dir::open("/proc", flags, Mode::empty());
    let fd = open("/proc", flags, Mode::empty());
    match (list, fd) {
        (Ok(list), Ok(fd)) => Ok(ProcDir { list, fd }),
        (Err(e), _) | (_, Err(e)) => Err(Error::io("open", "/proc", e.into())),
    }
}

/// The pid a `/proc` entry names, if it is a process directory.
fn parse_pid(name: &[u8]) -> Option<u32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uptime_ticks() -> u64 {
        let text = std::fs::read_to_string("/proc/uptime").unwrap();
        let secs: f64 = text.split_whitespace().next().unwrap().parse().unwrap();
        (secs * 100.0) as u64
    }

    #[test]
    fn scan_finds_own_process_and_measures_deltas() {
        let mut table = ProcessTable::new();
        let mut buf = ReadBuf::default();
        table.scan(&mut buf, uptime_ticks()).unwrap();
        let own = std::process::id();
        let i = table.index_of(own).expect("own process listed");
        assert_eq!(table.entries[i].cpu_delta, None);
        assert!(table.entries.windows(2).all(|w| w[0].pid < w[1].pid));
        assert!(table.threads() >= table.entries.len() as u64);
        table.scan(&mut buf, uptime_ticks()).unwrap();
        let i = table.index_of(own).unwrap();
        assert!(table.entries[i].cpu_delta.is_some());
        assert_eq!(table.index_of(u32::MAX), None);
    }

    #[test]
    fn exited_processes_leave_the_table_and_close_their_files() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut table = ProcessTable::new();
        let mut buf = ReadBuf::default();
        table.scan(&mut buf, uptime_ticks()).unwrap();
        table.scan(&mut buf, uptime_ticks()).unwrap();
        let i = table.index_of(pid).expect("child listed");
        assert_eq!(table.entries[i].cpu_delta, Some(0));
        assert!(
            table.previous[&pid].file.is_some(),
            "kept open for the next scan"
        );
        let open = table.previous.values().filter(|k| k.file.is_some()).count();
        assert_eq!(open, table.previous.len().min(MAX_OPEN_STATS));
        child.kill().unwrap();
        child.wait().unwrap();
        table.scan(&mut buf, uptime_ticks()).unwrap();
        assert_eq!(table.index_of(pid), None);
        assert!(!table.previous.contains_key(&pid));
    }

    #[test]
    fn top_ranks_by_key_and_skips_zero() {
        let mut table = ProcessTable::new();
        for (pid, rss) in [(1, 5), (2, 0), (3, 9), (4, 7)] {
            table.entries.push(ProcEntry {
                pid,
                stat: PidStat {
                    rss_pages: rss,
                    ..PidStat::default()
                },
                cpu_delta: None,
                owner: 0,
                visit: 0,
                rss_exact: true,
            });
        }
        let mut out = Vec::new();
        let usage = |e: &ProcEntry| ProcessUsage {
            pid: e.pid,
            ..ProcessUsage::default()
        };
        table.top(
            2,
            |e| Some(e.stat.rss_pages),
            usage,
            &mut ReadBuf::default(),
            &mut out,
        );
        assert_eq!(out.iter().map(|p| p.pid).collect::<Vec<_>>(), [3, 4]);
        table.top(
            10,
            |e| Some(e.stat.rss_pages),
            usage,
            &mut ReadBuf::default(),
            &mut out,
        );
        assert_eq!(out.iter().map(|p| p.pid).collect::<Vec<_>>(), [3, 4, 1]);
        table.top(
            10,
            |e| e.cpu_delta,
            usage,
            &mut ReadBuf::default(),
            &mut out,
        );
        assert!(out.is_empty());
    }

    #[test]
    fn only_numeric_names_are_pids() {
        assert_eq!(parse_pid(b"123"), Some(123));
        assert_eq!(parse_pid(b"self"), None);
        assert_eq!(parse_pid(b""), None);
        assert_eq!(parse_pid(b"99999999999"), None);
    }
}

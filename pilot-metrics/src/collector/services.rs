//! Per-service usage: which processes belong to a service (its process
//! tree, its session, its cgroup) and what they use together.

use std::fs;
use std::path::{Path, PathBuf};

use super::processes::ProcessTable;
use crate::precision;
use crate::procfs::ReadBuf;
use crate::snapshot::ServiceUsage;

/// A service to measure, as the service manager knows it right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTarget {
    /// The service name, `<project>-g<generation>` for Pilot's releases.
    pub service: String,
    /// Main pid of the service. Its whole process tree is measured, and, when
    /// it leads its own session (as the embedded supervisor's services do),
    /// every process of that session, including those whose parent exited.
    pub root_pid: Option<u32>,
    /// The service's cgroup directory (cgroup v2, or a v1 hierarchy), when
    /// the service manager gives one: every process listed in its
    /// `cgroup.procs` or that of a child cgroup is measured as well.
    pub cgroup: Option<PathBuf>,
}

impl ServiceTarget {
    /// A service measured through its main process.
    pub fn process(service: impl Into<String>, root_pid: u32) -> Self {
        ServiceTarget {
            service: service.into(),
            root_pid: Some(root_pid),
            cgroup: None,
        }
    }

    /// A service measured through its cgroup.
    pub fn cgroup(service: impl Into<String>, cgroup: impl Into<PathBuf>) -> Self {
        ServiceTarget {
            service: service.into(),
            root_pid: None,
            cgroup: Some(cgroup.into()),
        }
    }

    /// The project this service belongs to (see [`project_of`]).
    pub fn project(&self) -> &str {
        project_of(&self.service)
    }
}

/// The project of a service name: `shop-g12` belongs to `shop`; a name
/// without a `-g<generation>` suffix is its own project.
pub fn project_of(service: &str) -> &str {
    match service.rsplit_once("-g") {
        Some((project, generation))
            if !project.is_empty()
                && !generation.is_empty()
                && generation.bytes().all(|b| b.is_ascii_digit()) =>
        {
            project
        }
        _ => service,
    }
}

/// Reusable buffers for [`measure`].
#[derive(Debug, Default)]
pub(crate) struct ServiceScratch {
    /// (parent pid, entry index), sorted.
    by_parent: Vec<(u32, u32)>,
    /// Entry indexes still to visit.
    stack: Vec<u32>,
    /// Entry indexes of the current service.
    members: Vec<u32>,
    /// Content of a `cgroup.procs` file.
    cgroup_procs: ReadBuf,
    /// Content of a `statm` file.
    statm: ReadBuf,
}

/// Clock facts needed to turn ticks and pages into percent and bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Units {
    /// Clock ticks per second (`USER_HZ`).
    pub ticks_per_sec: f64,
    /// Bytes per page.
    pub page_size: u64,
}

impl Units {
    /// `ticks` of CPU time over `secs` seconds, in percent of one core
    /// rounded to 0.01.
    pub fn cpu_percent(&self, ticks: u64, secs: f64) -> f64 {
        precision::percent(ticks as f64 / self.ticks_per_sec / secs * 100.0)
    }
}

/// Measures each target over the scanned `table` into `out` (one entry per
/// target, in order), and marks each claimed process with its target.
/// `elapsed_secs` is the time since the previous scan, if any.
pub(crate) fn measure(
    table: &mut ProcessTable,
    targets: &[ServiceTarget],
    units: Units,
    elapsed_secs: Option<f64>,
    scratch: &mut ServiceScratch,
    out: &mut Vec<ServiceUsage>,
) {
    out.truncate(targets.len());
    for entry in &mut table.entries {
        entry.owner = 0;
        entry.visit = 0;
    }
    scratch.by_parent.clear();
    scratch.by_parent.extend(
        table
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.stat.ppid, i as u32)),
    );
    scratch.by_parent.sort_unstable();
    for (t, target) in targets.iter().enumerate() {
        let mark = t as u32 + 1;
        gather(table, target, mark, scratch);
        let mut usage = ServiceUsage {
            cpu_percent: elapsed_secs.map(|_| 0.0),
            ..ServiceUsage::default()
        };
        let mut cpu_ticks = 0u64;
        for &i in &scratch.members {
            table.refine_rss(i as usize, &mut scratch.statm);
            let entry = &mut table.entries[i as usize];
            entry.owner = mark;
            usage.processes += 1;
            usage.threads += u64::from(entry.stat.threads);
            usage.rss_bytes += entry.stat.rss_pages * units.page_size;
            cpu_ticks += entry.cpu_delta.unwrap_or(0);
        }
        if let Some(secs) = elapsed_secs.filter(|s| *s > 0.0) {
            usage.cpu_percent = Some(units.cpu_percent(cpu_ticks, secs));
        }
        match out.get_mut(t) {
            Some(slot) => {
                let (mut service, mut project) = (
                    std::mem::take(&mut slot.service),
                    std::mem::take(&mut slot.project),
                );
                service.clear();
                service.push_str(&target.service);
                project.clear();
                project.push_str(target.project());
                *slot = ServiceUsage {
                    service,
                    project,
                    ..usage
                };
            }
            None => out.push(ServiceUsage {
                service: target.service.clone(),
                project: target.project().to_owned(),
                ..usage
            }),
        }
    }
}

/// Collects the entry indexes of `target`'s processes into `scratch.members`.
fn gather(
    table: &mut ProcessTable,
    target: &ServiceTarget,
    mark: u32,
    scratch: &mut ServiceScratch,
) {
    scratch.members.clear();
    scratch.stack.clear();
    if let Some(root) = target.root_pid.and_then(|pid| table.index_of(pid)) {
        scratch.stack.push(root as u32);
        let root_pid = table.entries[root].pid;
        if table.entries[root].stat.session == root_pid {
            scratch.stack.extend(
                table
                    .entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.stat.session == root_pid)
                    .map(|(i, _)| i as u32),
            );
        }
    }
    if let Some(cgroup) = &target.cgroup {
        push_cgroup_members(table, cgroup, &mut scratch.cgroup_procs, &mut scratch.stack);
    }
    // Every process reached, and all its descendants.
    while let Some(i) = scratch.stack.pop() {
        let entry = &mut table.entries[i as usize];
        if entry.visit == mark {
            continue;
        }
        entry.visit = mark;
        scratch.members.push(i);
        let pid = entry.pid;
        let start = scratch.by_parent.partition_point(|(ppid, _)| *ppid < pid);
        scratch.stack.extend(
            scratch.by_parent[start..]
                .iter()
                .take_while(|(ppid, _)| *ppid == pid)
                .map(|(_, child)| *child),
        );
    }
}

/// Pushes the entry index of every process in `cgroup` and its child
/// cgroups. A cgroup that vanished (the service stopped) has no processes.
fn push_cgroup_members(table: &ProcessTable, cgroup: &Path, buf: &mut ReadBuf, out: &mut Vec<u32>) {
    let read =
        fs::File::open(cgroup.join("cgroup.procs")).and_then(|mut f| buf.fill(&mut f, false));
    if read.is_ok() {
        out.extend(
            buf.bytes()
                .split(|b| *b == b'\n')
                .filter_map(|line| std::str::from_utf8(line).ok()?.trim().parse().ok())
                .filter_map(|pid| table.index_of(pid))
                .map(|i| i as u32),
        );
    }
    let Ok(children) = fs::read_dir(cgroup) else {
        return;
    };
    for child in children.flatten() {
        if child.file_type().is_ok_and(|t| t.is_dir()) {
            push_cgroup_members(table, &child.path(), buf, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::processes::ProcEntry;
    use crate::procfs::pidstat::PidStat;

    fn entry(pid: u32, ppid: u32, session: u32, delta: u64) -> ProcEntry {
        ProcEntry {
            pid,
            stat: PidStat {
                ppid,
                session,
                threads: 2,
                rss_pages: 10,
                ..PidStat::default()
            },
            cpu_delta: Some(delta),
            owner: 0,
            visit: 0,
            rss_exact: true,
        }
    }

    fn table(entries: &[ProcEntry]) -> ProcessTable {
        let mut table = ProcessTable::new();
        table.entries.extend_from_slice(entries);
        table
    }

    const UNITS: Units = Units {
        ticks_per_sec: 100.0,
        page_size: 4096,
    };

    #[test]
    fn project_names_drop_the_generation() {
        assert_eq!(project_of("shop-g12"), "shop");
        assert_eq!(project_of("my-g-app-g3"), "my-g-app");
        assert_eq!(project_of("shop"), "shop");
        assert_eq!(project_of("shop-gx"), "shop-gx");
        assert_eq!(project_of("-g1"), "-g1");
        assert_eq!(project_of("shop-g"), "shop-g");
    }

    #[test]
    fn tree_and_session_are_summed_once() {
        // 10 leads session 10; 11 and 12 are its children; 13 (child of 12)
        // moved to its own session; 14 stayed in session 10 after its parent
        // exited (reparented to 1); 20 is unrelated.
        let mut t = table(&[
            entry(1, 0, 1, 0),
            entry(10, 1, 10, 5),
            entry(11, 10, 10, 50),
            entry(12, 10, 10, 50),
            entry(13, 12, 13, 20),
            entry(14, 1, 10, 1),
            entry(20, 1, 20, 99),
        ]);
        let mut out = Vec::new();
        let targets = [ServiceTarget::process("shop-g3", 10)];
        measure(
            &mut t,
            &targets,
            UNITS,
            Some(1.0),
            &mut ServiceScratch::default(),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        let s = &out[0];
        assert_eq!(
            (s.service.as_str(), s.project.as_str()),
            ("shop-g3", "shop")
        );
        assert_eq!(s.processes, 5);
        assert_eq!(s.threads, 10);
        assert_eq!(s.rss_bytes, 5 * 10 * 4096);
        assert_eq!(s.cpu_percent, Some(126.0));
        let owned: Vec<u32> = t
            .entries
            .iter()
            .filter(|e| e.owner == 1)
            .map(|e| e.pid)
            .collect();
        assert_eq!(owned, [10, 11, 12, 13, 14]);
    }

    #[test]
    fn a_root_outside_its_session_brings_only_its_tree() {
        let mut t = table(&[
            entry(5, 1, 5, 0),
            entry(6, 5, 5, 0),
            entry(7, 6, 5, 0),
            entry(8, 5, 5, 0),
        ]);
        let mut out = Vec::new();
        let targets = [
            ServiceTarget::process("api", 6),
            ServiceTarget::process("gone-g1", 999),
        ];
        measure(
            &mut t,
            &targets,
            UNITS,
            None,
            &mut ServiceScratch::default(),
            &mut out,
        );
        assert_eq!(out[0].processes, 2);
        assert_eq!(out[0].cpu_percent, None);
        assert_eq!(out[1].processes, 0);
        assert_eq!(out[1].project, "gone");
    }

    #[test]
    fn cgroup_members_and_child_cgroups_count() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("cgroup.procs"), "30\n").unwrap();
        fs::create_dir(dir.path().join("child")).unwrap();
        fs::write(dir.path().join("child/cgroup.procs"), "32\n999\n").unwrap();
        let mut t = table(&[
            entry(30, 1, 30, 10),
            entry(31, 30, 30, 10),
            entry(32, 1, 32, 10),
            entry(33, 1, 33, 10),
        ]);
        let mut out = vec![ServiceUsage::default(); 3];
        let targets = [ServiceTarget::cgroup("db", dir.path())];
        measure(
            &mut t,
            &targets,
            UNITS,
            Some(2.0),
            &mut ServiceScratch::default(),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].processes, 3);
        assert_eq!(out[0].cpu_percent, Some(15.0));
        let gone = [ServiceTarget::cgroup("db", dir.path().join("missing"))];
        measure(
            &mut t,
            &gone,
            UNITS,
            Some(2.0),
            &mut ServiceScratch::default(),
            &mut out,
        );
        assert_eq!(out[0].processes, 0);
    }

    #[test]
    fn cpu_percent_is_rounded_to_hundredths() {
        assert_eq!(UNITS.cpu_percent(2, 3.0), 0.67);
        assert_eq!(UNITS.cpu_percent(1001, 10.000_213), 100.1);
        assert_eq!(UNITS.cpu_percent(0, 10.0), 0.0);
        let mut t = table(&[entry(40, 1, 40, 7), entry(41, 40, 40, 0)]);
        let mut out = Vec::new();
        measure(
            &mut t,
            &[ServiceTarget::process("api-g2", 40)],
            UNITS,
            Some(3.0),
            &mut ServiceScratch::default(),
            &mut out,
        );
        assert_eq!(out[0].cpu_percent, Some(2.33));
    }
}

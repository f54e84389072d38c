//! `/proc/stat`: CPU time per mode, running and blocked tasks, boot time.

use super::parse_u64s;

/// Cumulative CPU time per mode, in clock ticks (`USER_HZ`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CpuTicks {
    /// Normal processes in user mode (guest time included, as the kernel counts it).
    pub user: u64,
    /// Niced processes in user mode.
    pub nice: u64,
    /// Kernel mode.
    pub system: u64,
    /// Idle.
    pub idle: u64,
    /// Idle while I/O was outstanding.
    pub iowait: u64,
    /// Serving hardware interrupts.
    pub irq: u64,
    /// Serving soft interrupts.
    pub softirq: u64,
    /// Stolen by the hypervisor for other guests.
    pub steal: u64,
}

impl CpuTicks {
    /// All ticks of the eight modes.
    pub fn total(&self) -> u64 {
        self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
    }

    fn from_fields(fields: [u64; 8]) -> Self {
        let [user, nice, system, idle, iowait, irq, softirq, steal] = fields;
        CpuTicks {
            user,
            nice,
            system,
            idle,
            iowait,
            irq,
            softirq,
            steal,
        }
    }
}

/// The parts of `/proc/stat` the collector uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KernelStat {
    /// All CPUs together (the `cpu` line).
    pub total: CpuTicks,
    /// One entry per online CPU: its number and its ticks.
    pub cores: Vec<(u32, CpuTicks)>,
    /// Tasks runnable right now.
    pub procs_running: u64,
    /// Tasks blocked on I/O right now.
    pub procs_blocked: u64,
    /// Boot time, seconds since the Unix epoch.
    pub boot_time: u64,
}

/// Parses `text` into `out`, reusing its per-core vector.
pub(crate) fn parse(text: &str, out: &mut KernelStat) -> Result<(), &'static str> {
    out.cores.clear();
    let mut saw_total = false;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(key) = fields.next() else { continue };
        if let Some(cpu) = key.strip_prefix("cpu") {
            let mut ticks = [0u64; 8];
            // Kernels before 2.6.11 lack steal; older ones lack more.
            if parse_u64s(fields, &mut ticks) < 4 {
                return Err("a `cpu` line has fewer than four numbers");
            }
            let ticks = CpuTicks::from_fields(ticks);
            if cpu.is_empty() {
                out.total = ticks;
                saw_total = true;
            } else {
                let index = cpu.parse().map_err(|_| "a `cpuN` line has no CPU number")?;
                out.cores.push((index, ticks));
            }
            continue;
        }
        let value = || -> Result<u64, &'static str> {
            line.split_ascii_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .ok_or("a counter line has no number")
        };
        match key {
            "procs_running" => out.procs_running = value()?,
            "procs_blocked" => out.procs_blocked = value()?,
            "btime" => out.boot_time = value()?,
            _ => {}
        }
    }
    if !saw_total {
        return Err("no `cpu` line");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "cpu  212817 5 47510 194886 867 1 7896 68 0 0
cpu0 103340 2 23185 101184 217 0 3987 28 0 0
cpu1 109476 3 24325 93701 650 1 3909 40 0 0
intr 1234 0 0 5
ctxt 98765
btime 1700000000
processes 16000
procs_running 3
procs_blocked 1
softirq 1 2 3
";

    #[test]
    fn parses_total_cores_and_counters() {
        let mut stat = KernelStat::default();
        parse(SAMPLE, &mut stat).unwrap();
        assert_eq!(
            stat.total,
            CpuTicks {
                user: 212817,
                nice: 5,
                system: 47510,
                idle: 194886,
                iowait: 867,
                irq: 1,
                softirq: 7896,
                steal: 68
            }
        );
        assert_eq!(stat.cores.len(), 2);
        assert_eq!(stat.cores[1].0, 1);
        assert_eq!(stat.cores[1].1.user, 109476);
        assert_eq!((stat.procs_running, stat.procs_blocked), (3, 1));
        assert_eq!(stat.boot_time, 1_700_000_000);
        assert_eq!(
            stat.total.total(),
            212817 + 5 + 47510 + 194886 + 867 + 1 + 7896 + 68
        );
    }

    #[test]
    fn reparsing_replaces_the_cores() {
        let mut stat = KernelStat::default();
        parse(SAMPLE, &mut stat).unwrap();
        parse("cpu 1 2 3 4\ncpu3 1 2 3 4\n", &mut stat).unwrap();
        assert_eq!(stat.cores.len(), 1);
        assert_eq!(stat.cores[0].0, 3);
        assert_eq!(stat.total.steal, 0);
    }

    #[test]
    fn rejects_text_without_a_cpu_line() {
        assert_eq!(
            parse("btime 1\n", &mut KernelStat::default()),
            Err("no `cpu` line")
        );
        assert!(parse("cpu 1 2\n", &mut KernelStat::default()).is_err());
    }
}

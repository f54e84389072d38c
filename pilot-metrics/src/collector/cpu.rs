//! CPU usage from two readings of `/proc/stat`.

use crate::precision;
use crate::procfs::stat::{CpuTicks, KernelStat};
use crate::snapshot::{CpuModes, CpuUsage};

/// Share of each mode between two readings, in percent rounded to 0.01;
/// `None` when no tick passed.
pub(crate) fn modes(now: &CpuTicks, before: &CpuTicks) -> Option<CpuModes> {
    let total = now.total().checked_sub(before.total()).filter(|t| *t > 0)? as f64;
    let share = |n: u64, b: u64| precision::percent(n.saturating_sub(b) as f64 * 100.0 / total);
    Some(CpuModes {
        user: share(now.user, before.user),
        nice: share(now.nice, before.nice),
        system: share(now.system, before.system),
        idle: share(now.idle, before.idle),
        iowait: share(now.iowait, before.iowait),
        irq: share(now.irq, before.irq),
        softirq: share(now.softirq, before.softirq),
        steal: share(now.steal, before.steal),
    })
}

/// Fills `out` with the usage between two readings; false when no tick
/// passed. CPUs that came online in between are left out until the next one.
pub(crate) fn usage(now: &KernelStat, before: &KernelStat, out: &mut CpuUsage) -> bool {
    let Some(total) = modes(&now.total, &before.total) else {
        return false;
    };
    out.total = total;
    out.cores.clear();
    for (index, ticks) in &now.cores {
        let previous = before.cores.iter().find(|(i, _)| i == index);
        if let Some(m) = previous.and_then(|(_, b)| modes(ticks, b)) {
            out.cores.push((*index, m));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticks(user: u64, system: u64, idle: u64, iowait: u64) -> CpuTicks {
        CpuTicks {
            user,
            system,
            idle,
            iowait,
            ..CpuTicks::default()
        }
    }

    #[test]
    fn shares_add_up_and_usage_excludes_idle_and_iowait() {
        let m = modes(&ticks(160, 20, 110, 10), &ticks(100, 10, 40, 0)).unwrap();
        assert_eq!(
            (m.user, m.system, m.idle, m.iowait),
            (40.0, 6.67, 46.67, 6.67)
        );
        // Each mode is within 0.005 of its exact share.
        assert!((m.named().iter().map(|(_, v)| v).sum::<f64>() - 100.0).abs() <= 0.04);
        // 100 - 46.67 - 6.67: within 0.01 of the exact 46.666….
        assert_eq!(m.usage(), 46.66);
        assert_eq!(modes(&ticks(1, 1, 1, 1), &ticks(1, 1, 1, 1)), None);
    }

    #[test]
    fn cores_are_matched_by_number() {
        let before = KernelStat {
            total: ticks(0, 0, 0, 0),
            cores: vec![(0, ticks(0, 0, 0, 0)), (1, ticks(0, 0, 0, 0))],
            ..KernelStat::default()
        };
        let now = KernelStat {
            total: ticks(50, 0, 150, 0),
            cores: vec![(1, ticks(25, 0, 75, 0)), (2, ticks(1, 0, 1, 0))],
            ..KernelStat::default()
        };
        let mut out = CpuUsage::default();
        assert!(usage(&now, &before, &mut out));
        assert_eq!(out.total.usage(), 25.0);
        assert_eq!(out.cores.len(), 1);
        assert_eq!(out.cores[0].0, 1);
        assert!(!usage(&now, &now, &mut out));
    }
}

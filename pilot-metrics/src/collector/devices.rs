//! Which block devices count as disks, and per-second rates from counter
//! deltas for disks and network interfaces.

use std::path::Path;

use crate::precision;
use crate::procfs::Named;
use crate::snapshot::{DiskCounters, DiskRates, NetCounters, NetRates};

/// Decides, once per device name, whether a block device is a whole disk:
/// partitions (their I/O is already in the disk's), loop, RAM and floppy
/// devices are not.
#[derive(Debug, Default)]
pub(crate) struct DiskFilter {
    known: Vec<(String, bool)>,
}

impl DiskFilter {
    /// Whether `name` is a whole disk.
    pub fn is_disk(&mut self, name: &str) -> bool {
        if let Some((_, disk)) = self.known.iter().find(|(n, _)| n == name) {
            return *disk;
        }
        let disk = !["loop", "ram", "zram", "fd"]
            .iter()
            .any(|p| name.starts_with(p))
            && !Path::new("/sys/class/block")
                .join(name)
                .join("partition")
                .exists();
        self.known.push((name.to_owned(), disk));
        disk
    }
}

/// Counters of named devices at this and at the previous collection.
#[derive(Debug, Default)]
pub(crate) struct CounterTable<T> {
    now: Vec<Named<T>>,
    before: Vec<Named<T>>,
}

impl<T> CounterTable<T> {
    /// The table the parser fills with this collection's counters.
    pub fn now_mut(&mut self) -> &mut Vec<Named<T>> {
        &mut self.now
    }

    /// Writes one entry of `out` per device with `set(entry, name, counters,
    /// previous counters)`, reusing `out`'s entries, and keeps this
    /// collection's counters as the previous ones for the next.
    pub fn publish<O: Default>(
        &mut self,
        out: &mut Vec<O>,
        mut set: impl FnMut(&mut O, &str, &T, Option<&T>),
    ) {
        out.truncate(self.now.len());
        for (i, now) in self.now.iter().enumerate() {
            if i == out.len() {
                out.push(O::default());
            }
            set(
                &mut out[i],
                &now.name,
                &now.value,
                previous(&self.before, i, &now.name),
            );
        }
        std::mem::swap(&mut self.now, &mut self.before);
    }
}

/// Replaces the content of `s` with `value`, keeping its allocation.
pub(crate) fn set(s: &mut String, value: &str) {
    s.clear();
    s.push_str(value);
}

/// The previous value of entry `name`, looked up first at `index` (tables
/// rarely change order between collections).
fn previous<'a, T>(table: &'a [Named<T>], index: usize, name: &str) -> Option<&'a T> {
    match table.get(index) {
        Some(entry) if entry.name == name => Some(&entry.value),
        _ => table.iter().find(|e| e.name == name).map(|e| &e.value),
    }
}

/// `(now - before) / secs` rounded to 0.01, or `None` when the counter went
/// backwards.
fn rate(now: u64, before: u64, secs: f64) -> Option<f64> {
    now.checked_sub(before)
        .map(|d| precision::per_second(d as f64 / secs))
}

/// Network rates between two readings `secs` apart.
pub(crate) fn net_rates(now: &NetCounters, before: &NetCounters, secs: f64) -> Option<NetRates> {
    Some(NetRates {
        rx_bytes: rate(now.rx_bytes, before.rx_bytes, secs)?,
        tx_bytes: rate(now.tx_bytes, before.tx_bytes, secs)?,
        rx_packets: rate(now.rx_packets, before.rx_packets, secs)?,
        tx_packets: rate(now.tx_packets, before.tx_packets, secs)?,
    })
}

/// Disk rates between two readings `secs` apart.
pub(crate) fn disk_rates(
    now: &DiskCounters,
    before: &DiskCounters,
    secs: f64,
) -> Option<DiskRates> {
    Some(DiskRates {
        read_bytes: rate(now.read_bytes, before.read_bytes, secs)?,
        written_bytes: rate(now.written_bytes, before.written_bytes, secs)?,
        reads: rate(now.reads, before.reads, secs)?,
        writes: rate(now.writes, before.writes, secs)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_and_ram_devices_are_not_disks() {
        let mut filter = DiskFilter::default();
        assert!(!filter.is_disk("loop0"));
        assert!(!filter.is_disk("zram0"));
        assert!(filter.is_disk("no-such-device"));
        assert!(filter.is_disk("no-such-device"));
        assert_eq!(filter.known.len(), 3);
    }

    #[test]
    fn rates_divide_deltas_and_reject_resets() {
        let before = NetCounters {
            rx_bytes: 1000,
            tx_bytes: 500,
            ..NetCounters::default()
        };
        let now = NetCounters {
            rx_bytes: 3000,
            tx_bytes: 1500,
            rx_packets: 4,
            ..NetCounters::default()
        };
        let r = net_rates(&now, &before, 2.0).unwrap();
        assert_eq!((r.rx_bytes, r.tx_bytes, r.rx_packets), (1000.0, 500.0, 2.0));
        assert_eq!(net_rates(&before, &now, 2.0), None);
        let d = DiskCounters {
            read_bytes: 4096,
            ..DiskCounters::default()
        };
        assert_eq!(
            disk_rates(&d, &DiskCounters::default(), 4.0)
                .unwrap()
                .read_bytes,
            1024.0
        );
    }

    #[test]
    fn rates_are_rounded_to_hundredths() {
        let before = NetCounters::default();
        let now = NetCounters {
            rx_bytes: 612_331,
            tx_bytes: 2,
            rx_packets: 1,
            ..NetCounters::default()
        };
        let r = net_rates(&now, &before, 10.000_213).unwrap();
        assert_eq!(
            (r.rx_bytes, r.tx_bytes, r.rx_packets, r.tx_packets),
            (61_231.8, 0.2, 0.1, 0.0)
        );
        let d = DiskCounters {
            reads: 2,
            written_bytes: 10,
            ..DiskCounters::default()
        };
        let r = disk_rates(&d, &DiskCounters::default(), 3.0).unwrap();
        assert_eq!((r.reads, r.written_bytes), (0.67, 3.33));
    }

    #[test]
    fn published_entries_carry_the_previous_counters() {
        let mut table = CounterTable::<u64>::default();
        let mut out: Vec<(String, u64, Option<u64>)> = Vec::new();
        let set =
            |o: &mut (String, u64, Option<u64>), name: &str, now: &u64, before: Option<&u64>| {
                *o = (name.to_owned(), *now, before.copied());
            };
        table.now_mut().push(Named {
            name: "eth0".into(),
            value: 5,
        });
        table.publish(&mut out, set);
        assert_eq!(out, [("eth0".to_owned(), 5, None)]);
        table.now_mut().clear();
        table.now_mut().push(Named {
            name: "eth1".into(),
            value: 1,
        });
        table.now_mut().push(Named {
            name: "eth0".into(),
            value: 9,
        });
        table.publish(&mut out, set);
        assert_eq!(out[0], ("eth1".to_owned(), 1, None));
        assert_eq!(out[1], ("eth0".to_owned(), 9, Some(5)));
    }

    #[test]
    fn previous_values_are_found_by_name() {
        let table = vec![
            Named {
                name: "lo".to_owned(),
                value: 1,
            },
            Named {
                name: "eth0".to_owned(),
                value: 2,
            },
        ];
        assert_eq!(previous(&table, 1, "eth0"), Some(&2));
        assert_eq!(previous(&table, 0, "eth0"), Some(&2));
        assert_eq!(previous(&table, 5, "wlan0"), None);
    }
}

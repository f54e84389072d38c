//! `/proc/diskstats`: I/O counters per block device.

use super::{Named, parse_u64s, put_named};

/// Bytes per sector in `/proc/diskstats`, whatever the device's real sector size.
const SECTOR_BYTES: u64 = 512;

/// Cumulative I/O counters of one block device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskCounters {
    /// Reads completed.
    pub reads: u64,
    /// Bytes read.
    pub read_bytes: u64,
    /// Writes completed.
    pub writes: u64,
    /// Bytes written.
    pub written_bytes: u64,
    /// Milliseconds the device had I/O in flight.
    pub io_time_ms: u64,
}

/// Parses `text` into `table`, keeping only devices for which `keep(name)`
/// is true, reusing the table's entries.
pub(crate) fn parse(
    text: &str,
    table: &mut Vec<Named<DiskCounters>>,
    mut keep: impl FnMut(&str) -> bool,
) -> Result<(), &'static str> {
    let mut count = 0;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(_major), Some(_minor), Some(name)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let mut v = [0u64; 10];
        if parse_u64s(fields, &mut v) < 10 {
            return Err("a device line has fewer than ten counters");
        }
        if !keep(name) {
            continue;
        }
        let counters = DiskCounters {
            reads: v[0],
            read_bytes: v[2] * SECTOR_BYTES,
            writes: v[4],
            written_bytes: v[6] * SECTOR_BYTES,
            io_time_ms: v[9],
        };
        put_named(table, count, name, counters);
        count += 1;
    }
    table.truncate(count);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kept_devices() {
        let text = "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n \
 254       0 vda 181956 12118 12162474 213883 80767 55010 28883768 152039 0 27300 372998 38363 15 16219544 6219 14658 856\n";
        let mut table = Vec::new();
        parse(text, &mut table, |name| !name.starts_with("loop")).unwrap();
        assert_eq!(table.len(), 1);
        assert_eq!(table[0].name, "vda");
        assert_eq!(
            table[0].value,
            DiskCounters {
                reads: 181956,
                read_bytes: 12162474 * 512,
                writes: 80767,
                written_bytes: 28883768 * 512,
                io_time_ms: 27300
            }
        );
        assert!(parse("8 0 sda 1 2 3\n", &mut table, |_| true).is_err());
    }
}

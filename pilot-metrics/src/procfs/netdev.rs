//! `/proc/net/dev`: traffic counters per network interface.

use super::{Named, parse_u64s, put_named};

/// Cumulative counters of one interface since it appeared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetCounters {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Received packets dropped.
    pub rx_drops: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Packets dropped on sending.
    pub tx_drops: u64,
}

/// Parses `text` into `table` (one entry per interface, in the file's order),
/// reusing the table's entries.
pub(crate) fn parse(text: &str, table: &mut Vec<Named<NetCounters>>) -> Result<(), &'static str> {
    let mut count = 0;
    // Two header lines, then `name: 16 numbers`.
    for line in text.lines().skip(2) {
        let Some((name, numbers)) = line.split_once(':') else {
            return Err("an interface line has no `:`");
        };
        let mut v = [0u64; 16];
        if parse_u64s(numbers.split_ascii_whitespace(), &mut v) < 12 {
            return Err("an interface line has fewer than twelve numbers");
        }
        let counters = NetCounters {
            rx_bytes: v[0],
            rx_packets: v[1],
            rx_errors: v[2],
            rx_drops: v[3],
            tx_bytes: v[8],
            tx_packets: v[9],
            tx_errors: v[10],
            tx_drops: v[11],
        };
        put_named(table, count, name.trim(), counters);
        count += 1;
    }
    table.truncate(count);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_interface() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo: 4314573674 30996310    0    0    0     0          0         0 4314573674 30996310    0    0    0     0       0          0\n  \
eth0:1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n";
        let mut table = Vec::new();
        parse(text, &mut table).unwrap();
        assert_eq!(table.len(), 2);
        assert_eq!(table[0].name, "lo");
        assert_eq!(table[0].value.rx_bytes, 4314573674);
        assert_eq!(
            table[1].value,
            NetCounters {
                rx_bytes: 1000,
                rx_packets: 10,
                rx_errors: 1,
                rx_drops: 2,
                tx_bytes: 2000,
                tx_packets: 20,
                tx_errors: 3,
                tx_drops: 4
            }
        );
        parse("h\nh\n", &mut table).unwrap();
        assert!(table.is_empty());
        assert!(parse("h\nh\neth0 1 2\n", &mut table).is_err());
    }
}

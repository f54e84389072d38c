//! `/proc/<pid>/stat`: one process's parent, session, CPU time, threads and
//! resident memory, all from a single read.

/// Longest command name the kernel keeps (`TASK_COMM_LEN` minus the NUL).
pub(crate) const COMM_LEN: usize = 15;

/// The fields of `/proc/<pid>/stat` the collector uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PidStat {
    /// Field 3: R, S, D, Z, ...
    pub state: u8,
    /// Field 4: parent pid.
    pub ppid: u32,
    /// Field 6: session id.
    pub session: u32,
    /// Fields 14 + 15: user plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Field 20: number of threads.
    pub threads: u32,
    /// Field 22: start time, in clock ticks after boot.
    pub start_ticks: u64,
    /// Field 24: resident set size, in pages.
    pub rss_pages: u64,
    /// Field 2: the command name, NUL-padded.
    pub comm: [u8; COMM_LEN],
}

impl PidStat {
    /// The command name (lossy for names that are not UTF-8).
    pub fn comm(&self) -> std::borrow::Cow<'_, str> {
        let len = self.comm.iter().position(|b| *b == 0).unwrap_or(COMM_LEN);
        String::from_utf8_lossy(&self.comm[..len])
    }

    /// Whether the process has exited and waits to be reaped.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, b'Z' | b'X' | b'x')
    }
}

/// Parses the content of `/proc/<pid>/stat`. The command name may hold
/// spaces and parentheses, so fields are counted after its last `)`.
pub(crate) fn parse(bytes: &[u8]) -> Option<PidStat> {
    let open = bytes.iter().position(|b| *b == b'(')?;
    let close = bytes.iter().rposition(|b| *b == b')')?;
    let name = bytes.get(open + 1..close)?;
    let rest = std::str::from_utf8(bytes.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let mut stat = PidStat {
        state: *fields.next()?.as_bytes().first()?,
        ..PidStat::default()
    };
    let n = name.len().min(COMM_LEN);
    stat.comm[..n].copy_from_slice(&name[..n]);
    // `fields` now starts at field 4; `nth(k)` skips k fields.
    stat.ppid = fields.next()?.parse().ok()?; // 4
    stat.session = fields.nth(1)?.parse().ok()?; // 6
    let utime: u64 = fields.nth(7)?.parse().ok()?; // 14
    let stime: u64 = fields.next()?.parse().ok()?; // 15
    stat.cpu_ticks = utime + stime;
    stat.threads = fields.nth(4)?.parse().ok()?; // 20
    stat.start_ticks = fields.nth(1)?.parse().ok()?; // 22
    stat.rss_pages = fields.nth(1)?.parse::<i64>().ok()?.max(0).unsigned_abs(); // 24
    Some(stat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_counted_after_the_command_name() {
        // Fields numbered as in proc(5): 1 pid, 2 comm, 3 state, ...
        let mut line = String::from(
            "4242 (my (odd) name) S 17 4242 4240 0 -1 4194560 10 0 0 0 250 50 0 0 20 0 3 0 987654 1000000 321",
        );
        line.push_str(" 18446744073709551615 1 2 3\n");
        let st = parse(line.as_bytes()).expect("parses");
        assert_eq!(st.state, b'S');
        assert_eq!(st.ppid, 17);
        assert_eq!(st.session, 4240);
        assert_eq!(st.cpu_ticks, 300);
        assert_eq!(st.threads, 3);
        assert_eq!(st.start_ticks, 987654);
        assert_eq!(st.rss_pages, 321);
        assert_eq!(st.comm(), "my (odd) name");
        assert!(!st.is_zombie());
    }

    #[test]
    fn long_names_are_cut_and_short_lines_rejected() {
        let st =
            parse(b"1 (a-very-long-command-name) Z 0 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 0 0")
                .unwrap();
        assert_eq!(st.comm(), "a-very-long-com");
        assert!(st.is_zombie());
        assert_eq!(parse(b"1 (short) S 0 1"), None);
        assert_eq!(parse(b"no parentheses"), None);
    }

    #[test]
    fn reads_own_process() {
        let bytes = std::fs::read("/proc/thread-self/stat").unwrap();
        let st = parse(&bytes).unwrap();
        assert!(st.threads >= 1);
        assert!(st.rss_pages > 0);
        assert_eq!(st.state, b'R');
    }
}

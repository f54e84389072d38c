//! What the supervisor reads from `/proc`: process start times (to tell a
//! live service from a reused pid), process groups, and the marker variables
//! that tag every process of a service.

use std::fs;
use std::path::Path;

/// Name of the variable holding the service name in every service process.
pub(super) const SERVICE_VAR: &str = "PILOT_SERVICE";
/// Name of the variable holding the supervisor's state directory.
pub(super) const SUPERVISOR_VAR: &str = "PILOT_SUPERVISOR";

/// The parts of `/proc/<pid>/stat` the supervisor needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProcStat {
    /// Field 3: R, S, D, Z, ...
    pub state: char,
    /// Field 5: the process group.
    pub pgrp: u32,
    /// Field 6: the session.
    pub session: u32,
    /// Field 22: start time in clock ticks after boot.
    pub start_ticks: u64,
}

impl ProcStat {
    /// Whether the process has finished (a zombie waiting to be reaped or dead).
    pub fn is_dead(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses the text of `/proc/<pid>/stat`. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted after its last `)`.
pub(super) fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `fields[0]` is field 3 of the man page.
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// The stat of a process; `None` when it does not exist (or `/proc` is unreadable).
pub(super) fn stat(pid: u32) -> Option<ProcStat> {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .as_deref()
        .and_then(parse_stat)
}

/// Whether `pid` is alive and is the process that started at `start_ticks`
/// (not a later process that reused the pid).
pub(super) fn is_same_process(pid: u32, start_ticks: u64) -> bool {
    stat(pid).is_some_and(|s| !s.is_dead() && s.start_ticks == start_ticks)
}

/// The two marker variables of one service, as `NAME=value` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Markers {
    service: Vec<u8>,
    supervisor: Vec<u8>,
}

impl Markers {
    /// The markers of service `name` under the supervisor of `state_dir`.
    pub fn new(name: &str, state_dir: &Path) -> Self {
        Markers {
            service: format!("{SERVICE_VAR}={name}").into_bytes(),
            supervisor: format!("{SUPERVISOR_VAR}={}", state_dir.display()).into_bytes(),
        }
    }

    /// Whether a NUL-separated environment block holds both markers exactly.
    pub fn matches(&self, environ: &[u8]) -> bool {
        let mut service = false;
        let mut supervisor = false;
        for entry in environ.split(|b| *b == 0) {
            service |= entry == self.service.as_slice();
            supervisor |= entry == self.supervisor.as_slice();
        }
        service && supervisor
    }
}

/// Every live process (not this one) that belongs to a service: members of
/// process group `pgrp` (when given) and every process whose environment
/// carries the service's markers, wherever it moved to.
pub(super) fn service_processes(pgrp: Option<u32>, markers: &Markers) -> Vec<u32> {
    let own = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == own {
            continue;
        }
        let Some(st) = stat(pid) else { continue };
        if st.is_dead() {
            continue;
        }
        let in_group = pgrp.is_some_and(|g| st.pgrp == g);
        if in_group
            || fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| markers.matches(&env))
        {
            pids.push(pid);
        }
    }
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let mut line = String::from("4242 (my (odd) name) S 1 4242 4242 0 -1 4194560");
        // Fields 10..=21, then field 22 = start time, then more.
        for n in 10..=21 {
            line.push_str(&format!(" {n}"));
        }
        line.push_str(" 987654 12 13\n");
        let st = parse_stat(&line).expect("parses");
        assert_eq!(
            st,
            ProcStat {
                state: 'S',
                pgrp: 4242,
                session: 4242,
                start_ticks: 987654
            }
        );
        assert!(!st.is_dead());
        assert_eq!(parse_stat("12 (short) S 1"), None);
    }

    #[test]
    fn own_process_is_alive_with_a_stable_start_time() {
        let own = stat(std::process::id()).expect("own stat");
        assert!(is_same_process(std::process::id(), own.start_ticks));
        assert!(!is_same_process(std::process::id(), own.start_ticks + 1));
    }

    #[test]
    fn markers_match_exact_entries_only() {
        let m = Markers::new("web", Path::new("/var/run/sup"));
        assert!(m.matches(b"A=1\0PILOT_SERVICE=web\0PILOT_SUPERVISOR=/var/run/sup\0"));
        assert!(!m.matches(b"PILOT_SERVICE=web2\0PILOT_SUPERVISOR=/var/run/sup\0"));
        assert!(!m.matches(b"PILOT_SERVICE=web\0PILOT_SUPERVISOR=/var/run/sup2\0"));
        assert!(!m.matches(b"PILOT_SERVICE=web\0"));
    }
}

//! Login throttling: per user name and per client address, failed logins
//! beyond a few make every further attempt wait, twice as long after each
//! new failure; a successful login clears the count.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys tracked at once; the stalest are dropped beyond it.
const MAX_TRACKED: usize = 10_000;

/// How failed logins are throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failed attempts in a row (per user name, and per client address)
    /// before waiting is imposed (default 5).
    pub free_failures: u32,
    /// The wait after the `free_failures`-th failure; it doubles with every
    /// further failure (default 2 s).
    pub base_delay: Duration,
    /// The longest wait (default 15 min).
    pub max_delay: Duration,
    /// Failures are forgotten after this long without a new one (default 1 h).
    pub forget_after: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            free_failures: 5,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(3600),
        }
    }
}

impl LoginPolicy {
    /// The wait imposed after `failures` failures in a row, if any.
    fn delay_after(&self, failures: u32) -> Option<Duration> {
        let free = self.free_failures.max(1);
        if failures < free {
            return None;
        }
        let doublings = (failures - free).min(31);
        let delay = self
            .base_delay
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max_delay);
        Some(delay.min(self.max_delay))
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

/// Failed-login counts by key (`user:<name>`, `ip:<address>`).
#[derive(Debug)]
pub(crate) struct LoginLimiter {
    policy: LoginPolicy,
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginLimiter {
    /// A limiter applying `policy`.
    pub(crate) fn new(policy: LoginPolicy) -> Self {
        LoginLimiter {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long any of `keys` must still wait before trying again, if at all
    /// (the longest wait wins).
    pub(crate) fn wait(&self, keys: &[String], now: Instant) -> Option<Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|k| entries.get(k)?.locked_until)
            .filter_map(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
            .max()
    }

    /// Counts a failed attempt for every key; returns the wait now imposed, if any.
    pub(crate) fn record_failure(&self, keys: &[String], now: Instant) -> Option<Duration> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() + keys.len() > MAX_TRACKED {
            self.prune(&mut entries, now);
        }
        let mut longest = None;
        for key in keys {
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                last_failure: now,
                locked_until: None,
            });
            if now.saturating_duration_since(entry.last_failure) > self.policy.forget_after {
                entry.failures = 0;
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = now;
            let delay = self.policy.delay_after(entry.failures);
            entry.locked_until = delay.map(|d| now + d);
            longest = longest.max(delay);
        }
        longest
    }

    /// Clears the counts of every key after a successful login.
    pub(crate) fn record_success(&self, keys: &[String]) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            entries.remove(key);
        }
    }

    /// Drops forgotten entries, then the stalest ones while still full.
    fn prune(&self, entries: &mut HashMap<String, Entry>, now: Instant) {
        let forget = self.policy.forget_after;
        entries.retain(|_, e| {
            now.saturating_duration_since(e.last_failure) <= forget
                || e.locked_until.is_some_and(|until| until > now)
        });
        if entries.len() >= MAX_TRACKED {
            let mut by_age: Vec<(Instant, String)> = entries
                .iter()
                .map(|(k, e)| (e.last_failure, k.clone()))
                .collect();
            by_age.sort();
            let excess = entries.len() + 1 - MAX_TRACKED / 2;
            for (_, key) in by_age.into_iter().take(excess) {
                entries.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginPolicy {
        LoginPolicy {
            free_failures: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            forget_after: Duration::from_secs(60),
        }
    }

    #[test]
    fn waits_start_after_the_free_failures_and_double_up_to_the_cap() {
        let limiter = LoginLimiter::new(policy());
        let keys = vec!["user:ada".to_string()];
        let t0 = Instant::now();
        assert_eq!(limiter.record_failure(&keys, t0), None);
        assert_eq!(limiter.record_failure(&keys, t0), None);
        assert_eq!(limiter.wait(&keys, t0), None);
        assert_eq!(
            limiter.record_failure(&keys, t0),
            Some(Duration::from_secs(1))
        );
        assert_eq!(limiter.wait(&keys, t0), Some(Duration::from_secs(1)));

        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..4 {
            now += limiter.wait(&keys, now).unwrap_or_default();
            assert_eq!(limiter.wait(&keys, now), None, "the wait is over");
            waits.push(limiter.record_failure(&keys, now).map(|d| d.as_secs()));
        }
        assert_eq!(waits, [Some(2), Some(4), Some(8), Some(8)]);
    }

    #[test]
    fn success_clears_and_old_failures_are_forgotten() {
        let limiter = LoginLimiter::new(policy());
        let keys = vec!["user:ada".to_string(), "ip:10.0.0.1".to_string()];
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.record_failure(&keys, t0);
        }
        assert!(limiter.wait(&keys, t0).is_some());
        limiter.record_success(&keys);
        assert_eq!(limiter.wait(&keys, t0), None);

        limiter.record_failure(&keys, t0);
        limiter.record_failure(&keys, t0);
        let later = t0 + Duration::from_secs(61);
        assert_eq!(
            limiter.record_failure(&keys, later),
            None,
            "count restarted"
        );
    }

    #[test]
    fn the_longest_wait_of_any_key_applies() {
        let limiter = LoginLimiter::new(policy());
        let ip = vec!["ip:10.0.0.9".to_string()];
        let t0 = Instant::now();
        for _ in 0..4 {
            limiter.record_failure(&ip, t0);
        }
        let both = vec!["user:bob".to_string(), "ip:10.0.0.9".to_string()];
        assert_eq!(limiter.wait(&both, t0), Some(Duration::from_secs(2)));
    }
}

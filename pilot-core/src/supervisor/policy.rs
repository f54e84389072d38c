//! The restart policy: whether an exited service starts again, and when.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::service::{RestartMode, RestartPolicy};

/// How a service process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ExitOutcome {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
    /// It ended while it was not a child of this supervisor (adopted after a
    /// restart of the supervisor), so its status cannot be known.
    Unknown,
}

impl ExitOutcome {
    /// From the status `wait` returned.
    pub fn from_status(status: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => ExitOutcome::Code(code),
            (None, Some(signal)) => ExitOutcome::Signal(signal),
            (None, None) => ExitOutcome::Unknown,
        }
    }

    /// Whether it counts as a success for [`RestartMode::OnFailure`].
    pub fn is_success(self) -> bool {
        self == ExitOutcome::Code(0)
    }

    /// "exit code 1", "signal 9" or "exited with an unknown status".
    pub fn describe(self) -> String {
        match self {
            ExitOutcome::Code(code) => format!("exit code {code}"),
            ExitOutcome::Signal(signal) => format!("signal {signal}"),
            ExitOutcome::Unknown => {
                "exited with an unknown status (adopted process, not a child of this supervisor)"
                    .to_string()
            }
        }
    }
}

/// What to do after an exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decision {
    /// Start again after this delay.
    Restart {
        /// The backoff delay.
        delay: Duration,
    },
    /// Leave the service exited, for this reason.
    GiveUp {
        /// Shown as the reason of `ServiceState::Exited`.
        reason: String,
    },
}

/// Remembers recent starts and the current backoff of one service.
#[derive(Debug, Default)]
pub(super) struct RestartTracker {
    starts: VecDeque<Instant>,
    next_delay: Option<Duration>,
}

impl RestartTracker {
    /// Forgets the history (a start on request begins afresh).
    pub fn reset(&mut self) {
        self.starts.clear();
        self.next_delay = None;
    }

    /// Notes that a process was started at `now`.
    pub fn record_start(&mut self, now: Instant) {
        self.starts.push_back(now);
    }

    /// Decides what follows an exit at `now` of a process that ran for `ran_for`.
    ///
    /// A `start_limit_burst` of 0 disables the start limit.
    pub fn after_exit(
        &mut self,
        policy: &RestartPolicy,
        exit: ExitOutcome,
        ran_for: Duration,
        now: Instant,
    ) -> Decision {
        let wanted = match policy.mode {
            RestartMode::Always => true,
            RestartMode::OnFailure => !exit.is_success(),
            RestartMode::Never => false,
        };
        if !wanted {
            return Decision::GiveUp {
                reason: exit.describe(),
            };
        }
        let interval = policy.start_limit_interval;
        while self
            .starts
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > interval)
        {
            self.starts.pop_front();
        }
        let burst = policy.start_limit_burst as usize;
        if burst > 0 && self.starts.len() >= burst {
            return Decision::GiveUp {
                reason: format!(
                    "start limit reached: {} starts in {} s; last {}; fix the service and start \
                     it again",
                    self.starts.len(),
                    interval.as_secs_f64(),
                    exit.describe()
                ),
            };
        }
        if ran_for > interval {
            self.next_delay = None;
        }
        let delay = self
            .next_delay
            .unwrap_or(policy.backoff_initial)
            .min(policy.backoff_max);
        self.next_delay = Some(delay.saturating_mul(2).min(policy.backoff_max));
        Decision::Restart { delay }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: RestartMode) -> RestartPolicy {
        RestartPolicy {
            mode,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_millis(350),
            start_limit_burst: 4,
            start_limit_interval: Duration::from_secs(10),
        }
    }

    fn delay(d: Decision) -> Duration {
        match d {
            Decision::Restart { delay } => delay,
            Decision::GiveUp { reason } => panic!("gave up: {reason}"),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_max_and_resets_after_a_long_run() {
        let p = RestartPolicy {
            start_limit_burst: 0,
            ..policy(RestartMode::Always)
        };
        let mut t = RestartTracker::default();
        let now = Instant::now();
        let short = Duration::from_millis(10);
        let delays: Vec<u64> = (0..4)
            .map(|_| delay(t.after_exit(&p, ExitOutcome::Code(1), short, now)).as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 350, 350]);
        let long = Duration::from_secs(11);
        assert_eq!(
            delay(t.after_exit(&p, ExitOutcome::Code(1), long, now)),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn start_limit_counts_starts_within_the_interval() {
        let p = policy(RestartMode::OnFailure);
        let mut t = RestartTracker::default();
        let t0 = Instant::now();
        let short = Duration::from_millis(10);
        for _ in 0..3 {
            t.record_start(t0);
            delay(t.after_exit(&p, ExitOutcome::Signal(9), short, t0));
        }
        t.record_start(t0);
        let reason = match t.after_exit(&p, ExitOutcome::Code(2), short, t0) {
            Decision::GiveUp { reason } => reason,
            other => panic!("expected to give up, got {other:?}"),
        };
        assert!(
            reason.starts_with("start limit reached: 4 starts in 10 s; last exit code 2"),
            "{reason}"
        );

        // Starts older than the interval no longer count.
        let later = t0 + Duration::from_secs(11);
        delay(t.after_exit(&p, ExitOutcome::Code(2), short, later));
    }

    #[test]
    fn modes_decide_which_exits_restart() {
        let short = Duration::from_millis(10);
        let now = Instant::now();
        let mut t = RestartTracker::default();
        let never = policy(RestartMode::Never);
        assert_eq!(
            t.after_exit(&never, ExitOutcome::Code(3), short, now),
            Decision::GiveUp {
                reason: "exit code 3".into()
            }
        );
        let on_failure = policy(RestartMode::OnFailure);
        assert_eq!(
            t.after_exit(&on_failure, ExitOutcome::Code(0), short, now),
            Decision::GiveUp {
                reason: "exit code 0".into()
            }
        );
        delay(t.after_exit(&on_failure, ExitOutcome::Unknown, short, now));
        let always = policy(RestartMode::Always);
        delay(t.after_exit(&always, ExitOutcome::Code(0), short, now));
    }
}

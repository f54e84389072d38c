//! The monitor of one service: waits for its main process to end, applies the
//! restart policy, and starts the next process after the backoff delay.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::process::Child;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::policy::{Decision, ExitOutcome};
use super::procfs::{self, Markers};
use super::stop;
use super::supervised::{self, Supervised};
use crate::service::ServiceState;

/// How often an adopted process (not our child) is checked.
const ADOPTED_POLL: Duration = Duration::from_millis(200);

/// How the end of a main process is noticed.
#[derive(Debug)]
pub(super) enum ExitWatch {
    /// Our own child: `wait` reaps it and tells how it ended.
    Child(Child),
    /// A process adopted from an earlier supervisor: `/proc` is polled.
    Adopted {
        /// Its pid.
        pid: u32,
        /// Its start time, to notice a pid reuse.
        start_ticks: u64,
    },
}

impl ExitWatch {
    /// Waits until the process has ended.
    async fn wait(self) -> ExitOutcome {
        match self {
            ExitWatch::Child(mut child) => match child.wait().await {
                Ok(status) => ExitOutcome::from_status(status),
                Err(error) => {
                    tracing::warn!(%error, "cannot wait for a service process");
                    ExitOutcome::Unknown
                }
            },
            ExitWatch::Adopted { pid, start_ticks } => {
                while procfs::is_same_process(pid, start_ticks) {
                    tokio::time::sleep(ADOPTED_POLL).await;
                }
                ExitOutcome::Unknown
            }
        }
    }
}

/// A main process being watched.
#[derive(Debug)]
pub(super) struct Running {
    /// How its end is noticed.
    pub watch: ExitWatch,
    /// Tells a concurrent stop that it ended.
    pub exit_tx: watch::Sender<Option<ExitOutcome>>,
    /// Its pid.
    pub pid: u32,
    /// When it started.
    pub started: SystemTime,
}

/// Watches the service through exits and restarts until the epoch changes or
/// the policy gives up.
pub(super) async fn supervise(
    shared: Arc<Shared>,
    slot: Arc<Supervised>,
    epoch: u64,
    cancel: CancellationToken,
    mut running: Running,
) {
    let markers = Markers::new(&slot.name, &shared.state_dir);
    loop {
        let outcome = running.watch.wait().await;
        // Before taking the lock: a stop in progress holds it and waits for this.
        let _ = running.exit_tx.send(Some(outcome));
        let ran_for = SystemTime::now()
            .duration_since(running.started)
            .unwrap_or_default();

        let mut st = slot.inner.lock().await;
        if st.epoch != epoch {
            return;
        }
        let pid = running.pid;
        let exit = outcome.describe();
        tracing::warn!(service = %slot.name, pid, exit = %exit, "service exited");
        st.instance = None;
        st.record.clear_process();
        st.record.last_exit = Some(exit);
        // What the main process left behind would hold the old log pipe open.
        if let Err(error) = stop::kill_leftovers(&slot.name, Some(pid), &markers).await {
            tracing::warn!(service = %slot.name, %error, "leftover processes survive");
        }
        let policy = st.record.spec.restart.clone();
        let decision = st
            .tracker
            .after_exit(&policy, outcome, ran_for, Instant::now());
        let delay = match decision {
            Decision::GiveUp { reason } => {
                tracing::warn!(service = %slot.name, reason = %reason, "service will not be restarted");
                st.record.state = ServiceState::Exited { reason };
                shared.persist(&st.record);
                return;
            }
            Decision::Restart { delay } => delay,
        };
        st.record.state = ServiceState::BackingOff;
        shared.persist(&st.record);
        drop(st);

        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cancel.cancelled() => return,
        }

        let mut st = slot.inner.lock().await;
        if st.epoch != epoch {
            return;
        }
        st.record.restarts += 1;
        match supervised::launch(&shared, &slot, &mut st) {
            Ok(next) => {
                tracing::info!(service = %slot.name, pid = next.pid, restarts = st.record.restarts,
                    delay_ms = delay.as_millis() as u64, "service restarted");
                running = next;
            }
            Err(error) => {
                tracing::warn!(service = %slot.name, %error, "service could not be restarted");
                st.record.state = ServiceState::Exited {
                    reason: format!("restart failed: {error}"),
                };
                shared.persist(&st.record);
                return;
            }
        }
    }
}

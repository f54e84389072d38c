//! Stopping a service: SIGTERM to its process group, SIGKILL after the stop
//! timeout, then every process still carrying the service's markers.

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use super::Shared;
use super::error::SupervisorError;
use super::policy::ExitOutcome;
use super::procfs::{self, Markers};
use super::state::Desired;
use super::supervised::{Instance, Supervised, SupervisedState};
use crate::error::Result;
use crate::service::ServiceState;

/// How long processes may take to vanish after SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// Pause between two sweeps for leftover processes.
const SWEEP_PAUSE: Duration = Duration::from_millis(20);

/// Stops the service held in `st` and persists it as stopped. No monitor
/// restarts it afterwards. A no-op (apart from the leftover sweep) when it is
/// not running.
pub(super) async fn stop_locked(
    shared: &Shared,
    slot: &Supervised,
    st: &mut SupervisedState,
) -> Result<()> {
    st.new_epoch();
    st.record.desired = Desired::Stopped;
    // Persisted first, so a supervisor that dies mid-stop finishes the stop
    // on its next start instead of restarting the service.
    shared.save(&st.record)?;
    let markers = Markers::new(&slot.name, &shared.state_dir);
    let mut group = None;
    if let Some(mut instance) = st.instance.take() {
        let pid = instance.pid;
        group = Some(pid);
        tracing::info!(service = %slot.name, pid, "stopping service");
        signal_group(pid, Signal::SIGTERM);
        let timeout = st.record.spec.stop_timeout;
        let outcome = match wait_exit(&mut instance, timeout).await {
            Some(outcome) => outcome,
            None => {
                tracing::warn!(service = %slot.name, pid, timeout_ms = timeout.as_millis() as u64,
                    "service ignored SIGTERM; sending SIGKILL");
                signal_group(pid, Signal::SIGKILL);
                wait_exit(&mut instance, KILL_GRACE).await.ok_or_else(|| {
                    SupervisorError::Unkillable {
                        name: slot.name.clone(),
                        pids: vec![pid],
                    }
                })?
            }
        };
        tracing::info!(service = %slot.name, pid, exit = %outcome.describe(), "service stopped");
        st.record.last_exit = Some(outcome.describe());
    }
    kill_leftovers(&slot.name, group, &markers).await?;
    st.record.state = ServiceState::Stopped;
    st.record.clear_process();
    shared.save(&st.record)
}

/// SIGKILLs what is left of a service: the members of process group `group`
/// and every process carrying its markers (also those that left the group
/// with their own `setsid`). Returns once all of them are gone.
pub(super) async fn kill_leftovers(
    name: &str,
    group: Option<u32>,
    markers: &Markers,
) -> Result<()> {
    if let Some(group) = group {
        signal_group(group, Signal::SIGKILL);
    }
    let deadline = tokio::time::Instant::now() + KILL_GRACE;
    loop {
        let pids = procfs::service_processes(group, markers);
        if pids.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(SupervisorError::Unkillable {
                name: name.to_string(),
                pids,
            }
            .into());
        }
        for pid in pids {
            tracing::info!(service = name, pid, "killing leftover process");
            if let Ok(pid) = i32::try_from(pid) {
                // It may have ended meanwhile.
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        tokio::time::sleep(SWEEP_PAUSE).await;
    }
}

/// Sends `signal` to process group `group`; an empty group is fine.
fn signal_group(group: u32, signal: Signal) {
    let Ok(raw) = i32::try_from(group) else {
        return;
    };
    match killpg(Pid::from_raw(raw), signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(error) => tracing::warn!(group, %signal, %error, "cannot signal a process group"),
    }
}

/// Waits up to `timeout` for the main process to end.
async fn wait_exit(instance: &mut Instance, timeout: Duration) -> Option<ExitOutcome> {
    let pid = instance.pid;
    let start_ticks = instance.start_ticks;
    let exited = &mut instance.exited;
    tokio::time::timeout(timeout, async move {
        let seen = exited
            .wait_for(Option::is_some)
            .await
            .map(|outcome| *outcome);
        match seen {
            Ok(outcome) => outcome.unwrap_or(ExitOutcome::Unknown),
            Err(_) => {
                // Nobody monitors it (it was found half-stopped): watch /proc.
                while procfs::is_same_process(pid, start_ticks) {
                    tokio::time::sleep(SWEEP_PAUSE).await;
                }
                ExitOutcome::Unknown
            }
        }
    })
    .await
    .ok()
}

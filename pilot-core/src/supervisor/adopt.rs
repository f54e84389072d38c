//! Taking over services recorded by an earlier supervisor: adopt the ones
//! still running, start the ones that ended while nobody watched, and finish
//! stops that were interrupted.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::net::unix::pipe;
use tokio::sync::watch;

use super::Shared;
use super::monitor::{ExitWatch, Running};
use super::procfs::{self, Markers};
use super::pump;
use super::state::Desired;
use super::stop;
use super::supervised::{self, Instance, Supervised, SupervisedState};
use crate::error::Result;
use crate::service::ServiceState;

/// Brings one recorded service back under supervision.
pub(super) async fn resume(
    shared: &Arc<Shared>,
    slot: &Arc<Supervised>,
    st: &mut SupervisedState,
) -> Result<()> {
    let active = matches!(
        st.record.state,
        ServiceState::Running | ServiceState::BackingOff
    );
    let live = match (st.record.pid, st.record.start_ticks) {
        (Some(pid), Some(ticks)) if procfs::is_same_process(pid, ticks) => Some((pid, ticks)),
        _ => None,
    };
    match (st.record.desired, active, live) {
        (Desired::Running, true, Some((pid, ticks))) => {
            adopt(shared, slot, st, pid, ticks);
            Ok(())
        }
        (Desired::Running, true, None) => restart(shared, slot, st).await,
        (Desired::Stopped, true, live) => {
            // A stop was interrupted: finish it.
            if let Some((pid, start_ticks)) = live {
                let (_, exited) = watch::channel(None);
                st.instance = Some(Instance {
                    pid,
                    start_ticks,
                    exited,
                });
            }
            stop::stop_locked(shared, slot, st).await
        }
        _ => Ok(()),
    }
}

/// Watches a live process of an earlier supervisor without restarting it.
fn adopt(
    shared: &Arc<Shared>,
    slot: &Arc<Supervised>,
    st: &mut SupervisedState,
    pid: u32,
    start_ticks: u64,
) {
    match st.record.read_fd.map(|fd| reopen_pipe(pid, fd)) {
        Some(Ok(reader)) => {
            let sink = st.log_sink(slot, &shared.options);
            shared.spawn(pump::pump(reader, sink));
        }
        Some(Err(error)) => tracing::warn!(service = %slot.name, pid, %error,
            "cannot reopen the log pipe of the adopted service; its output is not logged"),
        None => tracing::warn!(service = %slot.name, pid,
            "no log pipe recorded for the adopted service; its output is not logged"),
    }
    let (exit_tx, exited) = watch::channel(None);
    st.instance = Some(Instance {
        pid,
        start_ticks,
        exited,
    });
    tracing::info!(service = %slot.name, pid, "adopted running service");
    let running = Running {
        watch: ExitWatch::Adopted { pid, start_ticks },
        exit_tx,
        pid,
        started: st.record.started_at.unwrap_or_else(SystemTime::now),
    };
    supervised::watch_over(shared, slot, st, running);
}

/// Opens the log pipe again through the read end the service process holds.
fn reopen_pipe(pid: u32, fd: i32) -> std::io::Result<pipe::Receiver> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(format!("/proc/{pid}/fd/{fd}"))?;
    pipe::Receiver::from_file(file)
}

/// Starts a service again whose process ended while no supervisor watched.
async fn restart(
    shared: &Arc<Shared>,
    slot: &Arc<Supervised>,
    st: &mut SupervisedState,
) -> Result<()> {
    let old_pid = st.record.pid;
    // Processes it left behind still carry its markers.
    let markers = Markers::new(&slot.name, &shared.state_dir);
    if let Err(error) = stop::kill_leftovers(&slot.name, None, &markers).await {
        tracing::warn!(service = %slot.name, %error, "leftover processes survive");
    }
    st.record.clear_process();
    st.record.restarts += 1;
    st.record.last_exit = Some("ended while no supervisor was running (status unknown)".into());
    match supervised::launch(shared, slot, st) {
        Ok(running) => {
            tracing::warn!(service = %slot.name, old_pid, pid = running.pid,
                "service ended while unsupervised; restarted");
            supervised::watch_over(shared, slot, st, running);
            Ok(())
        }
        Err(error) => {
            tracing::warn!(service = %slot.name, %error, "service could not be restarted");
            st.record.state = ServiceState::Exited {
                reason: format!("restart failed: {error}"),
            };
            shared.save(&st.record)
        }
    }
}

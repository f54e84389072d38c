//! One installed service inside the supervisor: its persisted record, the
//! live process (if any), and starting a new process generation.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::logfile::LogFile;
use super::monitor::{self, ExitWatch, Running};
use super::policy::{ExitOutcome, RestartTracker};
use super::pump::{self, LogSink};
use super::spawn;
use super::state::ServiceRecord;
use super::{Shared, SupervisorOptions};
use crate::error::Result;
use crate::redact::Redactor;
use crate::service::ServiceState;

/// Lines buffered for followers before a slow one starts missing lines.
const FOLLOW_BUFFER: usize = 1024;

/// A service known to the supervisor.
pub(super) struct Supervised {
    /// The service name.
    pub name: String,
    /// Live log lines.
    pub followers: broadcast::Sender<String>,
    /// Everything that changes; operations on one service run one at a time.
    pub inner: tokio::sync::Mutex<SupervisedState>,
}

/// The mutable part of a [`Supervised`].
pub(super) struct SupervisedState {
    /// What is persisted.
    pub record: ServiceRecord,
    /// Bumped by every start and stop request; a monitor of an older epoch
    /// leaves the service alone.
    pub epoch: u64,
    /// Cancels the current monitor's backoff wait.
    pub cancel: CancellationToken,
    /// The running main process.
    pub instance: Option<Instance>,
    /// Recent starts and the current backoff.
    pub tracker: RestartTracker,
    /// The log file being written, shared by successive processes.
    log: Option<Arc<Mutex<LogFile>>>,
}

/// A running main process.
#[derive(Debug)]
pub(super) struct Instance {
    /// Its pid, process group and session.
    pub pid: u32,
    /// Field 22 of its stat.
    pub start_ticks: u64,
    /// Set by the monitor when it sees the process end.
    pub exited: watch::Receiver<Option<ExitOutcome>>,
}

impl Supervised {
    /// A slot for a loaded or newly installed record.
    pub fn new(record: ServiceRecord) -> Arc<Self> {
        let (followers, _) = broadcast::channel(FOLLOW_BUFFER);
        Arc::new(Supervised {
            name: record.spec.name.clone(),
            followers,
            inner: tokio::sync::Mutex::new(SupervisedState {
                record,
                epoch: 0,
                cancel: CancellationToken::new(),
                instance: None,
                tracker: RestartTracker::default(),
                log: None,
            }),
        })
    }
}

impl SupervisedState {
    /// Starts a new epoch: the current monitor stops caring about the service.
    pub fn new_epoch(&mut self) -> (u64, CancellationToken) {
        self.cancel.cancel();
        self.epoch += 1;
        self.cancel = CancellationToken::new();
        (self.epoch, self.cancel.clone())
    }

    /// Where pumped lines of the current spec go.
    pub fn log_sink(&mut self, slot: &Supervised, options: &SupervisorOptions) -> LogSink {
        let path = &self.record.spec.log_file;
        let file = match &self.log {
            Some(file) if lock(file).path() == path => file.clone(),
            _ => {
                let file = Arc::new(Mutex::new(LogFile::new(
                    path.clone(),
                    options.log_max_bytes,
                    options.log_keep,
                )));
                self.log = Some(file.clone());
                file
            }
        };
        LogSink {
            service: slot.name.clone(),
            redactor: Redactor::new(&self.record.spec.redact),
            file,
            followers: slot.followers.clone(),
        }
    }
}

fn lock(file: &Mutex<LogFile>) -> std::sync::MutexGuard<'_, LogFile> {
    file.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts a new process of the service, records and persists it, and starts
/// pumping its log. Once the process runs, a failure to persist is only
/// logged: the process must be watched either way. The caller hands the result to [`watch_over`].
pub(super) fn launch(
    shared: &Shared,
    slot: &Supervised,
    st: &mut SupervisedState,
) -> Result<Running> {
    let spawned = spawn::spawn(&st.record.spec, &shared.state_dir)?;
    let started = SystemTime::now();
    let (exit_tx, exit_rx) = watch::channel(None);
    st.instance = Some(Instance {
        pid: spawned.pid,
        start_ticks: spawned.start_ticks,
        exited: exit_rx,
    });
    st.tracker.record_start(Instant::now());
    let record = &mut st.record;
    record.state = ServiceState::Running;
    record.pid = Some(spawned.pid);
    record.start_ticks = Some(spawned.start_ticks);
    record.started_at = Some(started);
    record.read_fd = Some(spawned.read_fd);
    let sink = st.log_sink(slot, &shared.options);
    shared.spawn(pump::pump(spawned.reader, sink));
    tracing::info!(service = %slot.name, pid = spawned.pid, "service started");
    let running = Running {
        watch: ExitWatch::Child(spawned.child),
        exit_tx,
        pid: spawned.pid,
        started,
    };
    shared.persist(&st.record);
    Ok(running)
}

/// Starts a monitor for `running` in a new epoch.
pub(super) fn watch_over(
    shared: &Arc<Shared>,
    slot: &Arc<Supervised>,
    st: &mut SupervisedState,
    running: Running,
) {
    let (epoch, cancel) = st.new_epoch();
    shared.spawn(monitor::supervise(
        shared.clone(),
        slot.clone(),
        epoch,
        cancel,
        running,
    ));
}

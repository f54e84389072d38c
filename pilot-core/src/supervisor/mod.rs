//! The embedded supervisor: runs services as process groups in their own
//! session, restarts them, rotates their logs, and re-adopts them after a
//! restart of the supervising process.
//!
//! # Processes
//!
//! Each service runs as `/bin/sh -c <command>` with exactly the spec's
//! environment plus two markers, `PILOT_SERVICE=<name>` and
//! `PILOT_SUPERVISOR=<canonical state dir>`, stdin on `/dev/null`, in a new
//! session (`setsid`). It is its own process-group leader, so a stop reaches
//! every process it started, and it outlives the supervising process. A stop
//! sends SIGTERM to the group, SIGKILL after the stop timeout, and finally
//! SIGKILL to any process whose environment carries both markers (children
//! that escaped the group with their own `setsid`).
//!
//! # Log pipe
//!
//! stdout and stderr share one pipe. The supervisor reads it line by line,
//! masks secrets, appends the lines to the log file (rotated by size) and
//! hands them to followers. The pipe must outlive a crash of the supervising
//! process, so the service also inherits the pipe's *read* end (not
//! close-on-exec, at the descriptor number recorded in its state file):
//!
//! - while nobody reads, the service never gets EPIPE or SIGPIPE — the pipe
//!   still has a reader, the service itself; it blocks only once the pipe is
//!   full, and the pipe is enlarged to 1 MiB (`F_SETPIPE_SZ`) so it can keep
//!   logging for a while;
//! - a new supervisor opens `/proc/<pid>/fd/<n>` (read-only, non-blocking),
//!   which is the same pipe, and resumes pumping where the old one stopped.
//!
//! # State
//!
//! `<state_dir>/<name>.json` (mode 0600: the environment holds secrets) keeps
//! the spec, the desired state, the pid with its start time (field 22 of
//! `/proc/<pid>/stat`, which tells a live service from a reused pid), the
//! restart count, the last exit and the pipe's descriptor number. It is
//! rewritten atomically on every change. A lock file keeps a second
//! supervisor out of the same directory.
//!
//! [`Supervisor::open`] adopts every service that should run and whose
//! process is alive (same pid and start time: no restart) and starts those
//! that ended while nobody watched. Own children are watched with `wait`;
//! adopted processes are not our children, so `/proc/<pid>` is polled every
//! 200 ms and their exit status is unknown.

mod adopt;
mod error;
mod logfile;
mod manager;
mod monitor;
mod policy;
mod procfs;
mod pump;
mod spawn;
mod state;
mod stop;
mod supervised;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::task::JoinHandle;

pub use error::SupervisorError;

use self::state::ServiceRecord;
use self::supervised::Supervised;
use crate::error::{Error, IoContext, Result};

/// Tuning of the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupervisorOptions {
    /// A log file is rotated before it would exceed this size (default 10 MiB).
    pub log_max_bytes: u64,
    /// Rotated log files kept, `log.1` … `log.<keep>` (default 5).
    pub log_keep: u32,
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        SupervisorOptions {
            log_max_bytes: 10 * 1024 * 1024,
            log_keep: 5,
        }
    }
}

/// The embedded [`ServiceManager`](crate::service::ServiceManager): runs
/// services as children of this process (see the [module docs](self)).
///
/// `memory_limit` and `cpu_limit` of a spec are not enforced by the embedded
/// supervisor; the systemd manager enforces them.
///
/// Dropping the supervisor (or calling [`detach`](Supervisor::detach)) stops
/// watching the services but leaves them running; the next
/// [`open`](Supervisor::open) of the same state directory adopts them.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use pilot_core::service::{RestartPolicy, ServiceManager, ServiceSpec};
/// use pilot_core::supervisor::Supervisor;
///
/// # async fn demo() -> pilot_core::Result<()> {
/// let dir = tempfile::tempdir().expect("temp dir");
/// let supervisor = Supervisor::open(dir.path().join("run")).await?;
/// supervisor
///     .install(&ServiceSpec {
///         name: "hello".into(),
///         command: "echo hello from $WHO; exec sleep 60".into(),
///         cwd: dir.path().into(),
///         env: [("WHO".to_string(), "pilot".to_string())].into(),
///         log_file: dir.path().join("logs/hello.log"),
///         restart: RestartPolicy::default(),
///         stop_timeout: Duration::from_secs(5),
///         redact: vec![],
///         memory_limit: None,
///         cpu_limit: None,
///     })
///     .await?;
/// supervisor.start("hello").await?;
/// assert!(supervisor.status("hello").await?.is_running());
/// while supervisor.logs("hello", 1).await?.is_empty() {
///     tokio::time::sleep(Duration::from_millis(20)).await;
/// }
/// assert_eq!(supervisor.logs("hello", 1).await?, ["hello from pilot"]);
/// supervisor.remove("hello").await?;
/// # Ok(())
/// # }
/// # tokio::runtime::Runtime::new().expect("runtime").block_on(demo()).expect("demo");
/// ```
pub struct Supervisor {
    shared: Arc<Shared>,
    slots: Mutex<BTreeMap<String, Arc<Supervised>>>,
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("state_dir", &self.shared.state_dir)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// Opens the supervisor of `state_dir` with default options, adopting or
    /// restarting the services recorded there.
    pub async fn open(state_dir: impl Into<PathBuf>) -> Result<Arc<Supervisor>> {
        Supervisor::open_with(state_dir, SupervisorOptions::default()).await
    }

    /// Opens the supervisor of `state_dir` (created with mode 0700 if
    /// missing), adopting or restarting the services recorded there.
    pub async fn open_with(
        state_dir: impl Into<PathBuf>,
        options: SupervisorOptions,
    ) -> Result<Arc<Supervisor>> {
        let state_dir = state_dir.into();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&state_dir)
            .ctx("create directory", &state_dir)?;
        let state_dir = fs::canonicalize(&state_dir).ctx("resolve", &state_dir)?;
        let lock = lock_dir(&state_dir)?;
        let records = state::load_all(&state_dir)?;
        let shared = Arc::new(Shared {
            state_dir,
            options,
            tasks: Mutex::new(Tasks::default()),
            lock: Mutex::new(Some(lock)),
        });
        let supervisor = Arc::new(Supervisor {
            shared: shared.clone(),
            slots: Mutex::new(BTreeMap::new()),
        });
        for record in records {
            let slot = Supervised::new(record);
            lock_map(&supervisor.slots).insert(slot.name.clone(), slot.clone());
            let mut st = slot.inner.lock().await;
            adopt::resume(&shared, &slot, &mut st).await?;
        }
        Ok(supervisor)
    }

    /// Stops monitoring and log pumping without stopping the services, and
    /// releases the state directory; a later [`open`](Supervisor::open)
    /// adopts them. Every other call fails afterwards.
    pub async fn detach(&self) {
        let handles = self.shared.detach();
        for handle in handles {
            // Aborted tasks end with a cancellation error; that is the point.
            let _ = handle.await;
        }
        tracing::info!(state_dir = %self.shared.state_dir.display(), "supervisor detached");
    }

    /// The canonical state directory.
    pub fn state_dir(&self) -> &Path {
        &self.shared.state_dir
    }

    /// The slot of `name`, or an unknown-service error.
    fn slot(&self, name: &str) -> Result<Arc<Supervised>> {
        self.shared.ensure_attached()?;
        lock_map(&self.slots).get(name).cloned().ok_or_else(|| {
            SupervisorError::UnknownService {
                name: name.to_string(),
            }
            .into()
        })
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // The services keep running; the next open adopts them.
        for handle in self.shared.detach() {
            handle.abort();
        }
    }
}

/// Takes the state directory's lock file.
fn lock_dir(state_dir: &Path) -> Result<File> {
    let path = state_dir.join(".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .ctx("open", &path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(SupervisorError::StateDirBusy {
            path: state_dir.to_path_buf(),
        }
        .into()),
        Err(TryLockError::Error(e)) => Err(Error::io("lock", path, e)),
    }
}

fn lock_map<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the supervisor and its background tasks share.
struct Shared {
    /// The canonical state directory.
    state_dir: PathBuf,
    /// Log rotation settings.
    options: SupervisorOptions,
    /// Background tasks (monitors, pumps, followers).
    tasks: Mutex<Tasks>,
    /// The held lock file; `None` once detached.
    lock: Mutex<Option<File>>,
}

#[derive(Default)]
struct Tasks {
    detached: bool,
    handles: Vec<JoinHandle<()>>,
}

impl Shared {
    /// Runs `task` in the background until it ends or the supervisor detaches.
    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut tasks = lock_map(&self.tasks);
        if tasks.detached {
            return;
        }
        tasks.handles.retain(|h| !h.is_finished());
        tasks.handles.push(tokio::spawn(task));
    }

    /// Aborts every task and releases the lock; returns the aborted tasks.
    fn detach(&self) -> Vec<JoinHandle<()>> {
        let handles = {
            let mut tasks = lock_map(&self.tasks);
            tasks.detached = true;
            std::mem::take(&mut tasks.handles)
        };
        for handle in &handles {
            handle.abort();
        }
        lock_map(&self.lock).take();
        handles
    }

    /// Fails once the supervisor was detached.
    fn ensure_attached(&self) -> Result<()> {
        if lock_map(&self.tasks).detached {
            return Err(SupervisorError::Detached {
                path: self.state_dir.clone(),
            }
            .into());
        }
        Ok(())
    }

    /// Persists a record.
    fn save(&self, record: &ServiceRecord) -> Result<()> {
        state::save(&self.state_dir, record)
    }

    /// Persists a record where no caller can take the error: it is logged.
    fn persist(&self, record: &ServiceRecord) {
        if let Err(error) = self.save(record) {
            tracing::error!(service = %record.spec.name, %error,
                "cannot persist the service state; a restarted supervisor may not adopt it");
        }
    }
}

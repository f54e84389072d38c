//! The state file of one service, `<state_dir>/<name>.json`: what a later
//! supervisor needs to adopt the running process or start it again.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::error::SupervisorError;
use crate::error::{Error, IoContext, Result};
use crate::service::{ServiceSpec, ServiceState, ServiceStatus};

/// Mode of state files: the environment holds secrets.
const STATE_MODE: u32 = 0o600;

/// What the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum Desired {
    /// Keep it running (restart per its policy).
    Running,
    /// Leave it stopped.
    Stopped,
}

/// Everything persisted about one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ServiceRecord {
    /// The service as installed.
    pub spec: ServiceSpec,
    /// Requested state.
    pub desired: Desired,
    /// Observed state.
    pub state: ServiceState,
    /// Pid of the main process (also its process group and session).
    pub pid: Option<u32>,
    /// Field 22 of `/proc/<pid>/stat`, to recognise the process after a pid reuse.
    pub start_ticks: Option<u64>,
    /// When the main process started.
    pub started_at: Option<SystemTime>,
    /// Automatic restarts so far.
    pub restarts: u32,
    /// Description of the last exit.
    pub last_exit: Option<String>,
    /// Descriptor number of the log pipe's read end inside the service process.
    pub read_fd: Option<i32>,
}

impl ServiceRecord {
    /// A freshly installed, stopped service.
    pub fn new(spec: ServiceSpec) -> Self {
        ServiceRecord {
            spec,
            desired: Desired::Stopped,
            state: ServiceState::Stopped,
            pid: None,
            start_ticks: None,
            started_at: None,
            restarts: 0,
            last_exit: None,
            read_fd: None,
        }
    }

    /// Forgets the process after it ended.
    pub fn clear_process(&mut self) {
        self.pid = None;
        self.start_ticks = None;
        self.started_at = None;
        self.read_fd = None;
    }

    /// The public snapshot.
    pub fn status(&self) -> ServiceStatus {
        let running = self.state == ServiceState::Running;
        ServiceStatus {
            name: self.spec.name.clone(),
            state: self.state.clone(),
            pid: self.pid.filter(|_| running),
            started_at: self.started_at.filter(|_| running),
            restarts: self.restarts,
            last_exit: self.last_exit.clone(),
        }
    }
}

/// Checks that `name` can name a service and its state file.
pub(super) fn validate_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 200 {
        Some("it is longer than 200 characters")
    } else if name.starts_with('.') {
        Some("it starts with '.'")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Some("it contains a character other than a letter, digit, '-', '_' or '.'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(SupervisorError::InvalidName {
            name: name.to_string(),
            reason,
        }
        .into()),
        None => Ok(()),
    }
}

/// `<state_dir>/<name>.json`.
pub(super) fn state_file(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join(format!("{name}.json"))
}

/// Writes the record atomically with mode 0600.
pub(super) fn save(state_dir: &Path, record: &ServiceRecord) -> Result<()> {
    let path = state_file(state_dir, &record.spec.name);
    let bytes = serde_json::to_vec_pretty(record).map_err(|e| Error::CorruptState {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    crate::fsutil::write_atomic(&path, &bytes, STATE_MODE)
}

/// Deletes the record; a no-op when it does not exist.
pub(super) fn delete(state_dir: &Path, name: &str) -> Result<()> {
    let path = state_file(state_dir, name);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// Every record in the state directory, sorted by name.
pub(super) fn load_all(state_dir: &Path) -> Result<Vec<ServiceRecord>> {
    let mut records = Vec::new();
    for entry in fs::read_dir(state_dir).ctx("read directory", state_dir)? {
        let path = entry.ctx("read directory", state_dir)?.path();
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        if stem.starts_with('.') {
            continue;
        }
        let Some(record) = crate::fsutil::read_json::<ServiceRecord>(&path)? else {
            continue;
        };
        if record.spec.name != stem {
            return Err(Error::CorruptState {
                path,
                reason: format!("it describes service {:?}", record.spec.name),
            });
        }
        records.push(record);
    }
    records.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::RestartPolicy;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    fn spec(name: &str) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            command: "true".into(),
            cwd: "/".into(),
            env: [("TOKEN".to_string(), "s3cret".to_string())].into(),
            log_file: "/tmp/x.log".into(),
            restart: RestartPolicy::default(),
            stop_timeout: Duration::from_secs(1),
            redact: vec!["s3cret".into()],
            memory_limit: None,
            cpu_limit: None,
        }
    }

    #[test]
    fn names_that_cannot_be_file_names_are_rejected() {
        for good in ["web", "shop-g12", "a.b_c"] {
            validate_name(good).unwrap();
        }
        for bad in ["", ".hidden", "a/b", "..", "sp ace", "ümlaut"] {
            let err = validate_name(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid service name"), "{err}");
        }
    }

    #[test]
    fn records_round_trip_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let mut record = ServiceRecord::new(spec("web"));
        record.desired = Desired::Running;
        record.state = ServiceState::Running;
        record.pid = Some(42);
        record.start_ticks = Some(7);
        record.started_at = Some(SystemTime::now());
        record.read_fd = Some(5);
        save(dir.path(), &record).unwrap();
        save(dir.path(), &ServiceRecord::new(spec("api"))).unwrap();

        let mode = fs::metadata(state_file(dir.path(), "web"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let all = load_all(dir.path()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].spec.name, "api");
        assert_eq!(all[1], record);
        assert_eq!(all[1].status().pid, Some(42));
        assert_eq!(all[0].status().pid, None);

        delete(dir.path(), "web").unwrap();
        delete(dir.path(), "web").unwrap();
        assert_eq!(load_all(dir.path()).unwrap().len(), 1);
    }

    #[test]
    fn a_record_under_the_wrong_name_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &ServiceRecord::new(spec("web"))).unwrap();
        fs::rename(
            state_file(dir.path(), "web"),
            state_file(dir.path(), "other"),
        )
        .unwrap();
        let err = load_all(dir.path()).unwrap_err().to_string();
        assert!(err.contains("other.json"), "{err}");
    }
}

//! One deployment per project at a time, across processes: an exclusive
//! `flock` on the project's lock file, released by the kernel if the holder dies.

use std::fs::OpenOptions;
use std::io::Write;

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, IoContext, Result};
use crate::layout::NodeLayout;

/// Held while a deployment of the project runs.
#[derive(Debug)]
pub struct ProjectLock {
    _file: Flock<std::fs::File>,
}

impl ProjectLock {
    /// Takes the lock of `project` or fails with [`Error::Busy`] naming the holder.
    pub fn acquire(layout: &NodeLayout, project: &str, holder: &str) -> Result<Self> {
        let path = layout.lock_file(project);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ctx("create directory", dir)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .ctx("open lock file", &path)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut locked) => {
                let _ = locked.set_len(0);
                let _ = write!(locked, "{holder} (pid {})", std::process::id());
                Ok(ProjectLock { _file: locked })
            }
            Err((_, _)) => Err(Error::Busy {
                project: project.to_string(),
                holder: std::fs::read_to_string(&path).unwrap_or_else(|_| "unknown".into()),
            }),
        }
    }
}

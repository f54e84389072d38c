//! Starting a service process: `/bin/sh -c <command>` in a new session, with
//! stdout and stderr on one log pipe whose read end the process also holds.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::process::Stdio;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};

use super::error::SupervisorError;
use super::procfs::{self, SERVICE_VAR, SUPERVISOR_VAR};
use crate::error::Result;
use crate::service::ServiceSpec;

/// Capacity asked for the log pipe, so a service can keep logging for a while
/// when nobody reads (the supervising process crashed).
const PIPE_SIZE: i32 = 1024 * 1024;

/// A freshly started service process.
#[derive(Debug)]
pub(super) struct Spawned {
    /// The child, to wait for.
    pub child: Child,
    /// Its pid (also its process group and session id).
    pub pid: u32,
    /// Field 22 of its `/proc/<pid>/stat`.
    pub start_ticks: u64,
    /// The number of the pipe's read end inside the child.
    pub read_fd: RawFd,
    /// The supervisor's read end of the log pipe.
    pub reader: pipe::Receiver,
}

/// Starts `spec` in a new session. `state_dir` is the canonical state
/// directory, written to the `PILOT_SUPERVISOR` marker.
pub(super) fn spawn(spec: &ServiceSpec, state_dir: &Path) -> Result<Spawned> {
    let pipe_error = |cause: std::io::Error| SupervisorError::LogPipe {
        name: spec.name.clone(),
        cause,
    };
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| pipe_error(e.into()))?;
    let read = above_stdio(read).map_err(pipe_error)?;
    if let Err(e) = fcntl(&read, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE)) {
        tracing::warn!(service = %spec.name, error = %e, "cannot enlarge the log pipe; it keeps the default size");
    }
    let stderr = write.try_clone().map_err(pipe_error)?;
    let read_fd = read.as_raw_fd();

    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(&spec.command)
        .env_clear()
        .envs(&spec.env)
        .env(SERVICE_VAR, &spec.name)
        .env(SUPERVISOR_VAR, state_dir)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .stderr(Stdio::from(stderr))
        .kill_on_drop(false);
    new_session_keeping(&mut command, read_fd);
    let spawned = command.spawn();
    // Drop our copies of the write end, so the pipe ends when the service does.
    drop(command);
    let child = spawned.map_err(|cause| SupervisorError::Spawn {
        name: spec.name.clone(),
        cwd: spec.cwd.clone(),
        cause,
    })?;
    let pid = child.id().ok_or_else(|| SupervisorError::ProcUnavailable {
        name: spec.name.clone(),
        pid: 0,
    })?;
    // The child is ours and not reaped yet, so its stat exists even if it already exited.
    let start_ticks = procfs::stat(pid)
        .ok_or_else(|| SupervisorError::ProcUnavailable {
            name: spec.name.clone(),
            pid,
        })?
        .start_ticks;
    let reader = pipe::Receiver::from_owned_fd(read).map_err(pipe_error)?;
    Ok(Spawned {
        child,
        pid,
        start_ticks,
        read_fd,
        reader,
    })
}

/// Makes the child a session (and process group) leader and lets it inherit
/// `keep_fd`, the pipe's read end, across `exec`.
#[allow(unsafe_code)]
fn new_session_keeping(command: &mut Command, keep_fd: RawFd) {
    // SAFETY: the hook runs in the forked child before exec, where only
    // async-signal-safe calls are allowed: setsid(2) and fcntl(2) are, and the
    // hook neither allocates nor takes locks. `keep_fd` is open in the parent
    // for the whole spawn (the caller owns it), so it is open in the child.
    unsafe {
        command.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            if libc::fcntl(keep_fd, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Moves `fd` to a number above 2 (close-on-exec), so the child's stdio setup
/// cannot overwrite it. Rust keeps 0–2 open, so this is normally a no-op.
fn above_stdio(fd: OwnedFd) -> std::io::Result<OwnedFd> {
    let mut held = Vec::new();
    let mut fd = fd;
    while fd.as_raw_fd() <= 2 {
        let next = nix::unistd::dup(&fd)?;
        held.push(fd);
        fd = next;
    }
    fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    Ok(fd)
}

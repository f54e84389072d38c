//! Running one shell command of a release with a toolchain environment,
//! streaming its output line by line.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use crate::error::{Error, IoContext, Result};
use crate::output::{LineSink, Stream};
use crate::redact::Redactor;

/// The exit of a finished command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandExit {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Human-readable status, e.g. "exit code 2" or "signal 9".
    pub status: String,
}

/// Runs `line` with `sh -c` in `cwd`, with exactly `env` as its environment,
/// sending every output line (masked by `redactor`) to `sink`.
///
/// The command runs in its own process group; if the returned future is
/// dropped, the whole group is killed.
pub async fn run_shell(
    line: &str,
    cwd: &Path,
    env: &BTreeMap<String, String>,
    redactor: &Redactor,
    sink: &dyn LineSink,
) -> Result<CommandExit> {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(line)
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().ctx("run command in", cwd)?;
    let guard = GroupGuard(child.id());
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let pump_out = pump(stdout, Stream::Stdout, redactor, sink);
    let pump_err = pump(stderr, Stream::Stderr, redactor, sink);
    // When the shell exits, anything it left behind in its group is killed, so
    // a stray background process can neither outlive the build nor hold the
    // output pipes open forever.
    let wait = async {
        let status = child.wait().await;
        drop(guard);
        status
    };
    let (status, _, _) = tokio::join!(wait, pump_out, pump_err);
    let status = status.ctx("wait for command in", cwd)?;
    let description = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => "unknown status".to_string(),
    };
    Ok(CommandExit {
        success: status.success(),
        status: description,
    })
}

/// Kills a command's process group when dropped: when the command ended, or
/// when the future running it was dropped.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0
            && let Ok(pid) = i32::try_from(pid)
        {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

async fn pump(
    reader: Option<impl AsyncRead + Unpin>,
    stream: Stream,
    redactor: &Redactor,
    sink: &dyn LineSink,
) {
    let Some(reader) = reader else { return };
    let mut lines = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match lines.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                let text = text.trim_end_matches(['\n', '\r']);
                sink.line(stream, &redactor.mask(text));
            }
        }
    }
}

/// Builds the error for a command that exited unsuccessfully.
pub(crate) fn command_failed(
    phase: &'static str,
    line: &str,
    exit: &CommandExit,
    redactor: &Redactor,
    log: &Path,
) -> Error {
    Error::CommandFailed {
        phase,
        command: redactor.mask(line).into_owned(),
        status: exit.status.clone(),
        log: log.to_path_buf(),
    }
}

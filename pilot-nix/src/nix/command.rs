//! Running one Nix command: its standard error streamed line by line to a
//! sink and kept whole in a log file, its standard output returned.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use pilot_core::output::{LineSink, Stream};
use pilot_core::redact::Redactor;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use super::options::NixOptions;
use super::summary::summarize;
use crate::error::{Error, Result};

/// One Nix call.
pub struct NixCall<'a> {
    options: &'a NixOptions,
    program: PathBuf,
    args: Vec<String>,
    cwd: Option<&'a Path>,
    sink: Option<(&'a dyn LineSink, &'a Redactor)>,
}

impl<'a> NixCall<'a> {
    /// `nix <args>` with the options' settings.
    pub fn nix(options: &'a NixOptions, args: impl IntoIterator<Item = String>) -> Self {
        NixCall {
            options,
            program: options.program.clone(),
            args: args.into_iter().collect(),
            cwd: None,
            sink: None,
        }
    }

    /// Another program of the Nix installation (e.g. `nix-instantiate`),
    /// found next to the configured `nix`.
    pub fn tool(
        options: &'a NixOptions,
        tool: &str,
        args: impl IntoIterator<Item = String>,
    ) -> Self {
        let program = match options.program.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(tool),
            _ => PathBuf::from(tool),
        };
        NixCall {
            options,
            program,
            args: args.into_iter().collect(),
            cwd: None,
            sink: None,
        }
    }

    /// Runs in `dir`.
    pub fn in_dir(mut self, dir: &'a Path) -> Self {
        self.cwd = Some(dir);
        self
    }

    /// Also sends every line of standard error, masked, to `sink`.
    pub fn stream_to(mut self, sink: &'a dyn LineSink, redactor: &'a Redactor) -> Self {
        self.sink = Some((sink, redactor));
        self
    }

    /// The command for messages: the program, its subcommand words and the
    /// flake reference, without flags (`nix build path:/…#packages.x.default`).
    pub fn describe(&self) -> String {
        let program = self.program.file_name().map_or_else(
            || self.program.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut words = vec![program];
        let leading = self.args.iter().take_while(|a| !a.starts_with('-')).count();
        words.extend(self.args[..leading].iter().cloned());
        if let Some(last) = self.args.last()
            && leading < self.args.len()
            && !last.starts_with('-')
        {
            words.push(last.clone());
        }
        words.join(" ")
    }

    /// Runs the command, writing its standard error to `log`; returns its
    /// standard output, or the summarised failure.
    pub async fn run(self, log: &Path) -> Result<String> {
        let command_line = self.describe();
        if let Some(dir) = log.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| pilot_core::Error::io("create directory", dir, e))?;
        }
        let mut log_file = tokio::fs::File::create(log)
            .await
            .map_err(|e| pilot_core::Error::io("create", log, e))?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .env("NIX_CONFIG", self.options.nix_config())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = self.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|cause| Error::NixMissing {
            program: self.program.display().to_string(),
            cause,
        })?;
        let mut stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let read_out = async {
            let mut text = String::new();
            if let Some(out) = stdout.as_mut() {
                // A read error leaves the output short; the JSON parse reports it.
                let _ = out.read_to_string(&mut text).await;
            }
            text
        };
        let sink = self.sink;
        let read_err = async {
            let mut all = String::new();
            if let Some(err) = stderr {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some((sink, redactor)) = sink {
                        sink.line(Stream::Stderr, &redactor.mask(&line));
                    }
                    all.push_str(&line);
                    all.push('\n');
                }
            }
            all
        };
        let (out, err, status) = tokio::join!(read_out, read_err, child.wait());
        let masked = match sink {
            Some((_, redactor)) => redactor.mask(&err).into_owned(),
            None => err,
        };
        // A tokio file finishes writing in the background: flush so the log is
        // complete on disk before anyone is told to read it.
        log_file
            .write_all(masked.as_bytes())
            .await
            .and(log_file.flush().await)
            .map_err(|e| pilot_core::Error::io("write", log, e))?;
        let status = status.map_err(|e| pilot_core::Error::io("wait for", &self.program, e))?;
        if status.success() {
            Ok(out)
        } else {
            Err(Error::NixFailed {
                command: command_line,
                failure: Box::new(summarize(&masked)),
                log: log.to_path_buf(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_leave_out_flags() {
        let options = NixOptions {
            offline: true,
            ..NixOptions::default()
        };
        let mut args = vec![
            "build".to_string(),
            "--out-link".to_string(),
            "/r".to_string(),
        ];
        args.extend(options.flake_flags());
        args.push("path:/app#packages.x86_64-linux.default".to_string());
        assert_eq!(
            NixCall::nix(&options, args).describe(),
            "nix build path:/app#packages.x86_64-linux.default"
        );
        let parse = NixCall::tool(
            &options,
            "nix-instantiate",
            ["--parse".to_string(), "/f.nix".to_string()],
        );
        assert_eq!(parse.describe(), "nix-instantiate /f.nix");
        let show = NixCall::nix(&options, ["flake".to_string(), "show".to_string()]);
        assert_eq!(show.describe(), "nix flake show");
    }
}

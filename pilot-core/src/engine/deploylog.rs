//! The deploy log: every line of a deployment's output, masked, in
//! `logs/<project>/deploy-<id>.log` and as events.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::events::{DeployEvent, DeployEventKind, EventSink};
use crate::error::{IoContext, Result};
use crate::output::{LineSink, Stream};

/// Writes deployment output to its log file and to the event sink.
pub struct DeployLog {
    path: PathBuf,
    file: Option<Mutex<File>>,
    events: Arc<dyn EventSink>,
    deployment: String,
    project: String,
}

impl DeployLog {
    /// Opens (appends to) the log file of a deployment.
    pub fn open(
        path: &Path,
        events: Arc<dyn EventSink>,
        deployment: &str,
        project: &str,
    ) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ctx("create directory", dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ctx("open deploy log", path)?;
        Ok(DeployLog {
            path: path.to_path_buf(),
            file: Some(Mutex::new(file)),
            events,
            deployment: deployment.to_string(),
            project: project.to_string(),
        })
    }

    /// A log that writes nowhere and emits nothing.
    pub fn discard() -> Self {
        DeployLog {
            path: PathBuf::new(),
            file: None,
            events: Arc::new(super::events::NoEvents),
            deployment: String::new(),
            project: String::new(),
        }
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a line of Pilot's own (already masked) narration.
    pub fn note(&self, text: &str) {
        self.line(Stream::Stdout, &format!("[pilot] {text}"));
    }
}

impl LineSink for DeployLog {
    fn line(&self, stream: Stream, line: &str) {
        let Some(file) = &self.file else { return };
        {
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(file, "{line}");
        }
        self.events.emit(&DeployEvent {
            deployment: self.deployment.clone(),
            project: self.project.clone(),
            kind: DeployEventKind::Log {
                stream,
                line: line.to_string(),
            },
        });
    }
}

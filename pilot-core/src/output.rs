//! Line-oriented output of commands and services, and where it goes.

use std::sync::Mutex;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Receives output lines as they are produced (build logs, deploy logs).
///
/// Implementations must be cheap and must not block for long: they are called
/// from the task that reads a child's pipes.
pub trait LineSink: Send + Sync {
    /// One line, without its trailing newline. Secrets are already masked.
    fn line(&self, stream: Stream, line: &str);
}

/// A sink that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl LineSink for NullSink {
    fn line(&self, _stream: Stream, _line: &str) {}
}

/// A sink that keeps every line in memory (handy in embedding code and tests).
#[derive(Debug, Default)]
pub struct MemorySink {
    lines: Mutex<Vec<(Stream, String)>>,
}

impl MemorySink {
    /// A new, empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every line received so far.
    pub fn lines(&self) -> Vec<(Stream, String)> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl LineSink for MemorySink {
    fn line(&self, stream: Stream, line: &str) {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((stream, line.to_string()));
    }
}

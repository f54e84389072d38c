//! The log pump: reads a service's log pipe, splits it into lines, masks
//! secrets, appends the lines to the log file and hands them to followers.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::sync::broadcast;

use super::logfile::LogFile;
use crate::redact::Redactor;

/// Longer lines are cut into pieces of this size.
const MAX_LINE: usize = 16 * 1024;

/// Where pumped lines go.
#[derive(Debug, Clone)]
pub(super) struct LogSink {
    /// The service, for tracing.
    pub service: String,
    /// Masks secrets.
    pub redactor: Redactor,
    /// The log file, shared by every process generation of the service.
    pub file: Arc<Mutex<LogFile>>,
    /// Live followers; a slow follower misses lines, the pump never waits.
    pub followers: broadcast::Sender<String>,
}

impl LogSink {
    fn emit(&self, raw: &[u8], failing: &mut bool) {
        let text = String::from_utf8_lossy(raw);
        let line = self.redactor.mask(text.trim_end_matches('\r'));
        let written = match self.file.lock() {
            Ok(mut file) => file
                .write_line(&line)
                .map_err(|e| (file.path().to_owned(), e)),
            Err(poisoned) => {
                let mut file = poisoned.into_inner();
                file.write_line(&line)
                    .map_err(|e| (file.path().to_owned(), e))
            }
        };
        match written {
            Ok(()) => *failing = false,
            Err((path, error)) => {
                if !*failing {
                    tracing::warn!(service = %self.service, path = %path.display(), %error,
                        "cannot write the service log; lines are dropped until it works again");
                }
                *failing = true;
            }
        }
        if self.followers.receiver_count() > 0 {
            // A follower that left meanwhile is not an error.
            let _ = self.followers.send(line.into_owned());
        }
    }
}

/// Pumps `reader` into `sink` until every writer of the pipe is gone.
pub(super) async fn pump(mut reader: pipe::Receiver, sink: LogSink) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    let mut failing = false;
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                tracing::warn!(service = %sink.service, %error, "cannot read the log pipe; log pumping stops");
                break;
            }
        };
        pending.extend_from_slice(&buf[..n]);
        let mut start = 0;
        while let Some(end) = next_line_end(&pending[start..]) {
            sink.emit(&pending[start..start + end.0], &mut failing);
            start += end.1;
        }
        pending.drain(..start);
    }
    if !pending.is_empty() {
        sink.emit(&pending, &mut failing);
    }
}

/// The length of the next line and how many bytes it consumes (with its
/// newline); a line without newline that reached [`MAX_LINE`] is cut there.
fn next_line_end(bytes: &[u8]) -> Option<(usize, usize)> {
    match bytes.iter().take(MAX_LINE).position(|b| *b == b'\n') {
        Some(i) => Some((i, i + 1)),
        None if bytes.len() >= MAX_LINE => Some((MAX_LINE, MAX_LINE)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn lines_are_split_and_overlong_ones_cut() {
        assert_eq!(next_line_end(b"abc\ndef"), Some((3, 4)));
        assert_eq!(next_line_end(b"abc"), None);
        let long = vec![b'x'; MAX_LINE + 5];
        assert_eq!(next_line_end(&long), Some((MAX_LINE, MAX_LINE)));
    }

    #[tokio::test]
    async fn pumps_masked_lines_to_the_file_and_followers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.log");
        let (tx, mut rx) = broadcast::channel(16);
        let sink = LogSink {
            service: "svc".into(),
            redactor: Redactor::new(["topsecret"]),
            file: Arc::new(Mutex::new(LogFile::new(path.clone(), 1 << 20, 1))),
            followers: tx,
        };
        let (read, write) = nix::unistd::pipe().unwrap();
        let reader = pipe::Receiver::from_owned_fd(read).unwrap();
        let mut writer = std::fs::File::from(write);
        writer
            .write_all(b"one\r\nkey=topsecret\nno newline")
            .unwrap();
        drop(writer);
        pump(reader, sink).await;
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "one\nkey=********\nno newline\n"
        );
        assert_eq!(rx.recv().await.unwrap(), "one");
        assert_eq!(rx.recv().await.unwrap(), "key=********");
    }
}

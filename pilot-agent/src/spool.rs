//! The on-disk metrics spool: every collected batch waits here, under a
//! sequence number that keeps increasing across agent restarts, until the
//! server acknowledges it.
//!
//! ```text
//! <dir>/
//! ├── spool.json                  {"next_seq": 42, "dropped": 0}
//! ├── 00000000000000000040.json   one MetricBatch per file, named by seq
//! └── 00000000000000000041.json
//! ```
//!
//! Each file is written atomically, so a crash loses at most the batch being
//! written. The spool is bounded by bytes: when a new batch would exceed the
//! bound, the oldest batches are deleted and counted as dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pilot_core::MetricBatch;
use pilot_core::fsutil::write_atomic;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::error::{Error, Result};
use crate::status::lock;

/// Name of the spool's own state file.
const STATE_FILE: &str = "spool.json";

/// What the spool persists besides the batches.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct SpoolState {
    /// The sequence number the next batch gets.
    next_seq: u64,
    /// Batches dropped because the spool was full, ever.
    dropped: u64,
}

/// The spool's figures at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolFigures {
    /// Batches waiting for acknowledgement.
    pub batches: u64,
    /// Bytes they take on disk.
    pub bytes: u64,
    /// Batches acknowledged since the spool was opened.
    pub acked: u64,
    /// Batches dropped because the spool was full, since it was created.
    pub dropped: u64,
    /// The newest sequence number handed out, if any.
    pub last_seq: Option<u64>,
}

#[derive(Debug)]
struct Index {
    /// Waiting batches: seq → file size.
    entries: BTreeMap<u64, u64>,
    bytes: u64,
    state: SpoolState,
    acked: u64,
}

/// A directory of metric batches waiting for the server (see the [module docs](self)).
#[derive(Debug)]
pub struct MetricSpool {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
    changed: Notify,
}

impl MetricSpool {
    /// Opens (or creates) the spool in `dir`, keeping at most `max_bytes` of
    /// batches. Leftover temporary files are removed.
    pub fn open(dir: impl Into<PathBuf>, max_bytes: u64) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        let state_path = dir.join(STATE_FILE);
        let mut state: SpoolState = pilot_core::fsutil::read_json(&state_path)?.unwrap_or_default();
        let mut entries = BTreeMap::new();
        let mut bytes = 0;
        let listing = std::fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
        for entry in listing {
            let entry = entry.map_err(|e| Error::io("list", &dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                // A temp file of an interrupted atomic write.
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            let Some(seq) = parse_batch_name(&name) else {
                continue;
            };
            let size = entry
                .metadata()
                .map_err(|e| Error::io("inspect", entry.path(), e))?
                .len();
            entries.insert(seq, size);
            bytes += size;
            state.next_seq = state.next_seq.max(seq + 1);
        }
        state.next_seq = state.next_seq.max(1);
        Ok(MetricSpool {
            dir,
            max_bytes,
            index: Mutex::new(Index {
                entries,
                bytes,
                state,
                acked: 0,
            }),
            changed: Notify::new(),
        })
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `batch` under the next sequence number and returns it. When
    /// the spool then holds more than its bound, the oldest batches (never
    /// this one) are deleted and counted as dropped.
    pub fn append(&self, batch: &MetricBatch) -> Result<u64> {
        let bytes = serde_json::to_vec(batch).map_err(|cause| Error::EncodeBatch {
            dir: self.dir.clone(),
            cause,
        })?;
        let mut index = lock(&self.index);
        let seq = index.state.next_seq;
        let path = self.batch_path(seq);
        write_atomic(&path, &bytes, 0o600)?;
        index.state.next_seq = seq + 1;
        index.entries.insert(seq, bytes.len() as u64);
        index.bytes += bytes.len() as u64;
        let mut dropped = 0;
        while index.bytes > self.max_bytes && index.entries.len() > 1 {
            let Some((oldest, size)) = index.entries.pop_first() else {
                break;
            };
            index.bytes -= size;
            dropped += 1;
            self.remove_file(oldest);
        }
        if dropped > 0 {
            index.state.dropped += dropped;
            tracing::warn!(
                dropped,
                total_dropped = index.state.dropped,
                max_bytes = self.max_bytes,
                "metrics spool full; oldest batches dropped"
            );
        }
        let state = index.state;
        pilot_core::fsutil::write_json_atomic(&self.dir.join(STATE_FILE), &state)?;
        drop(index);
        self.changed.notify_one();
        Ok(seq)
    }

    /// Removes every batch up to and including `seq` (the server stored
    /// them); returns how many were removed.
    pub fn ack(&self, seq: u64) -> u64 {
        let mut index = lock(&self.index);
        let kept = index.entries.split_off(&seq.saturating_add(1));
        let done = std::mem::replace(&mut index.entries, kept);
        for (acked, size) in &done {
            index.bytes -= size;
            self.remove_file(*acked);
        }
        index.acked += done.len() as u64;
        done.len() as u64
    }

    /// The oldest waiting batch with a sequence number above `after`.
    /// A batch file that cannot be decoded is deleted and counted as dropped.
    pub fn next_after(&self, after: u64) -> Result<Option<(u64, MetricBatch)>> {
        let mut after = after;
        loop {
            let next = lock(&self.index)
                .entries
                .range(after.saturating_add(1)..)
                .next()
                .map(|(seq, _)| *seq);
            let Some(seq) = next else {
                return Ok(None);
            };
            let path = self.batch_path(seq);
            match std::fs::read(&path) {
                Ok(bytes) => match serde_json::from_slice(&bytes) {
                    Ok(batch) => return Ok(Some((seq, batch))),
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error,
                            "unreadable metrics batch; dropping it");
                        self.forget(seq, true);
                    }
                },
                // Acknowledged or dropped meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.forget(seq, false),
                Err(e) => return Err(Error::io("read", path, e)),
            }
            after = seq;
        }
    }

    /// Every waiting batch, oldest first.
    pub fn pending(&self) -> Result<Vec<(u64, MetricBatch)>> {
        let mut out = Vec::new();
        let mut after = 0;
        while let Some((seq, batch)) = self.next_after(after)? {
            after = seq;
            out.push((seq, batch));
        }
        Ok(out)
    }

    /// The current figures.
    pub fn figures(&self) -> SpoolFigures {
        let index = lock(&self.index);
        SpoolFigures {
            batches: index.entries.len() as u64,
            bytes: index.bytes,
            acked: index.acked,
            dropped: index.state.dropped,
            last_seq: index.state.next_seq.checked_sub(1).filter(|&s| s > 0),
        }
    }

    /// Completes after the next [`append`](Self::append), or at once if one
    /// happened since the last wait ended. Meant for one waiter at a time.
    pub async fn appended(&self) {
        self.changed.notified().await;
    }

    fn batch_path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.json"))
    }

    /// Drops `seq` from the index (its file is gone or useless).
    fn forget(&self, seq: u64, count_as_dropped: bool) {
        let mut index = lock(&self.index);
        if let Some(size) = index.entries.remove(&seq) {
            index.bytes -= size;
            if count_as_dropped {
                index.state.dropped += 1;
            }
        }
        drop(index);
        if count_as_dropped {
            self.remove_file(seq);
        }
    }

    fn remove_file(&self, seq: u64) {
        let path = self.batch_path(seq);
        if let Err(error) = std::fs::remove_file(&path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), %error, "could not delete a metrics batch");
        }
    }
}

/// The sequence number of a batch file name, `<20 digits>.json`.
fn parse_batch_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".json")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pilot_core::Sample;

    fn batch(samples: usize) -> MetricBatch {
        MetricBatch {
            node: "n".into(),
            samples: (0..samples)
                .map(|i| Sample {
                    name: "load1".into(),
                    labels: Default::default(),
                    timestamp_ms: i as i64,
                    value: 1.0,
                })
                .collect(),
        }
    }

    #[test]
    fn sequence_numbers_survive_reopening_even_when_everything_was_acked() {
        let dir = tempfile::tempdir().unwrap();
        let spool = MetricSpool::open(dir.path(), u64::MAX).unwrap();
        assert_eq!(spool.append(&batch(1)).unwrap(), 1);
        assert_eq!(spool.append(&batch(2)).unwrap(), 2);
        assert_eq!(spool.ack(1), 1);
        let reopened = MetricSpool::open(dir.path(), u64::MAX).unwrap();
        let pending = reopened.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].0, 2);
        assert_eq!(pending[0].1.samples.len(), 2);
        assert_eq!(reopened.ack(2), 1);
        drop(reopened);
        let again = MetricSpool::open(dir.path(), u64::MAX).unwrap();
        assert_eq!(again.figures().batches, 0);
        assert_eq!(again.append(&batch(1)).unwrap(), 3);
    }

    #[test]
    fn a_full_spool_drops_the_oldest_batches_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let one = serde_json::to_vec(&batch(3)).unwrap().len() as u64;
        let spool = MetricSpool::open(dir.path(), one * 2).unwrap();
        for _ in 0..5 {
            spool.append(&batch(3)).unwrap();
        }
        let figures = spool.figures();
        assert_eq!(figures.batches, 2);
        assert_eq!(figures.dropped, 3);
        assert_eq!(figures.last_seq, Some(5));
        let seqs: Vec<u64> = spool.pending().unwrap().iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [4, 5]);
        let reopened = MetricSpool::open(dir.path(), one * 2).unwrap();
        assert_eq!(reopened.figures().dropped, 3);
    }

    #[test]
    fn unreadable_batches_are_dropped_and_stray_files_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let spool = MetricSpool::open(dir.path(), u64::MAX).unwrap();
        spool.append(&batch(1)).unwrap();
        spool.append(&batch(1)).unwrap();
        std::fs::write(spool.batch_path(1), b"{not json").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        std::fs::write(dir.path().join(".00000000000000000009.json.tmp-1"), b"x").unwrap();
        let reopened = MetricSpool::open(dir.path(), u64::MAX).unwrap();
        let (seq, _) = reopened.next_after(0).unwrap().unwrap();
        assert_eq!(seq, 2);
        assert_eq!(reopened.figures().dropped, 1);
        assert!(!dir.path().join(".00000000000000000009.json.tmp-1").exists());
        assert!(dir.path().join("notes.txt").exists());
    }
}

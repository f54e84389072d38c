//! The write path: one call stores one or many batches durably as `ts_head`
//! rows (one per node and window), in one transaction with the series they
//! introduce.

use std::collections::HashMap;

use pilot_core::MetricBatch;

use super::head::{self, HeadSample};
use super::series::{SeriesInfo, labels_text};
use super::{State, TimeseriesStore};
use crate::db::{now_ms, on_pool};
use crate::error::{DbContext, Error, Result};

const REGISTER_SERIES: &str = "INSERT INTO ts_series (node, name, labels) VALUES ($1, $2, $3) \
     ON CONFLICT (node, name, labels) DO UPDATE SET name = excluded.name RETURNING id";
/// Inserts one head row: node, time range, sample count, payload.
pub(super) const INSERT_HEAD: &str =
    "INSERT INTO ts_head (node, min_ts, max_ts, samples, payload) VALUES ($1, $2, $3, $4, $5)";

/// Time range, count and payload of a head row.
pub(super) fn head_row(samples: &[HeadSample]) -> (i64, i64, i64, Vec<u8>) {
    let min_ts = samples.iter().map(|s| s.ts).min().unwrap_or(0);
    let max_ts = samples.iter().map(|s| s.ts).max().unwrap_or(0);
    (
        min_ts,
        max_ts,
        samples.len() as i64,
        head::encode_batch(samples),
    )
}

/// Refuses a batch the store cannot take.
pub(super) fn check(batch: &MetricBatch) -> Result<()> {
    match batch.samples.iter().find(|s| s.name.is_empty()) {
        Some(s) => Err(Error::invalid(
            "metric name",
            format!(
                "a sample of node {} at {} ms has an empty name; give every sample a metric name",
                batch.node, s.timestamp_ms
            ),
        )),
        None => Ok(()),
    }
}

/// A series seen for the first time in a write: where it comes from and the
/// id the database gave it.
struct NewSeries<'a> {
    node: &'a str,
    sample: &'a pilot_core::Sample,
    labels: String,
    id: i64,
}

/// The series of one batch seen so far, by metric name and labels: a batch
/// repeats the same few series over and over, and comparing with the
/// expected next one is cheaper than hashing every sample's identity.
#[derive(Default)]
struct Shapes<'a> {
    seen: Vec<(&'a pilot_core::Sample, i64)>,
    next: usize,
}

impl<'a> Shapes<'a> {
    /// Most series remembered per batch.
    const MAX: usize = 64;

    /// Series compared before falling back to the registry.
    const PROBES: usize = 4;

    fn find(&mut self, s: &pilot_core::Sample) -> Option<i64> {
        let n = self.seen.len();
        for k in 0..n.min(Self::PROBES) {
            let i = (self.next + k) % n;
            let (seen, id) = self.seen[i];
            if seen.name == s.name && seen.labels == s.labels {
                self.next = (i + 1) % n;
                return Some(id);
            }
        }
        None
    }

    fn add(&mut self, s: &'a pilot_core::Sample, id: i64) {
        if self.seen.len() < Self::MAX {
            self.seen.push((s, id));
        }
    }
}

impl TimeseriesStore {
    /// Stores a batch durably, in a commit of its own (batches handed to
    /// [`MetricsSink::accept`](pilot_core::MetricsSink::accept) at the same
    /// time share one). When it returns `Ok`, every sample is in the
    /// database and survives a crash. May compact closed windows afterwards
    /// (see [`TimeseriesOptions::auto_compact_samples`](super::TimeseriesOptions::auto_compact_samples)).
    pub async fn write(&self, batch: &MetricBatch) -> Result<()> {
        self.write_batches(std::slice::from_ref(batch)).await
    }

    /// Stores many batches (of any nodes) in one transaction: one commit, so
    /// one disk flush, however many batches there are. When it returns `Ok`,
    /// every sample of every batch is in the database and survives a crash;
    /// when it fails, none is. This is the group commit for a server that
    /// receives many small batches at once: collect what arrived while the
    /// previous call ran and store it with one call.
    ///
    /// Every batch is checked before anything is written: a sample with an
    /// empty metric name rejects the whole call. Samples of one series and
    /// timestamp in several batches resolve as in one batch: the later
    /// batch in the slice wins.
    pub async fn write_batches(&self, batches: &[MetricBatch]) -> Result<()> {
        self.db.ensure_writable("write samples")?;
        for batch in batches {
            check(batch)?;
        }
        if batches.iter().all(|b| b.samples.is_empty()) {
            return Ok(());
        }
        let due = {
            let _writer = self.writer.lock().await;
            self.write_locked(batches).await?
        };
        self.compact_if_due(due).await
    }

    /// Runs the compaction a write found due, once the write's lock is
    /// released (a spilled head compacts group by group, letting writes in
    /// between), unless a compaction is already running: the writes that
    /// follow would all find it due until it ends.
    pub(super) async fn compact_if_due(&self, due: Option<(i64, i64)>) -> Result<()> {
        if let Some((now, horizon)) = due {
            let Ok(_running) = self.compaction.try_lock() else {
                return Ok(());
            };
            self.compact_unguarded(now, horizon).await?;
        }
        Ok(())
    }

    /// [`write_batches`](Self::write_batches) of checked batches, with the
    /// writer lock held. Returns `(now, horizon)` when a compaction is due.
    pub(super) async fn write_locked(&self, batches: &[MetricBatch]) -> Result<Option<(i64, i64)>> {
        let total: usize = batches.iter().map(|b| b.samples.len()).sum();
        if total == 0 {
            return Ok(None);
        }
        let mut samples = Vec::with_capacity(total);
        // Samples of series not registered yet: (index in `samples`, index in `fresh`).
        let mut pending: Vec<(usize, usize)> = Vec::new();
        let mut fresh: Vec<NewSeries<'_>> = Vec::new();
        // Each batch's node and the end of its samples in `samples`.
        let mut spans: Vec<(&str, usize)> = Vec::with_capacity(batches.len());
        {
            let state = self.lock();
            let mut by_identity: HashMap<(&str, &str, String), usize> = HashMap::new();
            for batch in batches {
                let mut shapes = Shapes::default();
                for s in &batch.samples {
                    let known = shapes.find(s).or_else(|| {
                        let id = state.registry.lookup(&batch.node, &s.name, &s.labels)?;
                        shapes.add(s, id);
                        Some(id)
                    });
                    let id = match known {
                        Some(id) => id,
                        None => {
                            let labels = labels_text(&s.labels);
                            let key = (batch.node.as_str(), s.name.as_str(), labels.clone());
                            let next = fresh.len();
                            let slot = *by_identity.entry(key).or_insert(next);
                            if slot == next {
                                fresh.push(NewSeries {
                                    node: &batch.node,
                                    sample: s,
                                    labels,
                                    id: 0,
                                });
                            }
                            pending.push((samples.len(), slot));
                            0
                        }
                    };
                    samples.push(HeadSample {
                        series: id,
                        ts: s.timestamp_ms,
                        value: s.value,
                    });
                }
                spans.push((&batch.node, samples.len()));
            }
        }
        self.insert_head(&mut samples, &mut fresh, &pending, &spans)
            .await?;
        let now = now_ms();
        let compact_before = {
            let mut state = self.lock();
            for new in &fresh {
                state.registry.insert(SeriesInfo {
                    id: new.id,
                    node: new.node.to_string(),
                    name: new.sample.name.clone(),
                    labels: new.sample.labels.clone(),
                });
            }
            self.absorb(&mut state, &samples);
            self.compaction_due(&state, now)
        };
        self.spill_if_full().await;
        Ok(compact_before.map(|horizon| (now, horizon)))
    }

    /// Writes the head rows, one per batch and window (registering `fresh`
    /// series first, in the same transaction, and giving their samples the
    /// new ids). `spans` gives each batch's node and the end of its samples.
    async fn insert_head(
        &self,
        samples: &mut [HeadSample],
        fresh: &mut [NewSeries<'_>],
        pending: &[(usize, usize)],
        spans: &[(&str, usize)],
    ) -> Result<()> {
        let window = self.options.window_ms;
        if fresh.is_empty() && spans.len() == 1 {
            let rows = head::by_window(samples, window);
            if let [row] = &rows[..] {
                let (min_ts, max_ts, count, payload) = head_row(row);
                on_pool!(self.db, pool => sqlx::query(INSERT_HEAD)
                    .bind(spans[0].0)
                    .bind(min_ts)
                    .bind(max_ts)
                    .bind(count)
                    .bind(payload)
                    .execute(pool)
                    .await
                    .map(|_| ()))
                .db("write metrics to the head")?;
                return Ok(());
            }
        }
        on_pool!(self.db, pool => {
            let mut tx = pool.begin().await.db("begin a metrics write")?;
            for new in fresh.iter_mut() {
                let (id,): (i64,) = sqlx::query_as(REGISTER_SERIES)
                    .bind(new.node)
                    .bind(&new.sample.name)
                    .bind(&new.labels)
                    .fetch_one(&mut *tx)
                    .await
                    .db("register series")?;
                new.id = id;
            }
            for &(i, slot) in pending {
                samples[i].series = fresh[slot].id;
            }
            let mut start = 0;
            for &(node, end) in spans {
                for row in head::by_window(&samples[start..end], window) {
                    let (min_ts, max_ts, count, payload) = head_row(&row);
                    sqlx::query(INSERT_HEAD)
                        .bind(node)
                        .bind(min_ts)
                        .bind(max_ts)
                        .bind(count)
                        .bind(payload)
                        .execute(&mut *tx)
                        .await
                        .db("write metrics to the head")?;
                }
                start = end;
            }
            tx.commit().await.db("commit a metrics write")?;
            Ok(())
        })
    }

    /// Adds written samples to the in-memory head and the latest values.
    fn absorb(&self, state: &mut State, samples: &[HeadSample]) {
        state.head.push_all(samples, self.options.window_ms);
        for s in samples {
            let entry = state.latest.entry(s.series).or_insert((s.ts, s.value));
            if s.ts >= entry.0 {
                *entry = (s.ts, s.value);
            }
        }
    }

    /// Whether a write should compact, and up to which window start:
    /// - when the clock closed a window since the last compaction: every
    ///   closed window;
    /// - when [`TimeseriesOptions::auto_compact_samples`](super::TimeseriesOptions::auto_compact_samples)
    ///   closed samples piled up (a backfill of old data): every closed
    ///   window but the newest one with samples, which is likely still being
    ///   filled, so that it is written once instead of being rewritten by the
    ///   next compaction.
    fn compaction_due(&self, state: &State, now: i64) -> Option<i64> {
        let threshold = self.options.auto_compact_samples;
        if threshold == 0 {
            return None;
        }
        let horizon = self.horizon(now);
        let closed = state.head.closed_len(horizon);
        if closed == 0 {
            None
        } else if horizon > state.compacted_horizon {
            Some(horizon)
        } else if closed >= threshold {
            let newest = state.head.newest_window().unwrap_or(horizon);
            let before = horizon.min(newest);
            (state.head.closed_len(before) > 0).then_some(before)
        } else {
            None
        }
    }
}

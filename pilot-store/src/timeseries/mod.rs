//! The timeseries engine: [`TimeseriesStore`], a `pilot_core::MetricsSink`.
//!
//! - **Series** are identified by node, metric name and labels (`ts_series`).
//! - **Head**: every accepted batch is written as one encoded `ts_head` row
//!   before [`accept`](pilot_core::MetricsSink::accept) returns, so an
//!   acknowledged sample survives a crash (a kill -9 test checks this). The
//!   head's samples are also kept in memory (about 16 bytes per sample, at
//!   most one window plus the compaction threshold).
//! - **Chunks**: time is cut into windows ([`TimeseriesOptions::window_ms`],
//!   8 h by default). Once a window has been closed for the grace period,
//!   compaction writes its samples as one compressed raw chunk per series,
//!   and min/max/sum/count buckets for every rollup [`Tier`] into tier
//!   chunks, in one transaction that also removes them from the head. Writes
//!   compact by themselves (see [`TimeseriesOptions::auto_compact_samples`]);
//!   the CPU work runs on blocking threads, one per core.
//! - **Late samples** of a compacted window are merged into its chunk at the
//!   next compaction (the chunk is rewritten, the window's buckets recomputed).
//!   Until then, raw queries already see them; stepped queries add them to
//!   the window's stored buckets (a late sample replacing an existing
//!   timestamp is counted twice until that compaction).
//! - **Duplicates**: for one series and timestamp, the sample written last wins.
//! - **NaN and infinities** are stored bit-exact; aggregates skip NaN (see
//!   [`Bucket`]).
//! - **Retention** per tier; raw samples older than the raw retention are
//!   dropped when their window is compacted.
//! - **Queries** ([`RangeQuery`]) with a step read the coarsest tier whose
//!   bucket fits in the step, plus the head for what is not compacted yet.
//!
//! ## Codec
//!
//! Both Gorilla (delta-of-delta timestamps, XOR floats) and `pco` are
//! implemented ([`ChunkCodec`]); pco is the default. On the benchmark's
//! 30 days of 10-second host metrics (`benches/timeseries`), raw chunk
//! payloads take 1.38 bytes per sample with pco against 3.48 with Gorilla
//! (CPU % with one decimal: 1.06 against 7.46; byte counters 2.58 against
//! 4.25; memory 0.43 against 0.92; mostly constant disk usage 0.24 against
//! 0.55). Gorilla's XOR cannot exploit decimal values (0.1 is not a short
//! binary fraction) and spends at least a bit per timestamp; pco detects the
//! decimal multiplier, delta orders and repeated values. pco encodes slower
//! (about 63 ns per sample at the level used, against 14) but compaction
//! is off the write path, and it decodes faster (8 ns against 13), which is
//! what queries pay.
mod codec;
mod compact;
mod head;
mod merge;
mod options;
mod query;
mod rollup;
mod series;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use pilot_core::{MetricBatch, MetricsSink};

pub use codec::{ChunkCodec, decode_samples, encode_samples};
pub use compact::CompactionReport;
pub use options::{Tier, TimeseriesOptions};
pub use query::{Aggregation, LatestValue, Point, RangeQuery, SeriesPoints};
pub use rollup::Bucket;
pub use series::{SeriesInfo, SeriesSelector};

use crate::db::{Database, now_ms, on_pool};
use crate::error::{DbContext, Error, Result};
use head::{Head, HeadSample};
use series::{Registry, labels_text};

/// What lives in memory, behind one lock.
#[derive(Debug, Default)]
struct State {
    registry: Registry,
    head: Head,
    /// Newest sample per series.
    latest: HashMap<i64, (i64, f64)>,
    /// Horizon of the last compaction: writes compact again once the clock
    /// has closed another window.
    compacted_horizon: i64,
}

/// The compressed timeseries store on an SQL [`Database`].
#[derive(Debug)]
pub struct TimeseriesStore {
    db: Database,
    options: TimeseriesOptions,
    state: Mutex<State>,
    /// Serialises writes and compactions (the head's single writer).
    writer: tokio::sync::Mutex<()>,
    /// Held shared by queries and exclusively while compaction moves samples
    /// from the head to chunks, so a query never sees them twice.
    view: tokio::sync::RwLock<()>,
}

#[derive(sqlx::FromRow)]
struct SeriesRow {
    id: i64,
    node: String,
    name: String,
    labels: String,
}

#[derive(sqlx::FromRow)]
struct HeadRow {
    id: i64,
    payload: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct LastChunkRow {
    series_id: i64,
    start_ms: i64,
    payload: Vec<u8>,
}

impl TimeseriesStore {
    /// Opens the store: loads the series and replays the head into memory.
    pub async fn open(db: Database, options: TimeseriesOptions) -> Result<Self> {
        options.validate()?;
        let mut state = State::default();
        let rows = on_pool!(db, pool => sqlx::query_as::<_, SeriesRow>(
            "SELECT id, node, name, labels FROM ts_series",
        )
        .fetch_all(pool)
        .await)
        .db("load series")?;
        for row in rows {
            let labels = crate::ops::from_json("ts_series", &row.id.to_string(), &row.labels)?;
            state.registry.insert(SeriesInfo {
                id: row.id,
                node: row.node,
                name: row.name,
                labels,
            });
        }
        let heads = on_pool!(db, pool => sqlx::query_as::<_, HeadRow>(
            "SELECT id, payload FROM ts_head ORDER BY id",
        )
        .fetch_all(pool)
        .await)
        .db("load head")?;
        for row in heads {
            let samples = head::decode_batch(&row.payload)
                .map_err(|reason| Error::CorruptHead { id: row.id, reason })?;
            for s in samples {
                state.head.push(s, options.window_ms);
            }
            state.head.max_row_id = row.id;
        }
        let last_chunks = on_pool!(db, pool => sqlx::query_as::<_, LastChunkRow>(
            "SELECT c.series_id, c.start_ms, c.payload FROM ts_chunks c \
             WHERE c.tier = 0 AND c.start_ms = \
             (SELECT MAX(d.start_ms) FROM ts_chunks d WHERE d.series_id = c.series_id AND d.tier = 0)",
        )
        .fetch_all(pool)
        .await)
        .db("load latest chunks")?;
        for row in last_chunks {
            let raw = codec::decode_raw(&row.payload).map_err(|reason| Error::CorruptChunk {
                series: row.series_id,
                tier_ms: 0,
                start_ms: row.start_ms,
                reason,
            })?;
            if let (Some(&ts), Some(&v)) = (raw.ts.last(), raw.values.last()) {
                state.latest.insert(row.series_id, (ts, v));
            }
        }
        let ids: Vec<i64> = state.registry.ids();
        for id in ids {
            if let Some(last) = state.head.last(id) {
                let entry = state.latest.entry(id).or_insert(last);
                if last.0 >= entry.0 {
                    *entry = last;
                }
            }
        }
        Ok(TimeseriesStore {
            db,
            options,
            state: Mutex::new(state),
            writer: tokio::sync::Mutex::new(()),
            view: tokio::sync::RwLock::new(()),
        })
    }

    /// The options the store runs with.
    pub fn options(&self) -> &TimeseriesOptions {
        &self.options
    }

    /// The database the store uses.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Samples waiting in the head (duplicates counted).
    pub fn head_len(&self) -> usize {
        self.lock().head.len()
    }

    /// Every series, by id.
    pub fn series(&self, selector: &SeriesSelector) -> Vec<SeriesInfo> {
        self.lock()
            .registry
            .select(selector)
            .into_iter()
            .map(|s| (*s).clone())
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores a batch durably. When it returns `Ok`, every sample is in the
    /// database and survives a crash. May compact closed windows afterwards
    /// (see [`TimeseriesOptions::auto_compact_samples`]).
    pub async fn write(&self, batch: &MetricBatch) -> Result<()> {
        if batch.samples.is_empty() {
            return Ok(());
        }
        if let Some(s) = batch.samples.iter().find(|s| s.name.is_empty()) {
            return Err(Error::invalid(
                "metric name",
                format!(
                    "a sample of node {} at {} ms has an empty name",
                    batch.node, s.timestamp_ms
                ),
            ));
        }
        let _writer = self.writer.lock().await;
        let mut ids = Vec::with_capacity(batch.samples.len());
        let mut missing = Vec::new();
        {
            let state = self.lock();
            for (i, s) in batch.samples.iter().enumerate() {
                let id = state.registry.lookup(&batch.node, &s.name, &s.labels);
                if id.is_none() {
                    missing.push(i);
                }
                ids.push(id.unwrap_or(0));
            }
        }
        for i in missing {
            let s = &batch.samples[i];
            let known = self.lock().registry.lookup(&batch.node, &s.name, &s.labels);
            let id = match known {
                Some(id) => id,
                None => self.register(&batch.node, s).await?,
            };
            ids[i] = id;
        }
        let samples: Vec<HeadSample> = batch
            .samples
            .iter()
            .zip(&ids)
            .map(|(s, &series)| HeadSample {
                series,
                ts: s.timestamp_ms,
                value: s.value,
            })
            .collect();
        let payload = head::encode_batch(&samples);
        let min_ts = samples.iter().map(|s| s.ts).min().unwrap_or(0);
        let max_ts = samples.iter().map(|s| s.ts).max().unwrap_or(0);
        let (row_id,): (i64,) = on_pool!(self.db, pool => sqlx::query_as(
            "INSERT INTO ts_head (min_ts, max_ts, samples, payload) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(min_ts)
        .bind(max_ts)
        .bind(samples.len() as i64)
        .bind(payload)
        .fetch_one(pool)
        .await)
        .db("write metrics to the head")?;
        let now = now_ms();
        let compact_before = {
            let mut state = self.lock();
            for s in &samples {
                state.head.push(*s, self.options.window_ms);
                let entry = state.latest.entry(s.series).or_insert((s.ts, s.value));
                if s.ts >= entry.0 {
                    *entry = (s.ts, s.value);
                }
            }
            state.head.max_row_id = row_id;
            self.compaction_due(&state, now)
        };
        if let Some(horizon) = compact_before {
            self.compact_locked(now, horizon).await?;
        }
        Ok(())
    }

    /// Whether a write should compact, and up to which window start:
    /// - when the clock closed a window since the last compaction: every
    ///   closed window;
    /// - when [`TimeseriesOptions::auto_compact_samples`] closed samples piled
    ///   up (a backfill of old data): every closed window but the newest one
    ///   with samples, which is likely still being filled, so that it is
    ///   written once instead of being rewritten by the next compaction.
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

    /// Registers a new series and returns its id.
    async fn register(&self, node: &str, sample: &pilot_core::Sample) -> Result<i64> {
        let labels = labels_text(&sample.labels);
        let (id,): (i64,) = on_pool!(self.db, pool => sqlx::query_as(
            "INSERT INTO ts_series (node, name, labels) VALUES ($1, $2, $3) \
             ON CONFLICT (node, name, labels) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(node)
        .bind(&sample.name)
        .bind(&labels)
        .fetch_one(pool)
        .await)
        .db("register series")?;
        self.lock().registry.insert(SeriesInfo {
            id,
            node: node.to_string(),
            name: sample.name.clone(),
            labels: sample.labels.clone(),
        });
        Ok(id)
    }

    /// Start of the first window that is still open at `now`.
    fn horizon(&self, now: i64) -> i64 {
        rollup::align(
            now.saturating_sub(self.options.grace_ms),
            self.options.window_ms,
        )
    }

    /// The newest value of every series of a node, by series id.
    pub fn latest(&self, node: &str) -> Vec<LatestValue> {
        let state = self.lock();
        state
            .registry
            .of_node(node)
            .into_iter()
            .filter_map(|series| {
                let &(timestamp_ms, value) = state.latest.get(&series.id)?;
                Some(LatestValue {
                    series: (*series).clone(),
                    point: Point {
                        timestamp_ms,
                        value,
                    },
                })
            })
            .collect()
    }
}

#[async_trait]
impl MetricsSink for TimeseriesStore {
    /// Durable once it returns `Ok` (see [`TimeseriesStore::write`]).
    async fn accept(&self, batch: MetricBatch) -> pilot_core::Result<()> {
        self.write(&batch).await.map_err(|e| match e {
            Error::Core(core) => core,
            other => pilot_core::Error::io(
                "store metrics in",
                self.db.location(),
                std::io::Error::other(other),
            ),
        })
    }
}

//! The timeseries engine: [`TimeseriesStore`], a `pilot_core::MetricsSink`.
//!
//! - **Series** are identified by node, metric name and labels (`ts_series`).
//! - **Head**: every accepted batch is written as encoded `ts_head` rows
//!   (one per node and window) before
//!   [`accept`](pilot_core::MetricsSink::accept) returns, so an
//!   acknowledged sample survives a crash (a kill -9 test checks this).
//!   [`TimeseriesStore::write_batches`] stores many batches in one
//!   transaction (group commit: one disk flush for all of them). The head's
//!   samples are also kept in memory (about 16 bytes per sample) up to
//!   [`TimeseriesOptions::head_memory_samples`]; beyond it the head is
//!   *spilled*: queries and compaction read its rows from the database node
//!   by node, so memory stays bounded however many nodes write.
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
mod blockcache;
mod codec;
mod compact;
mod group;
mod head;
mod idmap;
mod merge;
mod open;
mod options;
mod query;
mod rollup;
mod series;
mod spill;
mod write;

use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use pilot_core::{MetricBatch, MetricsSink};

pub use codec::{ChunkCodec, decode_samples, encode_samples};
pub use compact::CompactionReport;
pub use options::{Tier, TimeseriesOptions};
pub use query::{Aggregation, LatestValue, Point, RangeQuery, SeriesPoints};
pub use rollup::Bucket;
pub use series::{SeriesInfo, SeriesSelector};

use crate::db::{Database, on_pool};
use crate::error::{DbContext, Error, Result};
use head::Head;
use idmap::IdMap;
use series::Registry;

/// What lives in memory, behind one lock.
#[derive(Debug, Default)]
struct State {
    registry: Registry,
    head: Head,
    /// Newest sample per series.
    latest: IdMap<(i64, f64)>,
    /// Horizon of the last compaction: writes compact again once the clock
    /// has closed another window.
    compacted_horizon: i64,
    /// Whether `ts_chunks` holds raw chunks of an earlier version.
    legacy_raw: bool,
    /// PostgreSQL: bytes deleted or replaced since the last `VACUUM`.
    freed_bytes: u64,
    /// Batches handed to `accept` waiting for the next group commit.
    waiting: Vec<group::Waiting>,
    /// Decoded samples of compacted blocks, for repeated queries.
    block_cache: blockcache::BlockCache,
}

/// The compressed timeseries store on an SQL [`Database`].
#[derive(Debug)]
pub struct TimeseriesStore {
    db: Database,
    options: TimeseriesOptions,
    state: Mutex<State>,
    /// Serialises writes and compactions (the head's single writer).
    writer: tokio::sync::Mutex<()>,
    /// Held for a whole compaction (which may take the writer lock several
    /// times), so that one runs at a time.
    compaction: tokio::sync::Mutex<()>,
    /// Held shared by queries and exclusively while compaction moves samples
    /// from the head to chunks, so a query never sees them twice.
    view: tokio::sync::RwLock<()>,
}

impl TimeseriesStore {
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

    /// Whether the head went over
    /// [`TimeseriesOptions::head_memory_samples`] and is read from the
    /// database instead of memory (until a compaction shrinks it).
    pub fn head_spilled(&self) -> bool {
        self.lock().head.is_spilled()
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

    /// Every metric name in the database, sorted by bytes (the same order on
    /// SQLite and PostgreSQL). Read from the database, so it includes the
    /// series other processes registered since this store was opened.
    pub async fn metric_names(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self.db, pool => sqlx::query_as(
            "SELECT DISTINCT name FROM ts_series",
        )
        .fetch_all(pool)
        .await)
        .db("list metric names")?;
        let mut names: Vec<String> = rows.into_iter().map(|(name,)| name).collect();
        names.sort_unstable();
        Ok(names)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
    /// Durable once it returns `Ok`. Batches accepted at the same time from
    /// several tasks are stored with one commit (group commit).
    async fn accept(&self, batch: MetricBatch) -> pilot_core::Result<()> {
        self.write_grouped(batch).await.map_err(|e| match e {
            Error::Core(core) => core,
            other => pilot_core::Error::io(
                "store metrics in",
                self.db.location(),
                std::io::Error::other(other),
            ),
        })
    }
}

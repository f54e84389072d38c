//! A spilled head: once the head holds more samples than
//! [`TimeseriesOptions::head_memory_samples`](super::TimeseriesOptions::head_memory_samples),
//! its samples stay only in `ts_head` (one row per node and window of a
//! write), memory keeps their count per window, and:
//! - queries read the head rows of the selected series' nodes;
//! - compaction reads closed rows node by node, a group of nodes per
//!   transaction, and takes the writer lock per group only, so writes go on
//!   between groups (a row written meanwhile waits for the next compaction);
//! - once a compaction leaves at most half the limit, the head returns to
//!   memory.

use std::collections::{BTreeMap, HashMap};

use futures::TryStreamExt;

use super::TimeseriesStore;
use super::compact::{CompactionReport, Group, HeadCleanup};
use super::head::{self, Head, HeadSample, normalize};
use super::idmap::IdMap;
use super::rollup::align;
use crate::db::on_pool;
use crate::error::{DbContext, Error, Result};

/// Most samples read into memory for one compaction group (about 16 MB);
/// a group holds at least one node.
const GROUP_SAMPLES: i64 = 1_000_000;

#[derive(sqlx::FromRow)]
struct HeadRow {
    id: i64,
    min_ts: i64,
    samples: i64,
    payload: Vec<u8>,
}

const NODE_ROWS: &str = "SELECT id, min_ts, samples, payload FROM ts_head \
     WHERE node = $1 AND max_ts >= $2 AND min_ts < $3 ORDER BY id";

fn decode(row: &HeadRow) -> Result<Vec<HeadSample>> {
    head::decode_batch(&row.payload).map_err(|reason| Error::CorruptHead { id: row.id, reason })
}

impl TimeseriesStore {
    /// Compacts the windows before `horizon`: in one transaction when the
    /// head is in memory, node group by node group when it is spilled.
    pub(super) async fn compact_to(&self, now: i64, horizon: i64) -> Result<CompactionReport> {
        let _running = self.compaction.lock().await;
        self.compact_unguarded(now, horizon).await
    }

    /// [`compact_to`](Self::compact_to), the caller holding the compaction
    /// lock.
    pub(super) async fn compact_unguarded(
        &self,
        now: i64,
        horizon: i64,
    ) -> Result<CompactionReport> {
        let writer = self.writer.lock().await;
        if !self.lock().head.is_spilled() {
            return self.compact_locked(now, horizon).await;
        }
        drop(writer);
        self.compact_spilled(now, horizon.min(self.horizon(now)))
            .await
    }

    /// Head rows of `node` overlapping `[from, to)`, as samples of the
    /// series in `wanted`, in write order.
    async fn node_rows(
        &self,
        node: &str,
        from: i64,
        to: i64,
        wanted: impl Fn(i64) -> bool,
    ) -> Result<(Vec<HeadSample>, Vec<HeadRow>)> {
        let rows = on_pool!(self.db, pool => sqlx::query_as::<_, HeadRow>(NODE_ROWS)
            .bind(node)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)
        .db("read the head")?;
        let mut samples = Vec::new();
        for row in &rows {
            samples.extend(decode(row)?.into_iter().filter(|s| wanted(s.series)));
        }
        Ok((samples, rows))
    }

    /// Head samples of the given series (of one node) in `[from, to)`, per
    /// series, sorted, duplicates resolved: what [`Head::range`] gives when
    /// the head is in memory. The caller holds the view lock.
    pub(super) async fn spilled_range(
        &self,
        node: &str,
        series: &[i64],
        from: i64,
        to: i64,
    ) -> Result<IdMap<Vec<(i64, f64)>>> {
        let (samples, _) = self
            .node_rows(node, from, to, |id| series.contains(&id))
            .await?;
        let mut out: IdMap<Vec<(i64, f64)>> = IdMap::default();
        for s in samples {
            if s.ts >= from && s.ts < to {
                out.entry(s.series).or_default().push((s.ts, s.value));
            }
        }
        for samples in out.values_mut() {
            normalize(samples);
        }
        Ok(out)
    }

    /// Compaction of a spilled head, group by group, then retention.
    async fn compact_spilled(&self, now: i64, horizon: i64) -> Result<CompactionReport> {
        let nodes: Vec<(String, i64)> = on_pool!(self.db, pool => sqlx::query_as(
            "SELECT node, CAST(SUM(samples) AS BIGINT) FROM ts_head WHERE max_ts < $1 \
             GROUP BY node ORDER BY node",
        )
        .bind(horizon)
        .fetch_all(pool)
        .await)
        .db("list head rows to compact")?;
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut size = 0;
        for (node, samples) in nodes {
            match groups.last_mut() {
                Some(group) if size + samples <= GROUP_SAMPLES => group.push(node),
                _ => {
                    groups.push(vec![node]);
                    size = 0;
                }
            }
            size += samples;
        }
        let mut report = CompactionReport::default();
        for nodes in groups {
            let _writer = self.writer.lock().await;
            let group = self.spilled_group(&nodes, horizon).await?;
            add(&mut report, self.compact_group(now, horizon, group).await?);
        }
        let _writer = self.writer.lock().await;
        let retention = Group {
            closed: BTreeMap::new(),
            nodes: HashMap::new(),
            latest: Vec::new(),
            cleanup: HeadCleanup::Memory,
            retention: true,
        };
        add(
            &mut report,
            self.compact_group(now, horizon, retention).await?,
        );
        self.lock().compacted_horizon = self.horizon(now);
        if self.lock().head.len() <= self.options.head_memory_samples / 2 {
            self.unspill().await?;
        }
        Ok(report)
    }

    /// Reads the closed head rows of some nodes into a compaction group.
    async fn spilled_group(&self, nodes: &[String], horizon: i64) -> Result<Group> {
        let window = self.options.window_ms;
        let mut closed: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
        let mut owners = HashMap::new();
        let mut read = Vec::new();
        let mut removed: BTreeMap<i64, usize> = BTreeMap::new();
        for node in nodes {
            let (samples, rows) = self.node_rows(node, i64::MIN, horizon, |_| true).await?;
            // Rows overlapping the horizon belong to open windows.
            let closed_rows: Vec<&HeadRow> = rows
                .iter()
                .filter(|r| align(r.min_ts, window) < horizon)
                .collect();
            if let Some(last) = closed_rows.iter().map(|r| r.id).max() {
                read.push((node.clone(), last));
            }
            for row in &closed_rows {
                *removed.entry(align(row.min_ts, window)).or_default() += row.samples as usize;
            }
            for s in samples.into_iter().filter(|s| s.ts < horizon) {
                owners.entry(s.series).or_insert_with(|| node.clone());
                closed.entry(s.series).or_default().push((s.ts, s.value));
            }
        }
        for samples in closed.values_mut() {
            normalize(samples);
        }
        let latest = {
            let state = self.lock();
            closed
                .keys()
                .filter_map(|id| state.latest.get(id).map(|&(ts, v)| (*id, ts, v)))
                .collect()
        };
        Ok(Group {
            closed,
            nodes: owners,
            latest,
            cleanup: HeadCleanup::Spilled { read, removed },
            retention: false,
        })
    }

    /// Spills the head when it holds more samples than the limit; the
    /// caller holds the writer lock.
    pub(super) async fn spill_if_full(&self) {
        let full = {
            let state = self.lock();
            !state.head.is_spilled() && state.head.len() > self.options.head_memory_samples
        };
        if full {
            // No query is between reading the head and the blocks.
            let _view = self.view.write().await;
            self.lock().head.spill();
            tracing::info!(
                limit = self.options.head_memory_samples,
                "timeseries head spilled: recent samples are read from the database"
            );
        }
    }

    /// Loads a spilled head back into memory; the caller holds the writer
    /// lock.
    async fn unspill(&self) -> Result<()> {
        let mut head = Head::default();
        load_rows(&self.db, &mut head, self.options.window_ms).await?;
        let _view = self.view.write().await;
        self.lock().head = head;
        Ok(())
    }
}

/// Calls `each` with every head row and its samples, in write order,
/// streaming (the head may be far larger than memory).
async fn each_row(
    db: &crate::db::Database,
    action: &'static str,
    mut each: impl FnMut(&HeadRow, Vec<HeadSample>),
) -> Result<()> {
    on_pool!(db, pool => {
        let mut rows = sqlx::query_as::<_, HeadRow>(
            "SELECT id, min_ts, samples, payload FROM ts_head ORDER BY id",
        )
        .fetch(pool);
        while let Some(row) = rows.try_next().await.db(action)? {
            let samples = decode(&row)?;
            each(&row, samples);
        }
        Ok::<(), Error>(())
    })
}

/// Replays every head row into `head`, in write order.
pub(super) async fn load_rows(
    db: &crate::db::Database,
    head: &mut Head,
    window_ms: i64,
) -> Result<()> {
    each_row(db, "load head", |_, samples| {
        head.push_all(&samples, window_ms)
    })
    .await
}

/// Counts the head rows of a spilled head per window and computes the
/// newest sample of every series.
pub(super) async fn scan_spilled(
    db: &crate::db::Database,
    head: &mut Head,
    latest: &mut IdMap<(i64, f64)>,
    window_ms: i64,
) -> Result<()> {
    each_row(db, "scan the head", |row, samples| {
        head.count_spilled(align(row.min_ts, window_ms), row.samples as usize);
        for s in samples {
            let entry = latest.entry(s.series).or_insert((s.ts, s.value));
            if s.ts >= entry.0 {
                *entry = (s.ts, s.value);
            }
        }
    })
    .await
}

fn add(total: &mut CompactionReport, part: CompactionReport) {
    total.samples += part.samples;
    total.raw_chunks += part.raw_chunks;
    total.tier_chunks += part.tier_chunks;
    total.dropped_expired += part.dropped_expired;
    total.chunks_expired += part.chunks_expired;
}

//! Compaction: closed windows move from the head into blocks and rollup tier
//! chunks in one transaction; then retention runs.

use std::collections::{BTreeMap, HashMap};

use super::TimeseriesStore;
use super::merge::{MergeInput, MergeOutput, merge};
use super::rollup::align;
use crate::db::{Pool, now_ms, on_pool, toast_join};
use crate::error::{DbContext, Error, Result};

/// What one compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Samples moved from the head into blocks.
    pub samples: usize,
    /// Raw block rows written (one per node and window, more for nodes with
    /// many series), new or merged with late samples.
    pub raw_chunks: usize,
    /// Rollup chunks written.
    pub tier_chunks: usize,
    /// Samples dropped because their window was already past raw retention.
    pub dropped_expired: usize,
    /// Block and chunk rows deleted by retention.
    pub chunks_expired: u64,
}

#[derive(sqlx::FromRow)]
struct ChunkRow {
    series_id: i64,
    start_ms: i64,
    end_ms: i64,
    payload: Vec<u8>,
    tail: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct BlockRow {
    start_ms: i64,
    payload: Vec<u8>,
    tail: Vec<u8>,
}

const UPSERT_CHUNK: &str = "INSERT INTO ts_chunks \
     (series_id, tier, start_ms, end_ms, points, payload, tail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (series_id, tier, start_ms) DO UPDATE SET \
     end_ms = excluded.end_ms, points = excluded.points, payload = excluded.payload, \
     tail = excluded.tail";
const SELECT_CHUNKS: &str = "SELECT series_id, start_ms, end_ms, payload, tail FROM ts_chunks \
     WHERE tier = $1 AND start_ms >= $2 AND start_ms <= $3 AND end_ms > $4 \
     AND series_id >= $5 AND series_id <= $6";
const SELECT_BLOCKS: &str = "SELECT start_ms, payload, tail FROM ts_blocks \
     WHERE node = $1 AND start_ms >= $2 AND start_ms <= $3";
const DELETE_CHUNK: &str =
    "DELETE FROM ts_chunks WHERE series_id = $1 AND tier = $2 AND start_ms = $3";
const DELETE_BLOCKS: &str = "DELETE FROM ts_blocks WHERE node = $1 AND start_ms = $2";
const INSERT_BLOCK: &str = "INSERT INTO ts_blocks \
     (node, start_ms, first_series, last_series, end_ms, samples, payload, tail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// Series ids further apart than this start a new id range when reading
/// the chunks of the series being compacted.
const ID_GAP: i64 = 64;

const SAVE_LATEST: &str = "UPDATE ts_series SET last_ms = $2, last_bits = $3 WHERE id = $1";

/// PostgreSQL: bytes of deleted or replaced rows after which compaction runs
/// `VACUUM`, so that the next writes reuse the space instead of growing the
/// tables (autovacuum may wait much longer during a backfill).
const VACUUM_AFTER_BYTES: u64 = 4 << 20;
/// About what a sample takes in a head row.
const HEAD_BYTES: u64 = 11;

/// Closed samples compacted in one transaction.
pub(super) struct Group {
    /// Samples per series, sorted, duplicates resolved.
    pub closed: BTreeMap<i64, Vec<(i64, f64)>>,
    /// The node of each series.
    pub nodes: HashMap<i64, String>,
    /// Latest values to save for the series: (series, ts, value).
    pub latest: Vec<(i64, i64, f64)>,
    /// Which head rows the group came from.
    pub cleanup: HeadCleanup,
    /// Whether the transaction also applies retention.
    pub retention: bool,
}

/// Which head rows a compacted group removes.
pub(super) enum HeadCleanup {
    /// Every row before the horizon (the head is in memory and the group
    /// holds all of it).
    Memory,
    /// The rows read from the database: per node, the newest row id read
    /// (rows before the horizon up to it); `removed` counts their samples
    /// per window for the in-memory counts.
    Spilled {
        /// (node, newest row id read).
        read: Vec<(String, i64)>,
        /// Samples removed per window start.
        removed: BTreeMap<i64, usize>,
    },
}

/// Ranges `(lo, hi)` covering sorted ids, split where ids lie far apart.
fn id_ranges(ids: &[i64]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &id in ids {
        match out.last_mut() {
            Some(last) if id - last.1 <= ID_GAP => last.1 = id,
            _ => out.push((id, id)),
        }
    }
    out
}

impl TimeseriesStore {
    /// Compacts every window closed at the current time and applies retention.
    pub async fn compact(&self) -> Result<CompactionReport> {
        self.compact_at(now_ms()).await
    }

    /// Compacts every window closed at `now` (Unix ms) and applies retention
    /// as of `now`.
    pub async fn compact_at(&self, now: i64) -> Result<CompactionReport> {
        self.db.ensure_writable("compact")?;
        self.compact_to(now, self.horizon(now)).await
    }

    /// Existing chunks of a tier that overlap `[from, to]`, none of them
    /// wider than `span`, of the series in `ids` (sorted), read by ranges
    /// of nearby ids.
    async fn chunks_between(
        &self,
        tier_ms: i64,
        span: i64,
        from: i64,
        to: i64,
        ids: &[i64],
    ) -> Result<Vec<ChunkRow>> {
        let mut out = Vec::new();
        for (lo, hi) in id_ranges(ids) {
            let rows = on_pool!(self.db, pool => sqlx::query_as::<_, ChunkRow>(SELECT_CHUNKS)
                .bind(tier_ms)
                .bind(from.saturating_sub(span))
                .bind(to)
                .bind(from)
                .bind(lo)
                .bind(hi)
                .fetch_all(pool)
                .await)
            .db("read chunks to merge")?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Compacts the windows that start before `horizon` (at most the
    /// horizon of `now`) of a head kept in memory; the caller holds the
    /// writer lock, so nothing else changes the head or the stored data
    /// meanwhile.
    pub(super) async fn compact_locked(&self, now: i64, horizon: i64) -> Result<CompactionReport> {
        let horizon = horizon.min(self.horizon(now));
        let group = {
            let mut state = self.lock();
            let closed = state.head.closed(horizon);
            let mut nodes = HashMap::new();
            let mut latest = Vec::new();
            for id in closed.keys() {
                if let Some(node) = state.registry.node_of(*id) {
                    nodes.insert(*id, node.to_string());
                }
                if let Some(&(ts, value)) = state.latest.get(id) {
                    latest.push((*id, ts, value));
                }
            }
            Group {
                closed,
                nodes,
                latest,
                cleanup: HeadCleanup::Memory,
                retention: true,
            }
        };
        let report = self.compact_group(now, horizon, group).await?;
        self.lock().compacted_horizon = self.horizon(now);
        Ok(report)
    }

    /// Moves one group of closed samples into blocks and tier chunks in one
    /// transaction, removes their head rows, and applies retention when the
    /// group asks for it. The caller holds the writer lock.
    pub(super) async fn compact_group(
        &self,
        now: i64,
        horizon: i64,
        group: Group,
    ) -> Result<CompactionReport> {
        let window = self.options.window_ms;
        let Group {
            closed,
            nodes,
            latest,
            cleanup,
            retention,
        } = group;
        let mut plan: BTreeMap<(i64, i64), Vec<(i64, f64)>> = BTreeMap::new();
        for (series, samples) in closed {
            let mut rest = samples.as_slice();
            while let Some(&(first, _)) = rest.first() {
                let start = align(first, window);
                let n = rest.partition_point(|s| s.0 < start + window);
                plan.insert((series, start), rest[..n].to_vec());
                rest = &rest[n..];
            }
        }
        let merged = match (
            plan.keys().map(|k| k.1).min(),
            plan.keys().map(|k| k.1).max(),
        ) {
            (Some(first), Some(last)) => {
                Some(self.merge_windows(plan, nodes, first, last, now).await?)
            }
            _ => None,
        };

        let mut report = CompactionReport::default();
        let raw_cutoff = now.saturating_sub(self.options.raw_retention_ms);
        let mut expiries = vec![(0i64, raw_cutoff)];
        expiries.extend(
            self.options
                .tiers
                .iter()
                .map(|t| (t.bucket_ms, now.saturating_sub(t.retention_ms))),
        );
        let freed = on_pool!(self.db, pool => {
            let mut tx = pool.begin().await.db("begin compaction")?;
            let mut freed = 0u64;
            if let Some(out) = &merged {
                for (node, start) in &out.replaced {
                    sqlx::query(DELETE_BLOCKS)
                        .bind(node)
                        .bind(start)
                        .execute(&mut *tx)
                        .await
                        .db("replace blocks")?;
                }
                for b in &out.blocks {
                    let (payload, tail) = self.db.toast_split(&b.payload);
                    sqlx::query(INSERT_BLOCK)
                        .bind(&b.node)
                        .bind(b.start_ms)
                        .bind(b.first_series)
                        .bind(b.last_series)
                        .bind(b.end_ms)
                        .bind(b.samples)
                        .bind(payload)
                        .bind(tail)
                        .execute(&mut *tx)
                        .await
                        .db("write block")?;
                }
                for &(series, start) in &out.legacy_merged {
                    sqlx::query(DELETE_CHUNK)
                        .bind(series)
                        .bind(0i64)
                        .bind(start)
                        .execute(&mut *tx)
                        .await
                        .db("remove merged raw chunk")?;
                }
                for w in &out.tier_writes {
                    let (payload, tail) = self.db.toast_split(&w.payload);
                    sqlx::query(UPSERT_CHUNK)
                        .bind(w.series)
                        .bind(w.tier_ms)
                        .bind(w.start_ms)
                        .bind(w.end_ms)
                        .bind(w.points)
                        .bind(payload)
                        .bind(tail)
                        .execute(&mut *tx)
                        .await
                        .db("write chunk")?;
                }
                for &(series, tier_ms, start_ms) in &out.empty {
                    sqlx::query(DELETE_CHUNK)
                        .bind(series)
                        .bind(tier_ms)
                        .bind(start_ms)
                        .execute(&mut *tx)
                        .await
                        .db("remove empty rollup chunk")?;
                }
                freed += out.replaced_bytes + (out.samples + out.dropped) as u64 * HEAD_BYTES;
                match &cleanup {
                    // Head rows hold one window each: those before the
                    // horizon hold exactly the samples just compacted.
                    HeadCleanup::Memory => {
                        sqlx::query("DELETE FROM ts_head WHERE max_ts < $1")
                            .bind(horizon)
                            .execute(&mut *tx)
                            .await
                            .db("remove compacted head rows")?;
                    }
                    // The rows read for this group, and none written since.
                    HeadCleanup::Spilled { read, .. } => {
                        for (node, last_id) in read {
                            sqlx::query(
                                "DELETE FROM ts_head WHERE node = $1 AND max_ts < $2 AND id <= $3",
                            )
                            .bind(node)
                            .bind(horizon)
                            .bind(last_id)
                            .execute(&mut *tx)
                            .await
                            .db("remove compacted head rows")?;
                        }
                    }
                }
                for &(series, ts, value) in &latest {
                    sqlx::query(SAVE_LATEST)
                        .bind(series)
                        .bind(ts)
                        .bind(value.to_bits() as i64)
                        .execute(&mut *tx)
                        .await
                        .db("save latest values")?;
                }
            }
            if retention {
                report.chunks_expired += sqlx::query("DELETE FROM ts_blocks WHERE end_ms <= $1")
                    .bind(raw_cutoff)
                    .execute(&mut *tx)
                    .await
                    .db("apply retention")?
                    .rows_affected();
                for &(tier_ms, cutoff) in &expiries {
                    report.chunks_expired +=
                        sqlx::query("DELETE FROM ts_chunks WHERE tier = $1 AND end_ms <= $2")
                            .bind(tier_ms)
                            .bind(cutoff)
                            .execute(&mut *tx)
                            .await
                            .db("apply retention")?
                            .rows_affected();
                }
            }
            // Queries see either the head before or the blocks after, never both.
            let _view = self.view.write().await;
            tx.commit().await.db("commit compaction")?;
            let mut state = self.lock();
            if merged.is_some() || report.chunks_expired > 0 {
                state.block_cache.clear();
            }
            match &cleanup {
                HeadCleanup::Memory if merged.is_some() => state.head.drop_before(horizon, window),
                HeadCleanup::Memory => {}
                HeadCleanup::Spilled { removed, .. } => state.head.forget(removed),
            }
            freed
        });
        if let Some(out) = merged {
            report.samples = out.samples;
            report.raw_chunks = out.blocks.len();
            report.tier_chunks = out.tier_chunks;
            report.dropped_expired = out.dropped;
        }
        self.vacuum_if_needed(freed).await?;
        tracing::debug!(
            samples = report.samples,
            blocks = report.raw_chunks,
            tier_chunks = report.tier_chunks,
            dropped = report.dropped_expired,
            expired = report.chunks_expired,
            "compacted timeseries head"
        );
        Ok(report)
    }

    /// PostgreSQL keeps deleted and replaced rows until `VACUUM`; once
    /// enough piled up, vacuum the timeseries tables so that later writes
    /// reuse the space.
    async fn vacuum_if_needed(&self, freed: u64) -> Result<()> {
        let Pool::Postgres(pool) = self.db.pool() else {
            return Ok(());
        };
        let due = {
            let mut state = self.lock();
            state.freed_bytes += freed;
            state.freed_bytes >= VACUUM_AFTER_BYTES
        };
        if due {
            sqlx::query("VACUUM ts_head, ts_blocks, ts_chunks")
                .execute(pool)
                .await
                .db("vacuum timeseries tables")?;
            self.lock().freed_bytes = 0;
        }
        Ok(())
    }

    /// Loads what the plan touches and merges on blocking threads.
    async fn merge_windows(
        &self,
        plan: BTreeMap<(i64, i64), Vec<(i64, f64)>>,
        nodes: HashMap<i64, String>,
        first: i64,
        last: i64,
        now: i64,
    ) -> Result<MergeOutput> {
        let mut windows: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for (series, start) in plan.keys() {
            if let Some(node) = nodes.get(series) {
                windows.entry(node).or_default().push(*start);
            }
        }
        let mut blocks: HashMap<(String, i64), Vec<Vec<u8>>> = HashMap::new();
        for (node, starts) in &windows {
            let (lo, hi) = (starts.iter().min(), starts.iter().max());
            let (Some(&lo), Some(&hi)) = (lo, hi) else {
                continue;
            };
            let rows = on_pool!(self.db, pool => sqlx::query_as::<_, BlockRow>(SELECT_BLOCKS)
                .bind(*node)
                .bind(lo)
                .bind(hi)
                .fetch_all(pool)
                .await)
            .db("read blocks to merge")?;
            for row in rows {
                if starts.contains(&row.start_ms) {
                    blocks
                        .entry((node.to_string(), row.start_ms))
                        .or_default()
                        .push(toast_join(row.payload, row.tail));
                }
            }
        }
        let mut ids: Vec<i64> = nodes.keys().copied().collect();
        ids.sort_unstable();
        let mut legacy = HashMap::new();
        if self.lock().legacy_raw {
            let window = self.options.window_ms;
            for row in self.chunks_between(0, window, first, last, &ids).await? {
                if plan.contains_key(&(row.series_id, row.start_ms)) {
                    legacy.insert(
                        (row.series_id, row.start_ms),
                        toast_join(row.payload, row.tail),
                    );
                }
            }
        }
        let mut tiers = HashMap::new();
        for tier in &self.options.tiers {
            let span = self.options.widest_tier_span(tier);
            let rows = self
                .chunks_between(tier.bucket_ms, span, first, last, &ids)
                .await?;
            for row in rows {
                if nodes.contains_key(&row.series_id) {
                    let payload = toast_join(row.payload, row.tail);
                    let key = (row.series_id, tier.bucket_ms, row.start_ms);
                    tiers.insert(key, (row.end_ms, payload));
                }
            }
        }
        let replaced_bytes: usize = blocks.values().flatten().map(Vec::len).sum::<usize>()
            + legacy.values().map(Vec::len).sum::<usize>()
            + tiers.values().map(|t| t.1.len()).sum::<usize>();
        let input = MergeInput {
            plan,
            nodes,
            blocks,
            legacy,
            tiers,
            options: self.options.clone(),
            now,
        };
        let mut out = match tokio::task::spawn_blocking(move || merge(&input)).await {
            Ok(result) => result?,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {
                return Err(Error::Shutdown {
                    action: "timeseries compaction",
                });
            }
        };
        out.replaced_bytes = replaced_bytes as u64;
        Ok(out)
    }
}

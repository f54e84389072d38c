//! Compaction: closed windows move from the head into compressed raw chunks
//! and rollup tier chunks in one transaction; then retention runs.

use std::collections::{BTreeMap, HashMap};

use super::TimeseriesStore;
use super::head;
use super::merge::{MergeInput, MergeOutput, merge};
use super::rollup::align;
use crate::db::{now_ms, on_pool};
use crate::error::{DbContext, Error, Result};

/// What one compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Samples moved from the head into chunks.
    pub samples: usize,
    /// Raw chunks written (new or merged with late samples).
    pub raw_chunks: usize,
    /// Rollup chunks written.
    pub tier_chunks: usize,
    /// Samples dropped because their window was already past raw retention.
    pub dropped_expired: usize,
    /// Chunk rows deleted by retention.
    pub chunks_expired: u64,
}

#[derive(sqlx::FromRow)]
struct ChunkRow {
    series_id: i64,
    start_ms: i64,
    payload: Vec<u8>,
}

const UPSERT_CHUNK: &str = "INSERT INTO ts_chunks (series_id, tier, start_ms, end_ms, points, payload) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (series_id, tier, start_ms) DO UPDATE SET \
     end_ms = excluded.end_ms, points = excluded.points, payload = excluded.payload";
const SELECT_CHUNKS: &str = "SELECT series_id, start_ms, payload FROM ts_chunks \
     WHERE tier = $1 AND start_ms >= $2 AND start_ms <= $3";
const DELETE_CHUNK: &str =
    "DELETE FROM ts_chunks WHERE series_id = $1 AND tier = $2 AND start_ms = $3";
const INSERT_HEAD: &str =
    "INSERT INTO ts_head (min_ts, max_ts, samples, payload) VALUES ($1, $2, $3, $4) RETURNING id";

impl TimeseriesStore {
    /// Compacts every window closed at the current time and applies retention.
    pub async fn compact(&self) -> Result<CompactionReport> {
        self.compact_at(now_ms()).await
    }

    /// Compacts every window closed at `now` (Unix ms) and applies retention
    /// as of `now`.
    pub async fn compact_at(&self, now: i64) -> Result<CompactionReport> {
        let _writer = self.writer.lock().await;
        self.compact_locked(now, self.horizon(now)).await
    }

    /// Existing chunks of one tier with a start in `[from, to]`, by (series, start).
    async fn chunks_between(&self, tier_ms: i64, from: i64, to: i64) -> Result<Vec<ChunkRow>> {
        on_pool!(self.db, pool => sqlx::query_as::<_, ChunkRow>(SELECT_CHUNKS)
            .bind(tier_ms)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)
        .db("read chunks to merge")
    }

    /// Compacts the windows that start before `horizon` (at most the
    /// horizon of `now`); the caller holds the writer lock, so nothing else
    /// changes the head or the chunks meanwhile.
    pub(super) async fn compact_locked(&self, now: i64, horizon: i64) -> Result<CompactionReport> {
        let window = self.options.window_ms;
        let horizon = horizon.min(self.horizon(now));
        let (closed, open, max_row_id) = {
            let mut state = self.lock();
            let closed = state.head.closed(horizon);
            let open = if closed.is_empty() {
                Vec::new()
            } else {
                state.head.open_samples(horizon)
            };
            (closed, open, state.head.max_row_id)
        };
        let mut plan: BTreeMap<(i64, i64), Vec<(i64, f64)>> = BTreeMap::new();
        for (series, samples) in closed {
            for s in samples {
                plan.entry((series, align(s.0, window)))
                    .or_default()
                    .push(s);
            }
        }
        let merged = match (
            plan.keys().map(|k| k.1).min(),
            plan.keys().map(|k| k.1).max(),
        ) {
            (Some(first), Some(last)) => Some(self.merge_windows(plan, first, last, now).await?),
            _ => None,
        };

        let mut report = CompactionReport::default();
        let mut expiries = vec![(0i64, now.saturating_sub(self.options.raw_retention_ms))];
        expiries.extend(
            self.options
                .tiers
                .iter()
                .map(|t| (t.bucket_ms, now.saturating_sub(t.retention_ms))),
        );
        let new_row_id = on_pool!(self.db, pool => {
            let mut tx = pool.begin().await.db("begin compaction")?;
            let mut new_row_id = None;
            if let Some(out) = &merged {
                for w in &out.writes {
                    sqlx::query(UPSERT_CHUNK)
                        .bind(w.series)
                        .bind(w.tier_ms)
                        .bind(w.start_ms)
                        .bind(w.end_ms)
                        .bind(w.points)
                        .bind(&w.payload)
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
                sqlx::query("DELETE FROM ts_head WHERE id <= $1")
                    .bind(max_row_id)
                    .execute(&mut *tx)
                    .await
                    .db("remove compacted head rows")?;
                if !open.is_empty() {
                    let (id,): (i64,) = sqlx::query_as(INSERT_HEAD)
                        .bind(open.iter().map(|s| s.ts).min().unwrap_or(0))
                        .bind(open.iter().map(|s| s.ts).max().unwrap_or(0))
                        .bind(open.len() as i64)
                        .bind(head::encode_batch(&open))
                        .fetch_one(&mut *tx)
                        .await
                        .db("rewrite open head samples")?;
                    new_row_id = Some(id);
                }
            }
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
            // Queries see either the head before or the chunks after, never both.
            let _view = self.view.write().await;
            tx.commit().await.db("commit compaction")?;
            let mut state = self.lock();
            state.compacted_horizon = self.horizon(now);
            if merged.is_some() {
                state.head.drop_before(horizon, window);
                if let Some(id) = new_row_id {
                    state.head.max_row_id = id;
                }
            }
            new_row_id
        });
        if let Some(out) = merged {
            report.samples = out.samples;
            report.raw_chunks = out.raw_chunks;
            report.tier_chunks = out.tier_chunks;
            report.dropped_expired = out.dropped;
        }
        tracing::debug!(
            samples = report.samples,
            raw_chunks = report.raw_chunks,
            tier_chunks = report.tier_chunks,
            dropped = report.dropped_expired,
            expired = report.chunks_expired,
            head_row = new_row_id,
            "compacted timeseries head"
        );
        Ok(report)
    }

    /// Loads the chunks the plan touches and merges on blocking threads.
    async fn merge_windows(
        &self,
        plan: BTreeMap<(i64, i64), Vec<(i64, f64)>>,
        first: i64,
        last: i64,
        now: i64,
    ) -> Result<MergeOutput> {
        let mut raw = HashMap::new();
        for row in self.chunks_between(0, first, last).await? {
            if plan.contains_key(&(row.series_id, row.start_ms)) {
                raw.insert((row.series_id, row.start_ms), row.payload);
            }
        }
        let mut tiers = HashMap::new();
        for tier in &self.options.tiers {
            let span = self.options.tier_span(tier);
            let rows = self
                .chunks_between(tier.bucket_ms, align(first, span), align(last, span))
                .await?;
            for row in rows {
                tiers.insert((row.series_id, tier.bucket_ms, row.start_ms), row.payload);
            }
        }
        let input = MergeInput {
            plan,
            raw,
            tiers,
            options: self.options.clone(),
            now,
        };
        match tokio::task::spawn_blocking(move || merge(&input)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::Shutdown {
                action: "timeseries compaction",
            }),
        }
    }
}

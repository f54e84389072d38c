//! Range queries: raw samples, or one aggregate per step read from the
//! coarsest rollup tier whose buckets fit in the step.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::blockcache::Samples;
use super::codec;
use super::codec::block::Block;
use super::head::normalize;
use super::idmap::IdMap;
use super::rollup::{Bucket, align, bucketize};
use super::series::{SeriesInfo, SeriesSelector};
use super::{Tier, TimeseriesStore};
use crate::db::{on_pool, toast_join};
use crate::error::{DbContext, Error, Result};

/// How the samples of one step are combined. NaN samples are skipped; a step
/// with no other sample has no point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Mean.
    #[default]
    Avg,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Sum.
    Sum,
    /// Number of samples.
    Count,
}

impl Aggregation {
    fn of(self, b: &Bucket) -> f64 {
        match self {
            Aggregation::Avg => b.avg(),
            Aggregation::Min => b.min,
            Aggregation::Max => b.max,
            Aggregation::Sum => b.sum,
            Aggregation::Count => b.count as f64,
        }
    }
}

/// A query over `[start_ms, end_ms)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeQuery {
    /// Which series.
    pub selector: SeriesSelector,
    /// Start, Unix ms, inclusive.
    pub start_ms: i64,
    /// End, Unix ms, exclusive.
    pub end_ms: i64,
    /// Width of one output point in ms; 0 returns the raw samples.
    pub step_ms: i64,
    /// How samples within a step are combined (ignored for raw queries).
    pub aggregation: Aggregation,
}

impl RangeQuery {
    /// Every raw sample in the range.
    pub fn raw(selector: SeriesSelector, start_ms: i64, end_ms: i64) -> Self {
        RangeQuery {
            selector,
            start_ms,
            end_ms,
            step_ms: 0,
            aggregation: Aggregation::Avg,
        }
    }

    /// One point per `step_ms`, aligned to multiples of `step_ms` since the epoch.
    pub fn stepped(
        selector: SeriesSelector,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        aggregation: Aggregation,
    ) -> Self {
        RangeQuery {
            selector,
            start_ms,
            end_ms,
            step_ms,
            aggregation,
        }
    }
}

/// One value at one time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Point {
    /// Unix ms (for stepped queries, the start of the step).
    pub timestamp_ms: i64,
    /// The value.
    pub value: f64,
}

/// The answer for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoints {
    /// The series.
    pub series: SeriesInfo,
    /// Bucket width the points were computed from: 0 for raw samples, a
    /// tier's bucket width, or the step when no tier fits.
    pub resolution_ms: i64,
    /// Points by time.
    pub points: Vec<Point>,
}

/// The newest value of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestValue {
    /// The series.
    pub series: SeriesInfo,
    /// Its newest sample.
    pub point: Point,
}

#[derive(sqlx::FromRow)]
struct ChunkRow {
    start_ms: i64,
    payload: Vec<u8>,
    tail: Vec<u8>,
}

impl ChunkRow {
    /// The row with its whole payload in `payload`.
    fn joined(self) -> Self {
        ChunkRow {
            start_ms: self.start_ms,
            payload: toast_join(self.payload, self.tail),
            tail: Vec::new(),
        }
    }
}

const SELECT_RANGE: &str = "SELECT start_ms, payload, tail FROM ts_chunks \
     WHERE series_id = $1 AND tier = $2 AND start_ms < $3 AND start_ms > $4 AND end_ms > $5 \
     ORDER BY start_ms";
const SELECT_BLOCKS: &str = "SELECT start_ms, payload, tail FROM ts_blocks \
     WHERE node = $1 AND start_ms < $2 AND start_ms > $3 \
     AND first_series <= $4 AND last_series >= $4 ORDER BY start_ms";

impl TimeseriesStore {
    /// Runs a query; one entry per selected series, by series id.
    pub async fn query(&self, q: &RangeQuery) -> Result<Vec<SeriesPoints>> {
        if q.step_ms < 0 {
            return Err(Error::invalid(
                "step_ms",
                "it must be 0 (raw samples) or a positive width in ms",
            ));
        }
        let selected = self.lock().registry.select(&q.selector);
        let tier = self.tier_for(q.step_ms);
        let _view = self.view.read().await;
        let spilled = self.lock().head.is_spilled();
        let mut disk_head = IdMap::default();
        if spilled && q.end_ms > q.start_ms {
            let mut by_node: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
            for series in &selected {
                by_node.entry(&series.node).or_default().push(series.id);
            }
            for (node, ids) in by_node {
                disk_head.extend(self.spilled_range(node, &ids, q.start_ms, q.end_ms).await?);
            }
        }
        let mut out = Vec::with_capacity(selected.len());
        for series in &selected {
            let head = if spilled {
                disk_head.remove(&series.id).unwrap_or_default()
            } else {
                self.lock().head.range(series.id, q.start_ms, q.end_ms)
            };
            let (resolution_ms, points) = if q.end_ms <= q.start_ms {
                (0, Vec::new())
            } else if q.step_ms == 0 {
                let raw = self.raw_samples(series, q.start_ms, q.end_ms, head).await?;
                let points = raw
                    .into_iter()
                    .map(|(timestamp_ms, value)| Point {
                        timestamp_ms,
                        value,
                    })
                    .collect();
                (0, points)
            } else if let Some(tier) = tier {
                let mut buckets = self.tier_buckets(series.id, &tier, q).await?;
                let (ts, vs): (Vec<i64>, Vec<f64>) = head.into_iter().unzip();
                buckets.extend(bucketize(&ts, &vs, tier.bucket_ms));
                (tier.bucket_ms, fold(buckets, q))
            } else {
                let raw = self.raw_samples(series, q.start_ms, q.end_ms, head).await?;
                let (ts, vs): (Vec<i64>, Vec<f64>) = raw.into_iter().unzip();
                (q.step_ms, fold(bucketize(&ts, &vs, q.step_ms), q))
            };
            out.push(SeriesPoints {
                series: (**series).clone(),
                resolution_ms,
                points,
            });
        }
        Ok(out)
    }

    /// The coarsest tier whose buckets fit in the step.
    fn tier_for(&self, step_ms: i64) -> Option<Tier> {
        if step_ms <= 0 {
            return None;
        }
        self.options
            .tiers
            .iter()
            .filter(|t| t.bucket_ms <= step_ms)
            .max_by_key(|t| t.bucket_ms)
            .copied()
    }

    /// Raw samples of a series in `[from, to)` from blocks (and raw chunks
    /// of an earlier version) and the head; the head wins on equal
    /// timestamps (it holds the later writes).
    async fn raw_samples(
        &self,
        series: &SeriesInfo,
        from: i64,
        to: i64,
        head: Vec<(i64, f64)>,
    ) -> Result<Vec<(i64, f64)>> {
        let window = self.options.window_ms;
        let mut out = Vec::new();
        if self.lock().legacy_raw {
            for row in self.chunk_rows(series.id, 0, window, from, to).await? {
                let raw =
                    codec::decode_raw(&row.payload).map_err(|reason| Error::CorruptChunk {
                        series: series.id,
                        tier_ms: 0,
                        start_ms: row.start_ms,
                        reason,
                    })?;
                out.extend(raw.ts.into_iter().zip(raw.values));
            }
        }
        if out.is_empty() {
            // Sorted windows, each before the next: no merge needed.
            for samples in self.cached_blocks(series, from, to).await? {
                let lo = samples.partition_point(|s| s.0 < from);
                let hi = samples.partition_point(|s| s.0 < to);
                out.extend_from_slice(&samples[lo..hi]);
            }
        } else {
            out.extend(self.block_samples(series, from, to).await?);
            // Blocks hold the later writes of a window that has both.
            normalize(&mut out);
            out.retain(|s| s.0 >= from && s.0 < to);
        }
        if !head.is_empty() {
            let sorted_apart = match (out.last(), head.first()) {
                (Some(last), Some(first)) => last.0 < first.0,
                _ => true,
            };
            out.extend(head);
            if !sorted_apart {
                normalize(&mut out);
            }
        }
        Ok(out)
    }

    /// Raw samples of a series from the blocks of the windows that overlap
    /// `[from, to)`, one sorted list per window, through the block cache.
    async fn cached_blocks(&self, series: &SeriesInfo, from: i64, to: i64) -> Result<Vec<Samples>> {
        let window = self.options.window_ms;
        let first = from.div_euclid(window).checked_mul(window);
        let short = i128::from(to) - i128::from(from) <= 64 * i128::from(window);
        let Some(first) = first.filter(|_| short) else {
            // A long range: reading it is not worth caching.
            return Ok(vec![Arc::new(self.block_samples(series, from, to).await?)]);
        };
        let starts: Vec<i64> =
            std::iter::successors(Some(first), |s| s.checked_add(window).filter(|n| *n < to))
                .collect();
        if let Some(hit) = self.lock().block_cache.get_all(series.id, &starts) {
            return Ok(hit);
        }
        let mut per_window: BTreeMap<i64, Vec<(i64, f64)>> =
            starts.iter().map(|&s| (s, Vec::new())).collect();
        for (ts, value) in self.block_samples(series, from, to).await? {
            per_window
                .entry(align(ts, window))
                .or_default()
                .push((ts, value));
        }
        let windows: Vec<(i64, Samples)> = per_window
            .into_iter()
            .map(|(start, samples)| (start, Arc::new(samples)))
            .collect();
        let mut state = self.lock();
        for (start, samples) in &windows {
            state
                .block_cache
                .insert(series.id, *start, Arc::clone(samples));
        }
        Ok(windows.into_iter().map(|(_, samples)| samples).collect())
    }

    /// Raw samples of a series from the blocks of the windows that overlap
    /// `[from, to)` (whole windows, not cut to the range).
    async fn block_samples(
        &self,
        series: &SeriesInfo,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, f64)>> {
        let window = self.options.window_ms;
        let rows = on_pool!(self.db, pool => sqlx::query_as::<_, ChunkRow>(SELECT_BLOCKS)
            .bind(&series.node)
            .bind(to)
            .bind(from.saturating_sub(window))
            .bind(series.id)
            .fetch_all(pool)
            .await)
        .db("read blocks")?;
        let mut out = Vec::new();
        for row in rows.into_iter().map(ChunkRow::joined) {
            let corrupt = |reason| Error::CorruptBlock {
                node: series.node.clone(),
                start_ms: row.start_ms,
                reason,
            };
            let block = Block::parse(&row.payload).map_err(corrupt)?;
            if let Some(raw) = block.read(series.id) {
                let raw = raw.map_err(corrupt)?;
                out.extend(raw.ts.into_iter().zip(raw.values));
            }
        }
        Ok(out)
    }

    /// Rollup buckets of a tier whose start lies in the query range.
    async fn tier_buckets(&self, series: i64, tier: &Tier, q: &RangeQuery) -> Result<Vec<Bucket>> {
        let span = self.options.widest_tier_span(tier);
        let rows = self
            .chunk_rows(series, tier.bucket_ms, span, q.start_ms, q.end_ms)
            .await?;
        let mut out = Vec::new();
        for row in rows {
            let buckets =
                codec::decode_rollup(&row.payload).map_err(|reason| Error::CorruptChunk {
                    series,
                    tier_ms: tier.bucket_ms,
                    start_ms: row.start_ms,
                    reason,
                })?;
            out.extend(
                buckets
                    .into_iter()
                    .filter(|b| b.start_ms >= q.start_ms && b.start_ms < q.end_ms),
            );
        }
        Ok(out)
    }

    /// Chunks of a tier that overlap `[from, to)`, none of them wider than `span`.
    async fn chunk_rows(
        &self,
        series: i64,
        tier_ms: i64,
        span: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<ChunkRow>> {
        let rows = on_pool!(self.db, pool => sqlx::query_as::<_, ChunkRow>(SELECT_RANGE)
            .bind(series)
            .bind(tier_ms)
            .bind(to)
            .bind(from.saturating_sub(span))
            .bind(from)
            .fetch_all(pool)
            .await)
        .db("read chunks")?;
        Ok(rows.into_iter().map(ChunkRow::joined).collect())
    }
}

/// Folds buckets into one point per step.
fn fold(buckets: Vec<Bucket>, q: &RangeQuery) -> Vec<Point> {
    let mut steps: BTreeMap<i64, Bucket> = BTreeMap::new();
    for b in buckets {
        let key = align(b.start_ms, q.step_ms);
        steps
            .entry(key)
            .and_modify(|acc| acc.merge(&b))
            .or_insert(Bucket { start_ms: key, ..b });
    }
    steps
        .into_values()
        .map(|b| Point {
            timestamp_ms: b.start_ms,
            value: q.aggregation.of(&b),
        })
        .collect()
}

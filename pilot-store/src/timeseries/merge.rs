//! The CPU side of compaction: closed head samples are merged into raw chunks
//! and the windows' rollup buckets recomputed, with the series spread over
//! threads. No database access happens here.

use std::collections::{BTreeMap, HashMap};

use super::codec::{self, RawColumns};
use super::head::normalize;
use super::options::TimeseriesOptions;
use super::rollup::{Bucket, align, bucketize, splice};
use crate::error::{Error, Result};

/// Key of a tier chunk: (series, bucket width, span start).
pub(super) type TierKey = (i64, i64, i64);

/// A chunk row to write.
pub(super) struct ChunkWrite {
    pub series: i64,
    pub tier_ms: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub points: i64,
    pub payload: Vec<u8>,
}

/// What compaction merges.
pub(super) struct MergeInput {
    /// Closed head samples per (series, window start), sorted and resolved.
    pub plan: BTreeMap<(i64, i64), Vec<(i64, f64)>>,
    /// Existing raw chunks of those windows.
    pub raw: HashMap<(i64, i64), Vec<u8>>,
    /// Existing tier chunks covering those windows.
    pub tiers: HashMap<TierKey, Vec<u8>>,
    /// The store's options.
    pub options: TimeseriesOptions,
    /// The compaction's clock, Unix ms.
    pub now: i64,
}

/// What compaction writes.
#[derive(Default)]
pub(super) struct MergeOutput {
    /// Chunks to upsert.
    pub writes: Vec<ChunkWrite>,
    /// Tier chunks left without buckets (only NaN samples): rows to delete.
    pub empty: Vec<TierKey>,
    /// Samples merged into chunks.
    pub samples: usize,
    /// Raw chunks written.
    pub raw_chunks: usize,
    /// Tier chunks written.
    pub tier_chunks: usize,
    /// Samples dropped because their window is past raw retention.
    pub dropped: usize,
}

impl MergeOutput {
    fn absorb(&mut self, other: MergeOutput) {
        self.writes.extend(other.writes);
        self.empty.extend(other.empty);
        self.samples += other.samples;
        self.raw_chunks += other.raw_chunks;
        self.tier_chunks += other.tier_chunks;
        self.dropped += other.dropped;
    }
}

fn corrupt(series: i64, tier_ms: i64, start_ms: i64) -> impl FnOnce(String) -> Error {
    move |reason| Error::CorruptChunk {
        series,
        tier_ms,
        start_ms,
        reason,
    }
}

fn encode_failed(reason: String) -> Error {
    Error::Options {
        field: "codec",
        reason,
    }
}

/// Merges everything, on up to as many threads as there are cores.
pub(super) fn merge(input: &MergeInput) -> Result<MergeOutput> {
    let mut by_series: BTreeMap<i64, usize> = BTreeMap::new();
    for ((series, _), samples) in &input.plan {
        *by_series.entry(*series).or_default() += samples.len();
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(by_series.len().max(1));
    // Greedy split by sample count.
    let mut shares: Vec<(usize, Vec<i64>)> = vec![(0, Vec::new()); threads];
    let mut order: Vec<(i64, usize)> = by_series.into_iter().collect();
    order.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    for (series, n) in order {
        if let Some(share) = shares.iter_mut().min_by_key(|s| s.0) {
            share.0 += n;
            share.1.push(series);
        }
    }
    let results: Vec<Result<MergeOutput>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .iter()
            .map(|(_, series)| scope.spawn(move || merge_series(input, series)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut out = MergeOutput::default();
    for r in results {
        out.absorb(r?);
    }
    Ok(out)
}

/// Merges the windows of some series.
fn merge_series(input: &MergeInput, series_ids: &[i64]) -> Result<MergeOutput> {
    let o = &input.options;
    let raw_cutoff = input.now.saturating_sub(o.raw_retention_ms);
    let mut out = MergeOutput::default();
    for &series in series_ids {
        let mut tiers: HashMap<TierKey, Vec<Bucket>> = HashMap::new();
        for ((_, start), samples) in input.plan.range((series, i64::MIN)..=(series, i64::MAX)) {
            let start = *start;
            if start.saturating_add(o.window_ms) <= raw_cutoff {
                out.dropped += samples.len();
                continue;
            }
            out.samples += samples.len();
            let mut merged: Vec<(i64, f64)> = match input.raw.get(&(series, start)) {
                Some(payload) => {
                    let old = codec::decode_raw(payload).map_err(corrupt(series, 0, start))?;
                    old.ts.into_iter().zip(old.values).collect()
                }
                None => Vec::new(),
            };
            let fresh_only = merged.is_empty();
            merged.extend_from_slice(samples);
            if !fresh_only {
                normalize(&mut merged);
            }
            let raw = RawColumns {
                ts: merged.iter().map(|s| s.0).collect(),
                values: merged.iter().map(|s| s.1).collect(),
            };
            out.writes.push(ChunkWrite {
                series,
                tier_ms: 0,
                start_ms: start,
                end_ms: start + o.window_ms,
                points: raw.ts.len() as i64,
                payload: codec::encode_raw(o.codec, &raw.ts, &raw.values).map_err(encode_failed)?,
            });
            out.raw_chunks += 1;
            for tier in &o.tiers {
                let span = o.tier_span(tier);
                let span_start = align(start, span);
                if span_start.saturating_add(span) <= input.now.saturating_sub(tier.retention_ms) {
                    continue;
                }
                let key = (series, tier.bucket_ms, span_start);
                let old = match tiers.remove(&key) {
                    Some(buckets) => buckets,
                    None => match input.tiers.get(&key) {
                        Some(payload) => codec::decode_rollup(payload).map_err(corrupt(
                            series,
                            tier.bucket_ms,
                            span_start,
                        ))?,
                        None => Vec::new(),
                    },
                };
                let fresh = bucketize(&raw.ts, &raw.values, tier.bucket_ms);
                tiers.insert(key, splice(old, start, start + o.window_ms, &fresh));
            }
        }
        for (key, buckets) in tiers {
            let (series, bucket_ms, span_start) = key;
            if buckets.is_empty() {
                out.empty.push(key);
                continue;
            }
            let span = o
                .tiers
                .iter()
                .find(|t| t.bucket_ms == bucket_ms)
                .map_or(o.window_ms, |t| o.tier_span(t));
            out.writes.push(ChunkWrite {
                series,
                tier_ms: bucket_ms,
                start_ms: span_start,
                end_ms: span_start + span,
                points: buckets.len() as i64,
                payload: codec::encode_rollup(o.codec, &buckets).map_err(encode_failed)?,
            });
            out.tier_chunks += 1;
        }
    }
    Ok(out)
}

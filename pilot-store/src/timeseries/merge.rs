//! The CPU side of compaction, on up to one thread per core and without
//! database access:
//! 1. per node and window: merge the closed head samples into what is stored
//!    already (a block, or a raw chunk of an earlier version) and encode the
//!    window's blocks;
//! 2. per series: splice the windows' fresh rollup buckets into the tier
//!    chunks and encode those.

use std::collections::{BTreeMap, HashMap};

use super::codec::block::{self, Block, SeriesSamples};
use super::codec::{self, RawColumns};
use super::head::normalize;
use super::options::TimeseriesOptions;
use super::rollup::{Bucket, align, bucketize, splice};
use crate::error::{Error, Result};

/// Key of a tier chunk: (series, bucket width, span start).
pub(super) type TierKey = (i64, i64, i64);

/// Most series in one block row; a node with more gets several rows per window.
pub(super) const MAX_BLOCK_SERIES: usize = 64;

/// A tier chunk row to write.
pub(super) struct ChunkWrite {
    pub series: i64,
    pub tier_ms: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub points: i64,
    pub payload: Vec<u8>,
}

/// A block row to write.
pub(super) struct BlockWrite {
    pub node: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub first_series: i64,
    pub last_series: i64,
    pub samples: i64,
    pub payload: Vec<u8>,
}

/// What compaction merges.
pub(super) struct MergeInput {
    /// Closed head samples per (series, window start), sorted and resolved.
    pub plan: BTreeMap<(i64, i64), Vec<(i64, f64)>>,
    /// The node of every planned series.
    pub nodes: HashMap<i64, String>,
    /// Existing block payloads of the planned (node, window)s.
    pub blocks: HashMap<(String, i64), Vec<Vec<u8>>>,
    /// Existing raw chunks of an earlier version for planned (series, window)s.
    pub legacy: HashMap<(i64, i64), Vec<u8>>,
    /// Existing tier chunks covering the planned windows: end and payload.
    pub tiers: HashMap<TierKey, (i64, Vec<u8>)>,
    /// The store's options.
    pub options: TimeseriesOptions,
    /// The compaction's clock, Unix ms.
    pub now: i64,
}

/// What compaction writes.
#[derive(Default)]
pub(super) struct MergeOutput {
    /// Blocks to insert.
    pub blocks: Vec<BlockWrite>,
    /// (node, window)s whose existing block rows the new ones replace.
    pub replaced: Vec<(String, i64)>,
    /// Raw chunks of an earlier version now held by blocks: (series, window).
    pub legacy_merged: Vec<(i64, i64)>,
    /// Tier chunks to upsert.
    pub tier_writes: Vec<ChunkWrite>,
    /// Tier chunks left without buckets (only NaN samples): rows to delete.
    pub empty: Vec<TierKey>,
    /// Samples merged into blocks.
    pub samples: usize,
    /// Tier chunks written.
    pub tier_chunks: usize,
    /// Samples dropped because their window is past raw retention.
    pub dropped: usize,
    /// Bytes of the stored rows this output replaces.
    pub replaced_bytes: u64,
}

/// Fresh buckets of one series in one window, one list per tier.
type Fresh = BTreeMap<(i64, i64), Vec<Vec<Bucket>>>;

/// The result of step 1 for some (node, window)s.
#[derive(Default)]
struct WindowsDone {
    out: MergeOutput,
    fresh: Fresh,
}

fn corrupt(series: i64, tier_ms: i64, start_ms: i64) -> impl FnOnce(String) -> Error {
    move |reason| Error::CorruptChunk {
        series,
        tier_ms,
        start_ms,
        reason,
    }
}

fn corrupt_block(node: &str, start_ms: i64) -> impl FnOnce(String) -> Error + '_ {
    move |reason| Error::CorruptBlock {
        node: node.to_string(),
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

/// Splits work items with weights into at most one share per core,
/// heaviest first onto the lightest share.
fn shares<T>(items: Vec<(T, usize)>) -> Vec<Vec<T>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(items.len().max(1));
    let mut order = items;
    order.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let mut out: Vec<(usize, Vec<T>)> = (0..threads).map(|_| (0, Vec::new())).collect();
    for (item, n) in order {
        if let Some(share) = out.iter_mut().min_by_key(|s| s.0) {
            share.0 += n;
            share.1.push(item);
        }
    }
    out.into_iter().map(|s| s.1).collect()
}

/// Runs `work` on every share in its own thread.
fn in_threads<T: Send, R: Send>(
    shares: Vec<Vec<T>>,
    work: impl Fn(Vec<T>) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| scope.spawn(move || work(share)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Merges everything.
pub(super) fn merge(input: &MergeInput) -> Result<MergeOutput> {
    // Step 1, per (node, window).
    let mut units: BTreeMap<(&str, i64), (Vec<i64>, usize)> = BTreeMap::new();
    for ((series, start), samples) in &input.plan {
        let node = input.nodes.get(series).map_or("", String::as_str);
        let unit = units.entry((node, *start)).or_default();
        unit.0.push(*series);
        unit.1 += samples.len();
    }
    let items = units
        .into_iter()
        .map(|((node, start), (series, n))| ((node, start, series), n))
        .collect();
    let done = in_threads(shares(items), |share| {
        let mut done = WindowsDone::default();
        for (node, start, series) in share {
            merge_window(input, node, start, &series, &mut done)?;
        }
        Ok(done)
    })?;
    let mut out = MergeOutput::default();
    let mut fresh = Fresh::new();
    for d in done {
        out.blocks.extend(d.out.blocks);
        out.replaced.extend(d.out.replaced);
        out.legacy_merged.extend(d.out.legacy_merged);
        out.samples += d.out.samples;
        out.dropped += d.out.dropped;
        fresh.extend(d.fresh);
    }

    // Step 2, per series.
    let mut by_series: BTreeMap<i64, usize> = BTreeMap::new();
    for ((series, _), buckets) in &fresh {
        *by_series.entry(*series).or_default() += buckets.iter().map(Vec::len).sum::<usize>();
    }
    let mut stored: HashMap<i64, Vec<(i64, i64, i64)>> = HashMap::new();
    for (&(series, bucket_ms, start), (end, _)) in &input.tiers {
        stored
            .entry(series)
            .or_default()
            .push((bucket_ms, start, *end));
    }
    let (fresh, stored) = (&fresh, &stored);
    let tiers = in_threads(shares(by_series.into_iter().collect()), |share| {
        let mut out = MergeOutput::default();
        for series in share {
            let stored = stored.get(&series).map_or(&[][..], Vec::as_slice);
            splice_tiers(input, series, stored, fresh, &mut out)?;
        }
        Ok(out)
    })?;
    for t in tiers {
        out.tier_writes.extend(t.tier_writes);
        out.empty.extend(t.empty);
        out.tier_chunks += t.tier_chunks;
    }
    Ok(out)
}

/// Step 1 for one node and window.
fn merge_window(
    input: &MergeInput,
    node: &str,
    start: i64,
    planned: &[i64],
    done: &mut WindowsDone,
) -> Result<()> {
    let o = &input.options;
    let planned_samples = || planned.iter().map(|s| input.plan[&(*s, start)].len());
    if start.saturating_add(o.window_ms) <= input.now.saturating_sub(o.raw_retention_ms) {
        done.out.dropped += planned_samples().sum::<usize>();
        return Ok(());
    }
    done.out.samples += planned_samples().sum::<usize>();
    // Everything stored for this window, by series.
    let mut stored: BTreeMap<i64, RawColumns> = BTreeMap::new();
    if let Some(payloads) = input.blocks.get(&(node.to_string(), start)) {
        for payload in payloads {
            let block = Block::parse(payload).map_err(corrupt_block(node, start))?;
            for s in block.read_all().map_err(corrupt_block(node, start))? {
                stored.insert(s.series, s.raw);
            }
        }
        done.out.replaced.push((node.to_string(), start));
    }
    for &series in planned {
        let fresh = &input.plan[&(series, start)];
        let mut merged: Vec<(i64, f64)> = Vec::new();
        if let Some(payload) = input.legacy.get(&(series, start)) {
            let old = codec::decode_raw(payload).map_err(corrupt(series, 0, start))?;
            merged.extend(old.ts.into_iter().zip(old.values));
            done.out.legacy_merged.push((series, start));
        }
        if let Some(old) = stored.remove(&series) {
            merged.extend(old.ts.into_iter().zip(old.values));
        }
        let raw = if merged.is_empty() {
            RawColumns {
                ts: fresh.iter().map(|s| s.0).collect(),
                values: fresh.iter().map(|s| s.1).collect(),
            }
        } else {
            merged.extend_from_slice(fresh);
            normalize(&mut merged);
            RawColumns {
                ts: merged.iter().map(|s| s.0).collect(),
                values: merged.iter().map(|s| s.1).collect(),
            }
        };
        let buckets = o
            .tiers
            .iter()
            .map(|tier| bucketize(&raw.ts, &raw.values, tier.bucket_ms))
            .collect();
        done.fresh.insert((series, start), buckets);
        stored.insert(series, raw);
    }
    let all: Vec<SeriesSamples> = stored
        .into_iter()
        .map(|(series, raw)| SeriesSamples { series, raw })
        .collect();
    for part in all.chunks(MAX_BLOCK_SERIES) {
        let (Some(first), Some(last)) = (part.first(), part.last()) else {
            continue;
        };
        done.out.blocks.push(BlockWrite {
            node: node.to_string(),
            start_ms: start,
            end_ms: start + o.window_ms,
            first_series: first.series,
            last_series: last.series,
            samples: part.iter().map(|s| s.raw.ts.len() as i64).sum(),
            payload: block::encode(o.codec, part).map_err(encode_failed)?,
        });
    }
    Ok(())
}

/// Step 2 for one series: its windows' buckets spliced into its tier
/// chunks. A window goes into the stored chunk that covers it (`stored`:
/// bucket width, start, end), which may be wider than the chunks written
/// now if an earlier version wrote it, or else into a new chunk.
fn splice_tiers(
    input: &MergeInput,
    series: i64,
    stored: &[(i64, i64, i64)],
    fresh: &Fresh,
    out: &mut MergeOutput,
) -> Result<()> {
    let o = &input.options;
    let mut chunks: HashMap<TierKey, (i64, Vec<Bucket>)> = HashMap::new();
    for ((_, start), per_tier) in fresh.range((series, i64::MIN)..=(series, i64::MAX)) {
        let start = *start;
        for (tier, buckets) in o.tiers.iter().zip(per_tier) {
            let covering = stored
                .iter()
                .find(|&&(b, s, e)| b == tier.bucket_ms && s <= start && start < e);
            let (span_start, span_end) = match covering {
                Some(&(_, s, e)) => (s, e),
                None => {
                    let span = o.tier_span(tier);
                    let s = align(start, span);
                    (s, s.saturating_add(span))
                }
            };
            if span_end <= input.now.saturating_sub(tier.retention_ms) {
                continue;
            }
            let key = (series, tier.bucket_ms, span_start);
            let old = match chunks.remove(&key) {
                Some((_, buckets)) => buckets,
                None => match input.tiers.get(&key) {
                    Some((_, payload)) => codec::decode_rollup(payload).map_err(corrupt(
                        series,
                        tier.bucket_ms,
                        span_start,
                    ))?,
                    None => Vec::new(),
                },
            };
            let spliced = splice(old, start, start + o.window_ms, buckets);
            chunks.insert(key, (span_end, spliced));
        }
    }
    for (key, (span_end, buckets)) in chunks {
        let (series, bucket_ms, span_start) = key;
        if buckets.is_empty() {
            out.empty.push(key);
            continue;
        }
        out.tier_writes.push(ChunkWrite {
            series,
            tier_ms: bucket_ms,
            start_ms: span_start,
            end_ms: span_end,
            points: buckets.len() as i64,
            payload: codec::encode_rollup(o.codec, &buckets).map_err(encode_failed)?,
        });
        out.tier_chunks += 1;
    }
    Ok(())
}

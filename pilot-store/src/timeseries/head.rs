//! The head: samples of windows not compacted yet. Every write stores its
//! samples as one `ts_head` row per window they fall in (durable before the
//! write returns), so that compaction removes whole rows; this module
//! encodes those rows and keeps their samples in memory for queries and
//! compaction.
//!
//! Order and duplicates: samples may arrive in any order. For one series and
//! one timestamp the sample written last wins (a later batch, or a later
//! position in the same batch).

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::codec::varint::{Cursor, put_u64, unzigzag, zigzag};
use super::idmap::IdMap;
use super::rollup::align;

/// Format version of head payloads.
const HEAD_V1: u8 = 1;

/// One sample of a known series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HeadSample {
    /// Series id.
    pub series: i64,
    /// Unix ms.
    pub ts: i64,
    /// Value.
    pub value: f64,
}

/// Encodes a batch: count, then per sample the series id, the zigzag delta
/// of the timestamp from the previous sample, and the value's 8 bytes.
pub(crate) fn encode_batch(samples: &[HeadSample]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + samples.len() * 12);
    out.push(HEAD_V1);
    put_u64(&mut out, samples.len() as u64);
    let mut prev = 0i64;
    for s in samples {
        put_u64(&mut out, zigzag(s.series));
        put_u64(&mut out, zigzag(s.ts.wrapping_sub(prev)));
        out.extend_from_slice(&s.value.to_bits().to_le_bytes());
        prev = s.ts;
    }
    out
}

/// Decodes a batch written by [`encode_batch`].
pub(crate) fn decode_batch(bytes: &[u8]) -> Result<Vec<HeadSample>, String> {
    let mut c = Cursor::new(bytes);
    let version = c.u8()?;
    if version != HEAD_V1 {
        return Err(format!("unknown head format version {version}"));
    }
    let n = c.len()?;
    if n > bytes.len() / 10 {
        return Err(format!(
            "count {n} exceeds what {} bytes can hold",
            bytes.len()
        ));
    }
    let mut out = Vec::with_capacity(n);
    let mut prev = 0i64;
    for _ in 0..n {
        let series = unzigzag(c.u64()?);
        let ts = prev.wrapping_add(unzigzag(c.u64()?));
        let value = f64::from_bits(c.u64_le()?);
        out.push(HeadSample { series, ts, value });
        prev = ts;
    }
    if !c.is_empty() {
        return Err("trailing bytes after the last sample".into());
    }
    Ok(out)
}

/// The samples grouped by window, each group in the order given (one
/// borrowed group when they all fall in one window, the usual case).
pub(crate) fn by_window(samples: &[HeadSample], window_ms: i64) -> Vec<Cow<'_, [HeadSample]>> {
    let min = samples.iter().map(|s| s.ts).min().unwrap_or(0);
    let max = samples.iter().map(|s| s.ts).max().unwrap_or(0);
    if align(min, window_ms) == align(max, window_ms) {
        return vec![Cow::Borrowed(samples)];
    }
    let mut groups: BTreeMap<i64, Vec<HeadSample>> = BTreeMap::new();
    for s in samples {
        groups.entry(align(s.ts, window_ms)).or_default().push(*s);
    }
    groups.into_values().map(Cow::Owned).collect()
}

/// Sorts by timestamp and keeps, for equal timestamps, the sample that came last.
pub(crate) fn normalize(samples: &mut Vec<(i64, f64)>) {
    samples.sort_by_key(|s| s.0); // stable: arrival order among equal timestamps
    let mut out: Vec<(i64, f64)> = Vec::with_capacity(samples.len());
    for &s in samples.iter() {
        match out.last_mut() {
            Some(last) if last.0 == s.0 => *last = s,
            _ => out.push(s),
        }
    }
    *samples = out;
}

#[derive(Debug, Default)]
struct SeriesHead {
    samples: Vec<(i64, f64)>,
    /// Whether `samples` is sorted without duplicate timestamps.
    clean: bool,
}

impl SeriesHead {
    fn normalized(&mut self) -> &[(i64, f64)] {
        if !self.clean {
            normalize(&mut self.samples);
            self.clean = true;
        }
        &self.samples
    }
}

/// The head's samples in memory, per series, or only their count per window
/// once the head was spilled (its samples are then read from `ts_head`).
#[derive(Debug, Default)]
pub(crate) struct Head {
    series: IdMap<SeriesHead>,
    /// Samples per window start (duplicates counted), to know cheaply how
    /// much a compaction would take.
    windows: BTreeMap<i64, usize>,
    /// Whether the samples live only in the database.
    spilled: bool,
}

impl Head {
    /// Adds a sample.
    #[cfg(test)]
    pub fn push(&mut self, s: HeadSample, window_ms: i64) {
        self.push_all(std::slice::from_ref(&s), window_ms);
    }

    /// Adds samples, in order (only counts them when spilled).
    pub fn push_all(&mut self, samples: &[HeadSample], window_ms: i64) {
        self.count(samples.iter().map(|s| s.ts), window_ms);
        if self.spilled {
            return;
        }
        for s in samples {
            let head = self.series.entry(s.series).or_insert_with(|| SeriesHead {
                samples: Vec::new(),
                clean: true,
            });
            if head.samples.last().is_some_and(|last| last.0 >= s.ts) {
                head.clean = false;
            }
            head.samples.push((s.ts, s.value));
        }
    }

    /// Counts samples per window; the samples of one write mostly fall in
    /// one window, so runs are counted.
    fn count(&mut self, timestamps: impl Iterator<Item = i64>, window_ms: i64) {
        let mut run = (i64::MIN, 0usize);
        for ts in timestamps {
            if run.1 == 0 || ts < run.0 || ts - run.0 >= window_ms {
                if run.1 > 0 {
                    *self.windows.entry(run.0).or_default() += run.1;
                }
                run = (align(ts, window_ms), 0);
            }
            run.1 += 1;
        }
        if run.1 > 0 {
            *self.windows.entry(run.0).or_default() += run.1;
        }
    }

    /// Counts `samples` samples of the window starting at `window`, kept in
    /// the database only (a spilled head).
    pub fn count_spilled(&mut self, window: i64, samples: usize) {
        *self.windows.entry(window).or_default() += samples;
    }

    /// Whether the samples live only in the database.
    pub fn is_spilled(&self) -> bool {
        self.spilled
    }

    /// Drops the samples from memory and keeps only their counts: from now
    /// on they are read from the database.
    pub fn spill(&mut self) {
        self.series = IdMap::default();
        self.spilled = true;
    }

    /// Forgets samples of a spilled head that compaction moved out:
    /// `removed` counts them per window start.
    pub fn forget(&mut self, removed: &BTreeMap<i64, usize>) {
        for (window, n) in removed {
            if let Some(count) = self.windows.get_mut(window) {
                *count = count.saturating_sub(*n);
                if *count == 0 {
                    self.windows.remove(window);
                }
            }
        }
    }

    /// Number of samples (before removing duplicates).
    pub fn len(&self) -> usize {
        self.windows.values().sum()
    }

    /// Number of samples in windows that start before `horizon`.
    pub fn closed_len(&self, horizon: i64) -> usize {
        self.windows.range(..horizon).map(|(_, n)| n).sum()
    }

    /// Start of the newest window with samples.
    pub fn newest_window(&self) -> Option<i64> {
        self.windows.keys().next_back().copied()
    }

    /// Samples of a series with `from <= ts < to`, sorted, duplicates resolved.
    pub fn range(&mut self, series: i64, from: i64, to: i64) -> Vec<(i64, f64)> {
        let Some(head) = self.series.get_mut(&series) else {
            return Vec::new();
        };
        let samples = head.normalized();
        let lo = samples.partition_point(|s| s.0 < from);
        let hi = samples.partition_point(|s| s.0 < to);
        samples[lo..hi].to_vec()
    }

    /// The newest sample of a series.
    pub fn last(&mut self, series: i64) -> Option<(i64, f64)> {
        self.series.get_mut(&series)?.normalized().last().copied()
    }

    /// Copies of the samples before `horizon`, per series, sorted and resolved.
    pub fn closed(&mut self, horizon: i64) -> BTreeMap<i64, Vec<(i64, f64)>> {
        let mut out = BTreeMap::new();
        for (&id, head) in &mut self.series {
            let samples = head.normalized();
            let hi = samples.partition_point(|s| s.0 < horizon);
            if hi > 0 {
                out.insert(id, samples[..hi].to_vec());
            }
        }
        out
    }

    /// Every sample, by series, sorted and resolved.
    pub fn all(&mut self) -> Vec<HeadSample> {
        let mut out = Vec::with_capacity(self.len());
        let mut ids: Vec<i64> = self.series.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(head) = self.series.get_mut(&id) {
                out.extend(head.normalized().iter().map(|&(ts, value)| HeadSample {
                    series: id,
                    ts,
                    value,
                }));
            }
        }
        out
    }

    /// Drops every sample before `horizon`.
    pub fn drop_before(&mut self, horizon: i64, window_ms: i64) {
        self.series.retain(|_, head| {
            let samples = head.normalized();
            let lo = samples.partition_point(|s| s.0 < horizon);
            head.samples.drain(..lo);
            !head.samples.is_empty()
        });
        self.windows.clear();
        for head in self.series.values() {
            for &(ts, _) in &head.samples {
                *self.windows.entry(align(ts, window_ms)).or_default() += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip() {
        let batch = vec![
            HeadSample {
                series: 3,
                ts: 1_700_000_000_000,
                value: 1.5,
            },
            HeadSample {
                series: 1,
                ts: 1_699_999_990_000,
                value: f64::NAN,
            },
            HeadSample {
                series: 3,
                ts: -5,
                value: f64::INFINITY,
            },
        ];
        let back = decode_batch(&encode_batch(&batch)).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0], batch[0]);
        assert!(back[1].value.is_nan());
        assert_eq!(back[2], batch[2]);
        assert!(decode_batch(&[HEAD_V1, 200]).is_err());
        assert!(decode_batch(&[]).is_err());
    }

    #[test]
    fn last_write_wins_and_ranges_are_sorted() {
        let mut head = Head::default();
        for (ts, v) in [(30, 3.0), (10, 1.0), (20, 2.0), (10, 9.0)] {
            head.push(
                HeadSample {
                    series: 1,
                    ts,
                    value: v,
                },
                100,
            );
        }
        assert_eq!(head.len(), 4);
        assert_eq!(head.range(1, 0, 100), [(10, 9.0), (20, 2.0), (30, 3.0)]);
        assert_eq!(head.range(1, 15, 30), [(20, 2.0)]);
        assert_eq!(head.last(1), Some((30, 3.0)));
    }

    #[test]
    fn closed_windows_are_split_off() {
        let mut head = Head::default();
        for ts in [5, 105, 150, 250] {
            head.push(
                HeadSample {
                    series: 7,
                    ts,
                    value: ts as f64,
                },
                100,
            );
        }
        assert_eq!(head.closed_len(200), 3);
        let closed = head.closed(200);
        assert_eq!(closed[&7].len(), 3);
        head.drop_before(200, 100);
        assert_eq!(head.len(), 1);
        assert_eq!(head.closed_len(1000), 1);
    }

    #[test]
    fn batches_split_by_window_in_order() {
        let s = |ts| HeadSample {
            series: 1,
            ts,
            value: ts as f64,
        };
        let one = [s(5), s(50), s(7)];
        assert!(matches!(by_window(&one, 100)[..], [Cow::Borrowed(_)]));
        let many = [s(150), s(5), s(120), s(-3), s(7)];
        let groups: Vec<Vec<i64>> = by_window(&many, 100)
            .iter()
            .map(|g| g.iter().map(|s| s.ts).collect())
            .collect();
        assert_eq!(groups, [vec![-3], vec![5, 7], vec![150, 120]]);
    }
}

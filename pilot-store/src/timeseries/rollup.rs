//! Rollup buckets: min, max, sum and count of the samples in a fixed interval.
//!
//! NaN samples are kept in raw chunks but skipped by every aggregate; a
//! bucket whose samples are all NaN does not exist. Infinities take part with
//! IEEE semantics (so a bucket holding both +inf and -inf sums to NaN). Sums
//! add the samples in timestamp order.

/// Aggregates of the samples in `[start_ms, start_ms + width)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Start of the interval, Unix ms (a multiple of the width).
    pub start_ms: i64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Sum of the values.
    pub sum: f64,
    /// Number of (non-NaN) values.
    pub count: u64,
}

impl Bucket {
    /// A bucket holding one value.
    pub fn of(start_ms: i64, value: f64) -> Self {
        Bucket {
            start_ms,
            min: value,
            max: value,
            sum: value,
            count: 1,
        }
    }

    /// Adds one value.
    pub fn add(&mut self, value: f64) {
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += value;
        self.count += 1;
    }

    /// Folds another bucket into this one.
    pub fn merge(&mut self, other: &Bucket) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.count += other.count;
    }

    /// The average, `sum / count`.
    pub fn avg(&self) -> f64 {
        self.sum / self.count as f64
    }
}

/// Start of the interval of width `width` holding `ts`.
pub(crate) fn align(ts: i64, width: i64) -> i64 {
    ts.div_euclid(width) * width
}

/// Buckets of width `width` over samples sorted by timestamp.
pub(crate) fn bucketize(ts: &[i64], values: &[f64], width: i64) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::new();
    for (&t, &v) in ts.iter().zip(values) {
        if v.is_nan() {
            continue;
        }
        let start = align(t, width);
        match out.last_mut() {
            Some(b) if b.start_ms == start => b.add(v),
            _ => out.push(Bucket::of(start, v)),
        }
    }
    out
}

/// Replaces the buckets of `existing` that start in `[from, to)` with `fresh`
/// (all inside that range), keeping the result sorted.
pub(crate) fn splice(existing: Vec<Bucket>, from: i64, to: i64, fresh: &[Bucket]) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = existing
        .into_iter()
        .filter(|b| b.start_ms < from || b.start_ms >= to)
        .collect();
    out.extend_from_slice(fresh);
    out.sort_by_key(|b| b.start_ms);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_skip_nan_and_align_negative_times() {
        let ts = [-61_000, -1_000, 0, 30_000, 59_999, 60_000];
        let vs = [1.0, 2.0, f64::NAN, 4.0, -3.0, 5.0];
        let b = bucketize(&ts, &vs, 60_000);
        assert_eq!(b.len(), 4);
        assert_eq!(b[0].start_ms, -120_000);
        assert_eq!(b[1].start_ms, -60_000);
        assert_eq!(
            (b[2].start_ms, b[2].count, b[2].min, b[2].max, b[2].sum),
            (0, 2, -3.0, 4.0, 1.0)
        );
        assert_eq!(b[3].avg(), 5.0);
    }

    #[test]
    fn splice_replaces_only_the_range() {
        let old: Vec<Bucket> = (0..5).map(|i| Bucket::of(i * 10, i as f64)).collect();
        let fresh = [Bucket::of(20, 99.0)];
        let out = splice(old, 20, 40, &fresh);
        let starts: Vec<i64> = out.iter().map(|b| b.start_ms).collect();
        assert_eq!(starts, [0, 10, 20, 40]);
        assert_eq!(out[2].sum, 99.0);
    }
}

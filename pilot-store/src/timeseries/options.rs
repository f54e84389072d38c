//! Settings of the timeseries engine: window size, rollup tiers, retention,
//! codec and when compaction runs.

use serde::{Deserialize, Serialize};

use super::codec::ChunkCodec;
use crate::error::{Error, Result};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Rollup buckets per tier chunk; a tier chunk spans this many buckets,
/// rounded up to whole raw windows. Each compaction rewrites the chunk its
/// window falls in: 256 buckets keep that rewrite small (2 days of 10-minute
/// buckets) and cost about 0.015 bytes per sample more than 1440 on the
/// benchmark.
const BUCKETS_PER_CHUNK: i64 = 256;
/// Rollup buckets per tier chunk of earlier versions.
const EARLIER_BUCKETS_PER_CHUNK: i64 = 1440;

/// One rollup tier: min/max/sum/count per bucket of `bucket_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    /// Bucket width in ms; must divide the raw window.
    pub bucket_ms: i64,
    /// How long buckets are kept, in ms.
    pub retention_ms: i64,
}

impl Tier {
    /// A tier of `bucket_ms` buckets kept for `retention_ms`.
    pub const fn new(bucket_ms: i64, retention_ms: i64) -> Self {
        Tier {
            bucket_ms,
            retention_ms,
        }
    }
}

/// How the engine stores samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeseriesOptions {
    /// Width of a raw chunk (one series, one window), in ms. Windows are
    /// aligned to the Unix epoch.
    pub window_ms: i64,
    /// How long after its end a window still waits for late samples before it
    /// is compacted, in ms.
    pub grace_ms: i64,
    /// How long raw samples are kept, in ms. Samples older than this when
    /// their window is compacted are dropped.
    pub raw_retention_ms: i64,
    /// Rollup tiers, finest first.
    pub tiers: Vec<Tier>,
    /// Codec for new chunks.
    pub codec: ChunkCodec,
    /// Compact during a write once the head holds this many samples of
    /// closed windows, or when the clock has closed a window since the last
    /// compaction (0: only when [`compact`](super::TimeseriesStore::compact)
    /// is called).
    pub auto_compact_samples: usize,
    /// Most head samples kept in memory. Beyond it, the head is read from
    /// the database instead (its rows are there anyway): queries of windows
    /// not compacted yet and compaction then read them node by node, so
    /// memory stays bounded however many nodes write. The head returns to
    /// memory once a compaction leaves at most half of this. 0: never keep
    /// head samples in memory.
    #[serde(default = "default_head_memory_samples")]
    pub head_memory_samples: usize,
}

/// About 32 MB of samples (16 bytes each), 50 s of 10,000 agents sending
/// 40 samples every 5 s, or days of a few dozen nodes.
const fn default_head_memory_samples() -> usize {
    2_000_000
}

impl Default for TimeseriesOptions {
    /// 8-hour windows, 5 minutes of grace, raw samples for 400 days, tiers of
    /// 10 min (2 years), 1 h (5 years) and 8 h (10 years), pco chunks,
    /// compaction once a window closes or 500,000 closed samples wait, at
    /// most 2,000,000 head samples in memory.
    ///
    /// There is no 1-minute tier by default: while raw samples are kept, a
    /// 1-minute tier only duplicates them (it costs about as much space as
    /// the raw samples of noisy series), and steps under 10 minutes are
    /// computed from the raw chunks quickly. Add `Tier::new(60_000, ...)`
    /// when raw retention is shorter than the 1-minute history wanted.
    fn default() -> Self {
        TimeseriesOptions {
            window_ms: 8 * HOUR,
            grace_ms: 5 * MINUTE,
            raw_retention_ms: 400 * DAY,
            tiers: vec![
                Tier::new(10 * MINUTE, 730 * DAY),
                Tier::new(HOUR, 1826 * DAY),
                Tier::new(8 * HOUR, 3652 * DAY),
            ],
            codec: ChunkCodec::default(),
            auto_compact_samples: 500_000,
            head_memory_samples: default_head_memory_samples(),
        }
    }
}

impl TimeseriesOptions {
    /// Checks that the options fit together.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: String| Err(Error::Options { field, reason });
        if self.window_ms <= 0 {
            return bad("window_ms", "it must be positive".into());
        }
        if self.grace_ms < 0 {
            return bad("grace_ms", "it must not be negative".into());
        }
        if self.raw_retention_ms <= 0 {
            return bad("raw_retention_ms", "it must be positive".into());
        }
        let mut previous = 0;
        for tier in &self.tiers {
            if tier.bucket_ms <= previous {
                return bad(
                    "tiers",
                    "bucket widths must be positive and increase from tier to tier".into(),
                );
            }
            if self.window_ms % tier.bucket_ms != 0 {
                return bad(
                    "tiers",
                    format!(
                        "bucket width {} ms does not divide the window of {} ms",
                        tier.bucket_ms, self.window_ms
                    ),
                );
            }
            if tier.retention_ms <= 0 {
                return bad("tiers", "retention must be positive".into());
            }
            previous = tier.bucket_ms;
        }
        Ok(())
    }

    /// Width of the chunks of a tier: [`BUCKETS_PER_CHUNK`] buckets rounded
    /// up to whole windows, so every window lies inside one tier chunk.
    pub(crate) fn tier_span(&self, tier: &Tier) -> i64 {
        self.span_of(tier, BUCKETS_PER_CHUNK)
    }

    /// The widest tier chunk a store with these options may hold: earlier
    /// versions wrote chunks of [`EARLIER_BUCKETS_PER_CHUNK`] buckets, which
    /// stay readable and take late samples until retention removes them.
    pub(crate) fn widest_tier_span(&self, tier: &Tier) -> i64 {
        self.span_of(tier, EARLIER_BUCKETS_PER_CHUNK)
            .max(self.tier_span(tier))
    }

    fn span_of(&self, tier: &Tier, buckets: i64) -> i64 {
        let want = tier.bucket_ms.saturating_mul(buckets);
        let windows = (want + self.window_ms - 1) / self.window_ms;
        windows.max(1) * self.window_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_spans_hold_whole_windows() {
        let o = TimeseriesOptions::default();
        o.validate().unwrap();
        for t in &o.tiers {
            assert_eq!(o.tier_span(t) % o.window_ms, 0);
        }
        assert_eq!(o.tier_span(&o.tiers[0]), 2 * DAY);
        assert_eq!(o.tier_span(&o.tiers[1]), 256 * HOUR);
    }

    #[test]
    fn tiers_must_divide_the_window() {
        let o = TimeseriesOptions {
            tiers: vec![Tier::new(7 * MINUTE, DAY)],
            ..TimeseriesOptions::default()
        };
        let err = o.validate().unwrap_err();
        assert!(err.to_string().contains("does not divide"), "{err}");
    }
}

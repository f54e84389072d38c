//! The resolution of derived gauges.
//!
//! Some gauges are not read from the kernel but computed from what it
//! reports: shares of clock ticks, counter deltas divided by a measured
//! interval, ratios of sizes, the duration of a collection. Computed in full
//! floating-point precision, they carry digits far below what was measured
//! (a CPU share over 10 s at 100 ticks per second is known to 0.05 %, a byte
//! rate over 10 s to 0.1 B/s), and those digits cost a timeseries store
//! several bytes per sample while telling nobody anything. So the collector
//! rounds each such value, where it computes it, to a decimal step finer than
//! the measurement's:
//!
//! | Gauges                                  | Step          |
//! |-----------------------------------------|---------------|
//! | every `*_percent`                       | 0.01          |
//! | every `*_per_second`                    | 0.01          |
//! | `collector_duration_seconds`            | 0.000001 (1 µs) |
//!
//! Everything else is exact already: byte, page and task counts and the
//! counters are integers, the load averages come from `/proc/loadavg` with
//! two decimals, the uptime with two decimals from `/proc/uptime`, the disk
//! I/O time in whole milliseconds.
//!
//! A rounded value is the `f64` nearest to its decimal (it prints as
//! `6.67`, not `6.670000000000001`), so a store's codecs find the decimal
//! grid. NaN and infinities pass through unchanged; a percentage clamped to
//! 0..=100 stays within it, both bounds being on the grid.
//!
//! ```
//! use pilot_metrics::precision;
//!
//! assert_eq!(precision::percent(20.0 / 3.0), 6.67);
//! assert_eq!(precision::per_second(612_331.874 / 10.000_213), 61_231.88);
//! let took = std::time::Duration::from_nanos(1_234_567);
//! assert_eq!(precision::duration_seconds(took), 0.001235);
//! ```

use std::time::Duration;

/// Steps per unit of a percentage: hundredths of a percent.
pub const PERCENT_SCALE: f64 = 100.0;

/// Steps per unit of a per-second rate: hundredths.
pub const RATE_SCALE: f64 = 100.0;

/// Steps per second of a duration: microseconds.
pub const DURATION_SCALE: f64 = 1_000_000.0;

/// Above this many steps, an `f64` has no fractional digits left to drop
/// (2^52: from there on every representable value is an integer).
const EXACT_STEPS: f64 = 4_503_599_627_370_496.0;

/// `value` rounded to the nearest multiple of `1 / scale` (halves away from
/// zero), as the `f64` nearest to that decimal. NaN, infinities and values
/// too large to hold a fraction of a step are returned unchanged.
pub fn round_to(value: f64, scale: f64) -> f64 {
    let steps = value * scale;
    if !steps.is_finite() || steps.abs() >= EXACT_STEPS {
        return value;
    }
    // `steps.round()` is an integer below 2^52, so this one division is
    // correctly rounded: the nearest f64 to the decimal.
    steps.round() / scale
}

/// A percentage rounded to 0.01.
pub fn percent(value: f64) -> f64 {
    round_to(value, PERCENT_SCALE)
}

/// A per-second rate rounded to 0.01.
pub fn per_second(value: f64) -> f64 {
    round_to(value, RATE_SCALE)
}

/// A duration in seconds, rounded to the microsecond.
pub fn duration_seconds(duration: Duration) -> f64 {
    round_to(duration.as_secs_f64(), DURATION_SCALE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_grid(value: f64, scale: f64) -> bool {
        (value * scale).round() / scale == value
    }

    #[test]
    fn percentages_become_the_nearest_two_decimal_float() {
        assert_eq!(percent(6.666666666666667), 6.67);
        assert_eq!(percent(46.666666666666664), 46.67);
        assert_eq!(percent(33.33333333333333), 33.33);
        assert_eq!(percent(0.004999), 0.0);
        assert_eq!(percent(0.005), 0.01);
        assert_eq!(percent(12.5), 12.5);
        assert_eq!(percent(0.1 + 0.2), 0.3);
        assert_eq!(percent(100.0), 100.0);
        assert_eq!(percent(0.0), 0.0);
        assert_eq!(percent(99.999), 100.0);
        assert_eq!(percent(6.67).to_string(), "6.67");
    }

    #[test]
    fn rates_become_the_nearest_two_decimal_float() {
        assert_eq!(per_second(612_331.874 / 10.000_213), 61_231.88);
        assert_eq!(per_second(61_233.187_4), 61_233.19);
        assert_eq!(per_second(1000.0), 1000.0);
        assert_eq!(per_second(1.0 / 3.0), 0.33);
        assert_eq!(per_second(61_233.187_4).to_string(), "61233.19");
    }

    #[test]
    fn durations_keep_whole_microseconds() {
        assert_eq!(duration_seconds(Duration::from_nanos(1_234_567)), 0.001235);
        assert_eq!(duration_seconds(Duration::from_nanos(1_234_499)), 0.001234);
        assert_eq!(duration_seconds(Duration::from_micros(2_000_017)), 2.000017);
        assert_eq!(duration_seconds(Duration::ZERO), 0.0);
        assert_eq!(
            duration_seconds(Duration::from_nanos(4_567_891)).to_string(),
            "0.004568"
        );
    }

    #[test]
    fn non_finite_and_huge_values_pass_through() {
        assert!(percent(f64::NAN).is_nan());
        assert_eq!(per_second(f64::INFINITY), f64::INFINITY);
        assert_eq!(percent(f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert_eq!(per_second(1e300), 1e300);
        assert_eq!(per_second(f64::MAX), f64::MAX);
    }

    #[test]
    fn rounding_is_idempotent_and_lands_on_the_grid() {
        let mut x = 0.000_123_456_789_f64;
        while x < 1e12 {
            for value in [x, x * 1.000_000_7, x * 3.7] {
                let p = percent(value);
                assert!(on_grid(p, PERCENT_SCALE), "{value} -> {p}");
                assert_eq!(percent(p), p);
                assert!((p - value).abs() <= 0.005 + value * f64::EPSILON);
                if value < 1e6 {
                    let micros = round_to(value, DURATION_SCALE);
                    assert!(on_grid(micros, DURATION_SCALE), "{value} -> {micros}");
                }
            }
            x *= 1.7;
        }
    }
}

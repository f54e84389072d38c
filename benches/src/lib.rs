//! Shared pieces of Pilot's benchmark harnesses: summary statistics and a
//! plain-text table printer.

use std::time::Duration;

/// Summary of a set of measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of measurements.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// Largest.
    pub max: Duration,
}

/// Summarises `samples` (nearest-rank percentiles); `None` when empty.
pub fn summarize(samples: &[Duration]) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank =
        |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    Some(Summary {
        count: sorted.len(),
        p50: rank(0.5),
        p90: rank(0.9),
        max: sorted[sorted.len() - 1],
    })
}

/// Formats a duration in milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Renders rows as an aligned plain-text table with a header line.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_table() {
        let samples: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        let s = summarize(&samples).unwrap();
        assert_eq!(
            (s.count, s.p50, s.p90, s.max),
            (
                10,
                Duration::from_millis(5),
                Duration::from_millis(9),
                Duration::from_millis(10)
            )
        );
        assert_eq!(summarize(&[]), None);
        assert_eq!(ms(Duration::from_micros(1250)), "1.2 ms");
        let t = table(&["a", "bb"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "a    bb\n---  --\nxyz  1");
    }
}

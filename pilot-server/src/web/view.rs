//! What every page shares: the frame around it ([`Shell`]) and the ways
//! numbers and times are written.

use super::assets;
use super::session::Viewer;

/// The frame of a signed-in page: title, navigation, who is signed in, the
/// CSRF token for scripts and forms, the live topics it wants, and the
/// asset URLs.
#[derive(Debug, Clone)]
pub(crate) struct Shell {
    /// The page title.
    pub title: String,
    /// Which navigation entry is current (`overview`, `alerts`, `users`,
    /// `settings`, or empty).
    pub nav: &'static str,
    /// The signed-in user.
    pub username: String,
    /// Whether the user is an admin.
    pub is_admin: bool,
    /// The session's CSRF token.
    pub csrf: String,
    /// The WebSocket topics of the page (`nodes,metrics,deploys`).
    pub topics: &'static str,
    /// The node the page is about, if any.
    pub node: String,
    /// The project the page is about, if any.
    pub project: String,
    /// The server's version.
    pub version: &'static str,
    /// Asset URLs.
    pub css: String,
    /// The script.
    pub js: String,
    /// The chart library.
    pub uplot_js: String,
    /// The chart library's styles.
    pub uplot_css: String,
}

impl Shell {
    /// The frame of a page titled `title` for `viewer`.
    pub fn new(viewer: &Viewer, title: impl Into<String>, nav: &'static str) -> Self {
        Shell {
            title: title.into(),
            nav,
            username: viewer.username().to_string(),
            is_admin: viewer.is_admin(),
            csrf: viewer.csrf.clone(),
            topics: "nodes,deploys",
            node: String::new(),
            project: String::new(),
            version: env!("CARGO_PKG_VERSION"),
            css: assets::url("app.css"),
            js: assets::url("app.js"),
            uplot_js: assets::url("uPlot.js"),
            uplot_css: assets::url("uPlot.css"),
        }
    }

    /// The same frame wanting other live topics.
    pub fn topics(mut self, topics: &'static str) -> Self {
        self.topics = topics;
        self
    }

    /// The same frame about a node.
    pub fn node(mut self, node: &str) -> Self {
        self.node = node.to_string();
        self
    }

    /// The same frame about a project.
    pub fn project(mut self, project: &str) -> Self {
        self.project = project.to_string();
        self
    }
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `2026-12-07T10:00:00Z` of a Unix ms time.
pub(crate) fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `2026-12-07 10:00 UTC` of a Unix ms time.
pub(crate) fn utc(ms: i64) -> String {
    let text = iso(ms);
    format!("{} {} UTC", &text[..10], &text[11..16])
}

/// A duration in ms as people read it: `850 ms`, `4.2 s`, `3 min`, `5 h`, `2 d`.
pub(crate) fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min", ms / 60_000),
        3_600_000..172_800_000 => format!("{} h", ms / 3_600_000),
        _ => format!("{} d", ms / 86_400_000),
    }
}

/// Bytes as `512 B`, `1.5 KiB`, `3.2 GiB` (the pages' and the command
/// line's way of writing sizes).
pub fn bytes(value: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = value;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[0])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_796_637_600_000), "2026-12-07T10:00:00Z");
        assert_eq!(utc(1_796_637_600_000), "2026-12-07 10:00 UTC");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn durations_and_sizes_read_naturally() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(4_200), "4.2 s");
        assert_eq!(duration(180_000), "3 min");
        assert_eq!(duration(5 * 3_600_000), "5 h");
        assert_eq!(duration(3 * 86_400_000), "3 d");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.5 * 1024.0 * 1024.0 * 1024.0), "3.5 GiB");
    }
}

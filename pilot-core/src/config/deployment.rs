//! Validation of `deployment`: strategy, health check and timings.

use serde_json::{Map, Value};

use super::check::{Checker, present};
use super::locate::child_key;
use super::suggest;

/// The fields of `deployment`.
pub(crate) const DEPLOYMENT_FIELDS: &[&str] = &[
    "strategy",
    "healthcheck_type",
    "healthcheck_url",
    "healthcheck_path",
    "healthcheck_interval",
    "healthcheck_timeout",
    "healthcheck_retries",
    "healthcheck_start_period",
    "watch_seconds",
    "drain_seconds",
    "keep_generations",
    "warm_standby",
];

/// Accepted strategies; `rolling` is another name of `in-place`.
pub(crate) const STRATEGIES: &[&str] = &["blue-green", "in-place", "rolling"];

/// The longest timing Pilot accepts, in seconds (one day).
const MAX_SECONDS: f64 = 86_400.0;

/// The longest single health check, in seconds.
const MAX_TIMEOUT: f64 = 300.0;

/// Timings: field, whether 0 is allowed, upper bound, example.
const TIMINGS: [(&str, bool, f64, &str); 5] = [
    ("healthcheck_interval", false, MAX_SECONDS, "10"),
    ("healthcheck_timeout", false, MAX_TIMEOUT, "5"),
    ("healthcheck_start_period", false, MAX_SECONDS, "60"),
    ("watch_seconds", true, MAX_SECONDS, "30"),
    ("drain_seconds", true, MAX_SECONDS, "30"),
];

/// Checks `deployment` of the document `doc`.
pub(crate) fn check(c: &mut Checker<'_>, doc: &Map<String, Value>) {
    let Some(value) = doc.get("deployment") else {
        return;
    };
    let example = "{\"strategy\": \"blue-green\", \"healthcheck_path\": \"/health\"}";
    let Some(map) = c.object("deployment", value, example) else {
        return;
    };
    c.known_fields("deployment", map, DEPLOYMENT_FIELDS);
    choice(c, map, "strategy", STRATEGIES, ("strategy", "strategies"));
    let kinds = ("health check type", "health check types");
    let kind = choice(c, map, "healthcheck_type", &["http", "tcp"], kinds);
    health_target(c, map, kind);
    for (field, zero_allowed, max, example) in TIMINGS {
        if let Some(value) = map.get(field) {
            seconds(c, field, value, zero_allowed, max, example);
        }
    }
    for (field, example) in [("healthcheck_retries", "3"), ("keep_generations", "5")] {
        if let Some(value) = map.get(field) {
            let path = child_key("deployment", field);
            c.integer(&path, value, (1, i64::from(u32::MAX)), example);
        }
    }
    if let Some(value) = map.get("warm_standby") {
        c.boolean("deployment.warm_standby", value);
    }
}

/// A string field whose value must be one of `allowed`; returns it when valid.
fn choice<'v>(
    c: &mut Checker<'_>,
    map: &'v Map<String, Value>,
    field: &str,
    allowed: &[&str],
    (one, many): (&str, &str),
) -> Option<&'v str> {
    let path = child_key("deployment", field);
    let text = c.string(&path, map.get(field)?, &format!("\"{}\"", allowed[0]))?;
    if allowed.contains(&text) {
        return Some(text);
    }
    c.at_value(
        &path,
        format!("unknown {one} `{text}`"),
        suggest::choice_hint(text, allowed, many),
    );
    None
}

/// `healthcheck_url` and `healthcheck_path`: at most one, well-formed, and none for tcp.
fn health_target(c: &mut Checker<'_>, map: &Map<String, Value>, kind: Option<&str>) {
    let url = present(map, "healthcheck_url")
        .and_then(|v| c.string("deployment.healthcheck_url", v, "\"/health\""));
    let path = present(map, "healthcheck_path")
        .and_then(|v| c.string("deployment.healthcheck_path", v, "\"/health\""));
    if let Some(url) = url {
        health_url(c, url);
    }
    if let Some(path) = path {
        health_path(c, path);
    }
    if url.is_some() && path.is_some() {
        c.at_value(
            "deployment.healthcheck_path",
            "`healthcheck_url` and `healthcheck_path` are both set",
            "keep only one of them; both name the path the health check requests",
        );
    }
    if kind == Some("tcp") {
        for (field, given) in [("healthcheck_url", url), ("healthcheck_path", path)] {
            if given.is_some() {
                c.at_value(
                    &child_key("deployment", field),
                    format!("a tcp health check only connects to the port; `{field}` is not used"),
                    format!("remove `{field}`, or write \"healthcheck_type\": \"http\""),
                );
            }
        }
    }
}

fn health_url(c: &mut Checker<'_>, url: &str) {
    const PATH: &str = "deployment.healthcheck_url";
    if url.starts_with('/') {
        return health_path_chars(c, PATH, url);
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.split(['/', '?']).next().unwrap_or_default().is_empty() => {
            health_path_chars(c, PATH, url);
        }
        _ => c.at_value(
            PATH,
            format!("`healthcheck_url` must be an http(s) URL or a path, found \"{url}\""),
            "write e.g. \"http://localhost:3000/health\" or \"/health\"",
        ),
    }
}

fn health_path(c: &mut Checker<'_>, path: &str) {
    const PATH: &str = "deployment.healthcheck_path";
    if path.starts_with('/') {
        return health_path_chars(c, PATH, path);
    }
    let fixed = format!("/{}", path.trim().trim_start_matches('/'));
    c.at_value(
        PATH,
        format!("`healthcheck_path` must start with `/`, found \"{path}\""),
        format!("write \"{fixed}\""),
    );
}

fn health_path_chars(c: &mut Checker<'_>, path: &str, text: &str) {
    if text.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
        c.at_value(
            path,
            format!(
                "`{}` contains spaces or control characters",
                path.trim_start_matches("deployment.")
            ),
            "encode a space as %20 and remove line breaks",
        );
    }
}

/// A number of seconds, more than 0 (or at least 0 when `zero_allowed`), at most `max`.
fn seconds(
    c: &mut Checker<'_>,
    field: &str,
    value: &Value,
    zero_allowed: bool,
    max: f64,
    example: &str,
) {
    let path = child_key("deployment", field);
    if let Some(secs) = value.as_str().and_then(duration_in_seconds) {
        c.at_value(
            &path,
            format!(
                "expected a number of seconds, found the string \"{}\"",
                value.as_str().unwrap_or_default()
            ),
            format!("write the number of seconds without quotes: {secs}"),
        );
        return;
    }
    let Some(secs) = c.number(&path, value, example) else {
        return;
    };
    let raw = c
        .raw(&path)
        .map_or_else(|| secs.to_string(), str::to_string);
    let message = if zero_allowed && secs < 0.0 {
        format!("`{field}` cannot be negative, found {raw}")
    } else if !zero_allowed && secs <= 0.0 {
        format!("`{field}` must be more than 0 seconds, found {raw}")
    } else if secs > max {
        format!("`{field}` is {raw} seconds; the limit is {max}")
    } else {
        return;
    };
    let range = if zero_allowed {
        "from 0"
    } else {
        "more than 0 and"
    };
    c.at_value(
        &path,
        message,
        format!("write a number of seconds {range} up to {max}, e.g. {example}"),
    );
}

/// Seconds in a duration written as text: "10", "10s", "1.5m", "500ms", "1h".
fn duration_in_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "ms" => 0.001,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::duration_in_seconds;

    #[test]
    fn durations_written_as_text_are_converted_for_the_hint() {
        assert_eq!(duration_in_seconds("10"), Some(10.0));
        assert_eq!(duration_in_seconds("10s"), Some(10.0));
        assert_eq!(duration_in_seconds("2m"), Some(120.0));
        assert_eq!(duration_in_seconds("500ms"), Some(0.5));
        assert_eq!(duration_in_seconds("1 hour"), Some(3600.0));
        assert_eq!(duration_in_seconds("soon"), None);
        assert_eq!(duration_in_seconds("10 parsecs"), None);
    }
}

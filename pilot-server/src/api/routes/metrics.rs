//! `/metrics/query` and `/system`: stored metrics and the server's own machine.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use pilot_store::timeseries::{RangeQuery, SeriesSelector};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::auth::Authenticated;
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::state::AppState;
use crate::api::types::{
    ErrorBody, MetricAggregation, MetricsQuery, MetricsQueryResponse, SeriesView,
};

/// Default range when no start is given.
const DEFAULT_RANGE_MS: i64 = 3_600_000;
/// Points per series the default step aims at.
const DEFAULT_POINTS: i64 = 300;
/// Most points per series a stepped query may ask for.
const MAX_POINTS: i64 = 11_000;

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(query))
        .routes(routes!(system))
}

use pilot_core::time::now_ms;

/// Parses a duration such as `90s`, `5m`, `24h`, `7d`, `1w` into ms.
fn parse_duration(text: &str) -> Option<i64> {
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(unit_at);
    let n: i64 = digits.parse().ok()?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// Parses a point in time: Unix ms, or `-<duration>` before `now`.
fn parse_time(field: &'static str, text: &str, now: i64) -> ApiResult<i64> {
    let parsed = match text.strip_prefix('-') {
        Some(ago) => parse_duration(ago).map(|d| now - d),
        None => text.parse::<i64>().ok().filter(|ms| *ms >= 0),
    };
    parsed.ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("{text:?} is neither Unix milliseconds nor a time ago such as -24h, -30m, -7d"),
        )
    })
}

/// Parses a step: ms, or a duration such as `5m`.
fn parse_step(text: &str) -> ApiResult<i64> {
    text.parse::<i64>()
        .ok()
        .or_else(|| parse_duration(text))
        .filter(|ms| *ms >= 0)
        .ok_or_else(|| {
            ApiError::invalid(
                "step",
                format!("{text:?} is neither milliseconds nor a duration such as 30s, 5m, 1h"),
            )
        })
}

/// Splits the query string into the known parameters and `label.<key>` filters.
fn parse_query(pairs: Vec<(String, String)>) -> ApiResult<MetricsQuery> {
    let mut query = MetricsQuery::default();
    let mut labels = BTreeMap::new();
    for (key, value) in pairs {
        match key.as_str() {
            "metric" => query.metric = value,
            "node" => query.node = Some(value),
            "start" => query.start = Some(value),
            "end" => query.end = Some(value),
            "step" => query.step = Some(value),
            "agg" => {
                let agg = serde_json::from_value(serde_json::Value::String(value.clone()))
                    .map_err(|_| {
                        ApiError::invalid(
                            "agg",
                            format!(
                                "{value:?} is not an aggregation; use avg, min, max, sum or count"
                            ),
                        )
                    })?;
                query.agg = Some(agg);
            }
            other => match other.strip_prefix("label.") {
                Some(label) if !label.is_empty() => {
                    labels.insert(label.to_string(), value);
                }
                _ => {
                    return Err(ApiError::invalid(
                        "query",
                        format!(
                            "unknown parameter {other:?}; use metric, node, start, end, step, agg or label.<key>"
                        ),
                    ));
                }
            },
        }
    }
    if query.metric.is_empty() {
        return Err(ApiError::invalid(
            "metric",
            "it is required, e.g. metric=cpu_usage_percent",
        ));
    }
    query.labels = labels;
    Ok(query)
}

/// Samples of a metric over a range: raw, or one aggregate per step.
/// `label.<key>=<value>` parameters narrow to series with that label.
#[utoipa::path(
    get, path = "/metrics/query", tag = "metrics",
    security(("bearer" = [])),
    params(MetricsQuery),
    responses(
        (status = 200, description = "One entry per matching series", body = MetricsQueryResponse),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "Bad parameters", body = ErrorBody),
    )
)]
async fn query(
    State(state): State<AppState>,
    _: Authenticated,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> ApiResult<ApiJson<MetricsQueryResponse>> {
    let request = parse_query(pairs)?;
    let now = now_ms();
    let end_ms = match &request.end {
        Some(text) => parse_time("end", text, now)?,
        None => now,
    };
    let start_ms = match &request.start {
        Some(text) => parse_time("start", text, now)?,
        None => end_ms - DEFAULT_RANGE_MS,
    };
    if start_ms >= end_ms {
        return Err(ApiError::invalid(
            "start",
            "it must be before end; swap them or widen the range",
        ));
    }
    let span = end_ms - start_ms;
    let step_ms = match &request.step {
        Some(text) => parse_step(text)?,
        None => (span + DEFAULT_POINTS - 1) / DEFAULT_POINTS,
    };
    if step_ms > 0 && span / step_ms > MAX_POINTS {
        return Err(ApiError::invalid(
            "step",
            format!(
                "{step_ms} ms gives more than {MAX_POINTS} points over the range; use a larger step"
            ),
        ));
    }
    let aggregation = request.agg.unwrap_or(MetricAggregation::Avg);
    let mut selector = SeriesSelector::metric(&request.metric);
    selector.node = request.node.clone();
    selector.labels = request.labels.clone();
    let range = RangeQuery::stepped(selector, start_ms, end_ms, step_ms, aggregation.into());
    let series = state.metrics.query(&range).await?;
    Ok(ApiJson(MetricsQueryResponse {
        metric: request.metric,
        start_ms,
        end_ms,
        step_ms,
        aggregation,
        series: series.into_iter().map(SeriesView::from).collect(),
    }))
}

/// The machine the server runs on: OS, kernel, CPUs, memory, disks.
#[utoipa::path(
    get, path = "/system", tag = "metrics",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "System information", body = Object),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn system(_: Authenticated) -> ApiResult<Json<pilot_metrics::SystemInfo>> {
    let info = tokio::task::spawn_blocking(pilot_metrics::SystemInfo::gather)
        .await
        .map_err(|e| ApiError::SystemInfo {
            reason: e.to_string(),
        })?
        .map_err(|e| ApiError::SystemInfo {
            reason: e.to_string(),
        })?;
    Ok(Json(info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_steps_and_labels_parse() {
        assert_eq!(parse_duration("24h"), Some(86_400_000));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_time("start", "-1h", 10_000_000).ok(), Some(6_400_000));
        assert_eq!(parse_time("start", "1234", 0).ok(), Some(1234));
        assert!(parse_time("start", "yesterday", 0).is_err());
        assert_eq!(parse_step("5m").ok(), Some(300_000));
        assert_eq!(parse_step("0").ok(), Some(0));
        let query = parse_query(vec![
            ("metric".into(), "cpu".into()),
            ("label.project".into(), "shop".into()),
            ("agg".into(), "max".into()),
        ])
        .expect("valid");
        assert_eq!(query.labels["project"], "shop");
        assert_eq!(query.agg, Some(MetricAggregation::Max));
        assert!(
            parse_query(vec![
                ("metric".into(), "cpu".into()),
                ("x".into(), "1".into())
            ])
            .is_err()
        );
        assert!(parse_query(vec![]).is_err());
    }
}

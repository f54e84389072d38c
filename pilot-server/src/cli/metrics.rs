//! `pilot metrics NODE [--metric M] [--since 1h] [--step 1m]`.

use std::collections::BTreeMap;

use super::Context;
use super::args::MetricsArgs;
use super::error::Result;
use super::output::{self, Out, Table};
use crate::api::types::MetricsQuery;

/// Without `--metric`: the latest value of every series of the node.
/// With it: that metric's points over `--since`, one per `--step`.
pub async fn metrics(ctx: &Context, args: &MetricsArgs, out: Out<'_>) -> Result<()> {
    let Some(metric) = &args.metric else {
        let latest = ctx.client.latest_metrics(&args.node).await?;
        if ctx.json {
            return output::json(out, &latest);
        }
        let now = output::now_ms();
        let mut table = Table::new(&["METRIC", "LABELS", "VALUE", "AT"]);
        for value in &latest {
            table.row(vec![
                value.name.clone(),
                labels_text(&value.labels),
                number(value.value),
                output::ago(value.timestamp_ms, now),
            ]);
        }
        return table.print(out, &format!("no metrics from {} yet", args.node));
    };
    let query = MetricsQuery {
        metric: metric.clone(),
        node: Some(args.node.clone()),
        start: Some(format!("-{}s", args.since.as_secs())),
        end: None,
        step: Some(format!("{}s", args.step.as_secs())),
        agg: None,
        labels: BTreeMap::new(),
    };
    let answer = ctx.client.query_metrics(&query).await?;
    if ctx.json {
        return output::json(out, &answer);
    }
    if answer.series.is_empty() {
        writeln!(out, "no {metric} samples from {} in that range", args.node)?;
        return Ok(());
    }
    for series in &answer.series {
        let labels = labels_text(&series.labels);
        writeln!(
            out,
            "{metric}{}",
            if labels.is_empty() {
                String::new()
            } else {
                format!(" {{{labels}}}")
            }
        )?;
        let mut table = Table::new(&["TIME (UTC)", "VALUE"]);
        for point in &series.points {
            table.row(vec![output::utc(point.timestamp_ms), number(point.value)]);
        }
        table.print(out, "  no points")?;
    }
    Ok(())
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A value with at most two decimals, no trailing zeros.
fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

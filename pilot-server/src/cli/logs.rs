//! `pilot logs PROJECT [-n N] [-f]`.

use std::io::Write;

use super::Context;
use super::args::LogsArgs;
use super::error::{CliError, Result};
use super::output::{self, Out};
use crate::api::types::LogBatch;

/// Prints the last `-n` lines of the project's services on every node
/// (prefixed by the node when there are several), then with `-f` new
/// lines until Ctrl-C. With `--json`, every batch is one JSON line.
pub async fn logs(ctx: &Context, args: &LogsArgs, out: Out<'_>) -> Result<()> {
    if args.follow {
        return follow(ctx, args, out).await;
    }
    let answer = ctx.client.logs(&args.project, Some(args.lines)).await?;
    if ctx.json {
        return output::json(out, &answer);
    }
    let prefix = answer.nodes.len() > 1;
    for node in &answer.nodes {
        for line in &node.lines {
            print_line(out, prefix.then_some(node.node.as_str()), line)?;
        }
    }
    let failed: Vec<String> = answer
        .nodes
        .iter()
        .filter_map(|n| n.error.as_ref().map(|e| format!("{}: {e}", n.node)))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    if failed.len() == answer.nodes.len() {
        return Err(CliError::failed(format!(
            "no node returned logs: {}",
            failed.join("; ")
        )));
    }
    for failure in failed {
        eprintln!("warning: {failure}");
    }
    Ok(())
}

async fn follow(ctx: &Context, args: &LogsArgs, out: Out<'_>) -> Result<()> {
    let json = ctx.json;
    let mut write_error = None;
    let mut on_batch = |batch: &LogBatch| {
        if write_error.is_some() {
            return;
        }
        if let Err(e) = print_batch(out, batch, json) {
            write_error = Some(e);
        }
    };
    let followed = ctx
        .client
        .follow_logs(&args.project, args.lines, &mut on_batch);
    tokio::select! {
        result = followed => result?,
        _ = tokio::signal::ctrl_c() => {}
    }
    match write_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Prints one batch of followed logs.
fn print_batch(out: &mut (dyn Write + Send), batch: &LogBatch, json: bool) -> Result<()> {
    if json {
        serde_json::to_writer(&mut *out, batch)
            .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
        writeln!(out)?;
    } else {
        for line in &batch.lines {
            print_line(out, Some(&batch.node), line)?;
        }
        if let (true, Some(error)) = (batch.done, &batch.error) {
            eprintln!("{}: log stream ended: {error}", batch.node);
        }
    }
    out.flush()?;
    Ok(())
}

fn print_line(out: &mut (dyn Write + Send), node: Option<&str>, line: &str) -> Result<()> {
    match node {
        Some(node) => writeln!(out, "{node} | {line}")?,
        None => writeln!(out, "{line}")?,
    }
    Ok(())
}

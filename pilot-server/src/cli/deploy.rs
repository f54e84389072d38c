//! `pilot deploy` and `pilot rollback`: start a rollout and follow it.

use super::Context;
use super::args::{DeployArgs, RollbackArgs};
use super::error::{CliError, Result};
use super::output::{self, Out, Table};
use super::progress::ProgressView;
use super::project::{explain_config, json_word};
use crate::api::types::{CanaryRequest, Rollout, RolloutStatus};
use crate::client::{DeployTarget, pack_dir};

/// Deploys a project: a git ref (`--ref`, default the project's branch) or
/// an uploaded directory (`--dir`), canaries first when asked; then
/// follows the rollout with live progress unless `--no-wait`.
pub async fn deploy(ctx: &Context, args: &DeployArgs, out: Out<'_>) -> Result<()> {
    let canary = (!args.canary.is_empty()).then(|| CanaryRequest {
        nodes: args.canary.clone(),
        watch_secs: args.canary_watch.as_secs(),
    });
    let started = match &args.dir {
        Some(dir) => {
            let archive = pack_dir(dir)?;
            ctx.client
                .deploy_archive(&args.project, archive, canary)
                .await
        }
        None => {
            let target = args
                .reference
                .as_deref()
                .map_or(DeployTarget::Default, DeployTarget::parse);
            ctx.client.deploy(&args.project, target, canary).await
        }
    }
    .map_err(explain_config)?;
    follow(ctx, started, args.no_wait, out).await
}

/// Rolls a project back to `--generation` (default the previous one) and
/// follows the rollout unless `--no-wait`.
pub async fn rollback(ctx: &Context, args: &RollbackArgs, out: Out<'_>) -> Result<()> {
    let started = ctx.client.rollback(&args.project, args.generation).await?;
    follow(ctx, started, args.no_wait, out).await
}

/// Follows a started rollout to its end and prints the outcome; a failed
/// rollout is an error.
async fn follow(ctx: &Context, started: Rollout, no_wait: bool, out: Out<'_>) -> Result<()> {
    if no_wait {
        if ctx.json {
            return output::json(out, &started);
        }
        writeln!(
            out,
            "rollout {} of {} started; follow it with `pilot project show {}`",
            started.id, started.project, started.project
        )?;
        return Ok(());
    }
    let view = ProgressView::for_stderr();
    let shown = view.clone();
    let done = ctx
        .client
        .wait_rollout(&started.id, move |event| shown.show(event))
        .await?;
    view.finish();
    report(ctx.json, &done, out)
}

/// Prints the outcome of an ended rollout; an error when it failed.
pub(crate) fn report(json: bool, done: &Rollout, out: Out<'_>) -> Result<()> {
    if json {
        output::json(out, done)?;
    } else {
        let mut table = Table::new(&["NODE", "STATE", "GEN", "ERROR"]);
        for node in &done.nodes {
            table.row(vec![
                node.node.clone(),
                json_word(&node.state),
                node.generation
                    .map_or_else(|| "-".to_string(), |g| g.to_string()),
                node.error.clone().unwrap_or_default(),
            ]);
        }
        table.print(out, "no nodes took part")?;
    }
    let kind = json_word(&done.kind);
    match done.status {
        RolloutStatus::Succeeded => {
            if !json {
                writeln!(out, "{kind} of {} succeeded", done.project)?;
            }
            Ok(())
        }
        _ => Err(CliError::failed(format!(
            "{kind} of {} {}: {}; see `pilot project show {}` and `pilot logs {}`",
            done.project,
            json_word(&done.status),
            done.reason.as_deref().unwrap_or("no reason given"),
            done.project,
            done.project
        ))),
    }
}

//! `pilot project create | list | show | remove | config | start | stop | restart`.

use std::path::Path;

use super::Context;
use super::args::{ProjectCommand, ProjectCreateArgs};
use super::error::{CliError, Result};
use super::output::{self, Out, Table};
use crate::api::types::{NodeResult, ProjectSourceView, ProjectSummary};
use crate::client::{self, ClientError};
use crate::deploy::ControlAction;

/// Runs one `pilot project` subcommand.
pub(crate) async fn run(ctx: &Context, command: ProjectCommand, out: Out<'_>) -> Result<()> {
    match command {
        ProjectCommand::Create(args) => project_create(ctx, &args, out).await,
        ProjectCommand::List => project_list(ctx, out).await,
        ProjectCommand::Show { name } => project_show(ctx, &name, out).await,
        ProjectCommand::Remove { name } => project_remove(ctx, &name, out).await,
        ProjectCommand::Config { name, file } => project_config(ctx, &name, &file, out).await,
        ProjectCommand::Start { name } => {
            project_control(ctx, &name, ControlAction::Start, out).await
        }
        ProjectCommand::Stop { name } => {
            project_control(ctx, &name, ControlAction::Stop, out).await
        }
        ProjectCommand::Restart { name } => {
            project_control(ctx, &name, ControlAction::Restart, out).await
        }
    }
}

/// Creates a project from `--git URL` or from `--dir DIR` (uploaded once to
/// read its config; deploy it with `pilot deploy NAME --dir DIR`).
pub async fn project_create(ctx: &Context, args: &ProjectCreateArgs, out: Out<'_>) -> Result<()> {
    let created = match (&args.git, &args.dir) {
        (Some(url), None) => ctx
            .client
            .create_project(
                &args.name,
                url,
                args.branch.as_deref(),
                &args.nodes,
                args.port,
            )
            .await
            .map_err(explain_config)?,
        (None, Some(dir)) => {
            let archive = client::pack_dir(dir)?;
            ctx.client
                .create_project_from_archive(&args.name, &args.nodes, args.port, archive, false)
                .await
                .map_err(explain_config)?
        }
        _ => {
            return Err(CliError::usage(
                "pass exactly one of --git URL and --dir DIR",
            ));
        }
    };
    if ctx.json {
        return output::json(out, &created);
    }
    let summary = &created.project.summary;
    writeln!(
        out,
        "project {} created ({} app) on {}",
        summary.name,
        summary.app_type,
        summary.nodes.join(", ")
    )?;
    if let Some(hook) = &created.webhook {
        let url = hook.url.as_deref().unwrap_or(&hook.path);
        writeln!(
            out,
            "push webhook: {url} (content type {})",
            hook.content_type
        )?;
        writeln!(out, "webhook secret (keep it private): {}", hook.secret)?;
    }
    writeln!(
        out,
        "deploy it with `pilot deploy {}`{}",
        summary.name,
        match args.dir {
            Some(_) => " --dir DIR",
            None => "",
        }
    )?;
    Ok(())
}

/// An `invalid_config` error with every problem listed under the message.
pub(crate) fn explain_config(error: ClientError) -> CliError {
    let problems = error.config_problems();
    if problems.is_empty() {
        return error.into();
    }
    let mut summary = format!("{error}");
    for problem in problems {
        let at = match (problem.line, problem.column) {
            (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
            (Some(line), None) => format!(" (line {line})"),
            _ => String::new(),
        };
        let path = if problem.path.is_empty() {
            "config".to_string()
        } else {
            problem.path
        };
        summary.push_str(&format!("\n  {path}{at}: {}", problem.message));
        if let Some(hint) = problem.hint {
            summary.push_str(&format!("; {hint}"));
        }
    }
    CliError::failed(summary)
}

/// Lists projects: name, type, status, nodes, source.
pub async fn project_list(ctx: &Context, out: Out<'_>) -> Result<()> {
    let projects = ctx.client.projects().await?;
    if ctx.json {
        return output::json(out, &projects);
    }
    project_table(&projects).print(out, "no projects; create one with `pilot project create`")
}

/// The table of projects `pilot project list` and `pilot status` print.
pub(crate) fn project_table(projects: &[ProjectSummary]) -> Table {
    let mut table = Table::new(&["PROJECT", "TYPE", "STATUS", "PORT", "NODES", "SOURCE"]);
    for p in projects {
        table.row(vec![
            p.name.clone(),
            p.app_type.clone(),
            json_word(&p.status),
            p.public_port
                .map_or_else(|| "-".to_string(), |port| port.to_string()),
            p.nodes.join(", "),
            source_text(&p.source),
        ]);
    }
    table
}

/// A unit enum's JSON spelling (`running`, `rolled_back`, ...).
pub(crate) fn json_word(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn source_text(source: &ProjectSourceView) -> String {
    match source {
        ProjectSourceView::Git { url, branch } => match branch {
            Some(branch) => format!("{url} ({branch})"),
            None => url.clone(),
        },
        ProjectSourceView::Upload => "upload".to_string(),
    }
}

/// Shows a project: summary, online nodes, latest deployments.
pub async fn project_show(ctx: &Context, name: &str, out: Out<'_>) -> Result<()> {
    let detail = ctx.client.project(name).await?;
    if ctx.json {
        return output::json(out, &detail);
    }
    let p = &detail.summary;
    writeln!(
        out,
        "project:   {} ({} app {:?})",
        p.name, p.app_type, p.app_name
    )?;
    writeln!(out, "status:    {}", json_word(&p.status))?;
    writeln!(out, "source:    {}", source_text(&p.source))?;
    if let Some(port) = p.public_port {
        writeln!(out, "port:      {port}")?;
    }
    writeln!(
        out,
        "nodes:     {} ({} online)",
        p.nodes.join(", "),
        detail.online_nodes.len()
    )?;
    if p.config_pinned {
        writeln!(out, "config:    pinned (set with `pilot project config`)")?;
    }
    writeln!(out)?;
    let mut table = Table::new(&["DEPLOYMENT", "NODE", "GEN", "VERSION", "STATE", "CREATED"]);
    for view in &detail.deployments {
        let d = &view.deployment;
        table.row(vec![
            d.id.clone(),
            view.node.clone(),
            d.generation.to_string(),
            d.version.clone().unwrap_or_default(),
            d.state().to_string(),
            format!("{} UTC", output::utc(d.created_ms)),
        ]);
    }
    table.print(out, "no deployments yet")
}

/// Removes a project from every node, then its record and secrets.
pub async fn project_remove(ctx: &Context, name: &str, out: Out<'_>) -> Result<()> {
    let removed = ctx.client.remove_project(name).await?;
    if ctx.json {
        output::json(out, &removed)?;
    } else {
        writeln!(out, "project {name} removed")?;
        print_results(&removed.nodes, out)?;
    }
    check_results(&removed.nodes, &format!("removing {name}"))
}

/// Replaces and pins the project's config with the contents of `file`.
pub async fn project_config(ctx: &Context, name: &str, file: &Path, out: Out<'_>) -> Result<()> {
    let text = std::fs::read_to_string(file).map_err(|source| CliError::Input {
        what: file.display().to_string(),
        cause: source,
    })?;
    let detail = ctx
        .client
        .update_config(name, &text)
        .await
        .map_err(explain_config)?;
    if ctx.json {
        return output::json(out, &detail);
    }
    writeln!(
        out,
        "config of {name} replaced and pinned; the next deploy uses it"
    )?;
    Ok(())
}

/// Starts, stops or restarts a project on every node.
pub async fn project_control(
    ctx: &Context,
    name: &str,
    action: ControlAction,
    out: Out<'_>,
) -> Result<()> {
    let (results, verb) = match action {
        ControlAction::Start => (ctx.client.start(name).await?, "start"),
        ControlAction::Stop => (ctx.client.stop(name).await?, "stop"),
        ControlAction::Restart => (ctx.client.restart(name).await?, "restart"),
    };
    if ctx.json {
        output::json(out, &results)?;
    } else {
        print_results(&results, out)?;
    }
    check_results(&results, &format!("{verb} of {name}"))
}

/// One line per node: ok, or the error.
pub(crate) fn print_results(results: &[NodeResult], out: Out<'_>) -> Result<()> {
    for r in results {
        match &r.error {
            None if r.ok => writeln!(out, "  {}: ok", r.node)?,
            error => writeln!(
                out,
                "  {}: failed: {}",
                r.node,
                error.as_deref().unwrap_or("no reason given")
            )?,
        }
    }
    Ok(())
}

/// A failure when any node failed.
fn check_results(results: &[NodeResult], what: &str) -> Result<()> {
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.node.as_str())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(CliError::failed(format!(
        "{what} failed on {}; see the errors above and check those nodes",
        failed.join(", ")
    )))
}

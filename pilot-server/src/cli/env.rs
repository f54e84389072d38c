//! `pilot env set | list | unset`.

use std::io::Read;

use serde_json::json;

use super::Context;
use super::args::EnvCommand;
use super::error::{CliError, Result};
use super::output::{self, Out};

/// Runs one `pilot env` subcommand.
pub(crate) async fn run(ctx: &Context, command: EnvCommand, out: Out<'_>) -> Result<()> {
    match command {
        EnvCommand::Set {
            project,
            key,
            value,
            stdin,
            node,
        } => {
            let value = match (value, stdin) {
                (_, true) => read_stdin_value()?,
                (Some(value), false) => value,
                (None, false) => {
                    return Err(CliError::usage("give the value, or --stdin to read it"));
                }
            };
            env_set(ctx, &project, &key, &value, node.as_deref(), out).await
        }
        EnvCommand::List { project } => env_list(ctx, &project, out).await,
        EnvCommand::Unset { project, key, node } => {
            env_unset(ctx, &project, &key, node.as_deref(), out).await
        }
    }
}

/// All of standard input, without one trailing line ending.
fn read_stdin_value() -> Result<String> {
    let mut value = String::new();
    std::io::stdin()
        .read_to_string(&mut value)
        .map_err(|source| CliError::Input {
            what: "the value from standard input".to_string(),
            cause: source,
        })?;
    let trimmed = value
        .strip_suffix("\r\n")
        .or_else(|| value.strip_suffix('\n'))
        .unwrap_or(&value);
    Ok(trimmed.to_string())
}

/// Sets a secret of a project (or one node's override). The value is
/// never printed.
pub async fn env_set(
    ctx: &Context,
    project: &str,
    key: &str,
    value: &str,
    node: Option<&str>,
    out: Out<'_>,
) -> Result<()> {
    ctx.client.set_env(project, key, value, node).await?;
    if ctx.json {
        return output::json(
            out,
            &json!({ "project": project, "key": key, "node": node, "set": true }),
        );
    }
    match node {
        Some(node) => writeln!(
            out,
            "{key} set for {project} on node {node}; deploy to use it"
        )?,
        None => writeln!(out, "{key} set for {project}; deploy to use it")?,
    }
    Ok(())
}

/// Lists the names of a project's secrets, overrides and missing names.
pub async fn env_list(ctx: &Context, project: &str, out: Out<'_>) -> Result<()> {
    let names = ctx.client.env(project).await?;
    if ctx.json {
        return output::json(out, &names);
    }
    if names.project.is_empty() && names.nodes.is_empty() {
        writeln!(out, "no secrets set for {project}")?;
    }
    for key in &names.project {
        writeln!(out, "{key}")?;
    }
    for (node, keys) in &names.nodes {
        for key in keys {
            writeln!(out, "{key} (node {node})")?;
        }
    }
    if !names.missing.is_empty() {
        writeln!(
            out,
            "missing (the config uses them, nobody set them): {}",
            names.missing.join(", ")
        )?;
    }
    Ok(())
}

/// Deletes a secret of a project (or one node's override).
pub async fn env_unset(
    ctx: &Context,
    project: &str,
    key: &str,
    node: Option<&str>,
    out: Out<'_>,
) -> Result<()> {
    ctx.client.unset_env(project, key, node).await?;
    if ctx.json {
        return output::json(
            out,
            &json!({ "project": project, "key": key, "node": node, "set": false }),
        );
    }
    writeln!(out, "{key} removed from {project}")?;
    Ok(())
}

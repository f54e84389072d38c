//! `pilot status`: nodes and projects at a glance.

use serde_json::json;

use super::Context;
use super::error::Result;
use super::node::node_table;
use super::output::{self, Out};
use super::project::project_table;

/// Prints the server, its nodes and its projects.
pub async fn status(ctx: &Context, out: Out<'_>) -> Result<()> {
    let (nodes, projects) = tokio::try_join!(ctx.client.nodes(), ctx.client.projects())?;
    if ctx.json {
        return output::json(
            out,
            &json!({ "server": ctx.client.base_url(), "nodes": nodes, "projects": projects }),
        );
    }
    let online = nodes.iter().filter(|n| n.online).count();
    writeln!(
        out,
        "server {}: {online} of {} nodes online",
        ctx.client.base_url(),
        nodes.len()
    )?;
    writeln!(out)?;
    node_table(&nodes).print(out, "no nodes; add one with `pilot node add NAME`")?;
    writeln!(out)?;
    project_table(&projects).print(out, "no projects; create one with `pilot project create`")
}

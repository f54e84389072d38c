//! `pilot node add | list | show | revoke`.

use serde_json::json;

use super::Context;
use super::error::Result;
use super::output::{self, Out, Table};
use crate::api::types::NodeView;

/// Registers a node and prints its token and the command that starts its
/// agent. The token is shown this once.
pub async fn node_add(ctx: &Context, name: &str, out: Out<'_>) -> Result<()> {
    let enrolment = ctx.client.create_node(name).await?;
    if ctx.json {
        return output::json(
            out,
            &json!({
                "node": enrolment.node,
                "token": enrolment.token,
                "agent_command": enrolment.agent_command,
            }),
        );
    }
    writeln!(out, "node {} registered.", enrolment.node.name)?;
    writeln!(
        out,
        "token (shown once, keep it secret): {}",
        enrolment.token
    )?;
    writeln!(
        out,
        "on the node, save the token in /etc/pilot/{}.token (mode 0600), then start its agent with:\n  {}",
        enrolment.node.name, enrolment.agent_command
    )?;
    Ok(())
}

/// Lists nodes: name, online, last heartbeat, projects.
pub async fn node_list(ctx: &Context, out: Out<'_>) -> Result<()> {
    let nodes = ctx.client.nodes().await?;
    if ctx.json {
        return output::json(out, &nodes);
    }
    node_table(&nodes).print(out, "no nodes; add one with `pilot node add NAME`")
}

/// The table of nodes `pilot node list` and `pilot status` print.
pub(crate) fn node_table(nodes: &[NodeView]) -> Table {
    let now = output::now_ms();
    let mut table = Table::new(&["NODE", "STATUS", "LAST SEEN", "PROJECTS"]);
    for node in nodes {
        table.row(vec![
            node.name.clone(),
            if node.online { "online" } else { "offline" }.to_string(),
            node.last_seen_ms
                .map_or_else(|| "never".to_string(), |ms| output::ago(ms, now)),
            node.projects.join(", "),
        ]);
    }
    table
}

/// Shows one node: status, connection, machine and projects.
pub async fn node_show(ctx: &Context, name: &str, out: Out<'_>) -> Result<()> {
    let node = ctx.client.node(name).await?;
    if ctx.json {
        return output::json(out, &node);
    }
    let now = output::now_ms();
    writeln!(out, "node:        {}", node.name)?;
    writeln!(
        out,
        "status:      {}",
        if node.online { "online" } else { "offline" }
    )?;
    let seen = node
        .last_seen_ms
        .map_or_else(|| "never".to_string(), |ms| output::ago(ms, now));
    writeln!(out, "last seen:   {seen}")?;
    writeln!(out, "registered:  {} UTC", output::utc(node.created_ms))?;
    if let Some(connection) = &node.connection {
        writeln!(
            out,
            "connection:  {} (agent {}, {}), since {} UTC",
            connection.peer,
            connection.agent_version,
            if connection.tls { "tls" } else { "plain tcp" },
            output::utc(connection.connected_ms)
        )?;
    }
    let system = node
        .system_info
        .clone()
        .and_then(|v| serde_json::from_value::<pilot_metrics::SystemInfo>(v).ok());
    if let Some(info) = system {
        writeln!(
            out,
            "host:        {} ({})",
            info.hostname, info.architecture
        )?;
        writeln!(
            out,
            "os:          {} {}, kernel {}",
            info.os_name, info.os_version, info.kernel_version
        )?;
        writeln!(out, "cpu:         {} x {}", info.cpu_cores, info.cpu_model)?;
        writeln!(
            out,
            "memory:      {}",
            output::bytes(info.memory_total_bytes as f64)
        )?;
        for disk in &info.disks {
            writeln!(
                out,
                "disk:        {} on {} ({})",
                output::bytes(disk.size_bytes as f64),
                disk.mountpoint,
                disk.fstype
            )?;
        }
    }
    let projects = if node.projects.is_empty() {
        "none".to_string()
    } else {
        node.projects.join(", ")
    };
    writeln!(out, "projects:    {projects}")?;
    Ok(())
}

/// Revokes a node: its token stops working and its agent is disconnected.
pub async fn node_revoke(ctx: &Context, name: &str, out: Out<'_>) -> Result<()> {
    ctx.client.delete_node(name).await?;
    if ctx.json {
        return output::json(out, &json!({ "node": name, "revoked": true }));
    }
    writeln!(out, "node {name} revoked; its agent can no longer connect")?;
    Ok(())
}

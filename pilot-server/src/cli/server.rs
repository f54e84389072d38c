//! `pilot serve` and `pilot up`: run a server (and a local agent) until
//! Ctrl-C or SIGTERM, then shut down cleanly.

use serde_json::json;

use super::args::{GlobalArgs, ServeArgs, UpArgs};
use super::config::{ClientConfig, config_path};
use super::deploy::report;
use super::error::Result;
use super::output::{self, Out};
use super::progress::ProgressView;
use crate::server::{AgentTls, ServerOptions};
use crate::up::UpOptions;

/// Environment variable with the first admin's password (used when the
/// server creates the `admin` user; generated and printed once otherwise).
pub const ENV_ADMIN_PASSWORD: &str = "PILOT_ADMIN_PASSWORD";

/// The server options `pilot serve` runs with; `env` reads the environment.
pub fn serve_options(args: &ServeArgs, env: impl Fn(&str) -> Option<String>) -> ServerOptions {
    let mut options = ServerOptions::new(&args.data);
    options.http_listen = args.listen;
    options.agent_listen = args.agent_listen;
    options.agent_advertise = args.agent_advertise.clone();
    options.database_url = args.database.clone();
    options.public_url = args.public_url.clone();
    options.agent_tls = match (&args.tls_cert, &args.tls_key, args.no_tls) {
        (_, _, true) => AgentTls::Off,
        (Some(cert), Some(key), false) => AgentTls::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => AgentTls::SelfSigned,
    };
    options.admin_password = env(ENV_ADMIN_PASSWORD).filter(|p| !p.is_empty());
    options
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn serve(args: ServeArgs, out: Out<'_>) -> Result<()> {
    let options = serve_options(&args, |name| std::env::var(name).ok());
    let server = crate::server::start(options).await?;
    writeln!(out, "pilot server running")?;
    writeln!(out, "  api:    {}", server.url())?;
    writeln!(out, "  agents: {}", server.agent_addr())?;
    if let Some(fingerprint) = server.fingerprint() {
        writeln!(out, "  agent tls fingerprint: {fingerprint}")?;
    }
    if let Some(password) = server.initial_admin_password() {
        writeln!(out, "  admin password (shown once): {password}")?;
        writeln!(out, "log in with `pilot login --server {}`", server.url())?;
    }
    out.flush()?;
    pilot_core::daemon::shutdown_signal().await;
    writeln!(out, "shutting down")?;
    server.shutdown().await;
    Ok(())
}

/// Runs a server with a local agent, deploys APP_DIR when given, saves
/// the client config so later commands need no login, and runs until
/// Ctrl-C or SIGTERM.
pub async fn up(args: UpArgs, global: &GlobalArgs, out: Out<'_>) -> Result<()> {
    let mut options = UpOptions::new(args.app_dir.clone());
    options.server.data_dir = args.data.clone();
    options.server.http_listen = args.listen;
    options.server.agent_listen = args.agent_listen;
    options.runtime = args.runtime;
    options.server.admin_password = std::env::var(ENV_ADMIN_PASSWORD)
        .ok()
        .filter(|p| !p.is_empty());
    options.project = args.project.clone();
    let view = ProgressView::for_stderr();
    let shown = view.clone();
    let running = crate::up::up(options, move |event| shown.show(event)).await?;
    view.finish();

    let path = config_path(|name| std::env::var(name).ok())?;
    ClientConfig {
        server: running.server.url(),
        token: Some(running.admin_token.clone()),
    }
    .save(&path)?;

    let app = running.app.as_ref();
    let rollout = app.map(|a| a.rollout.clone());
    if global.json {
        output::json(
            out,
            &json!({
                "server": running.server.url(),
                "admin_password": running.server.initial_admin_password(),
                "project": app.map(|a| &a.project),
                "app_url": app.and_then(|a| a.url.as_ref()),
                "rollout": rollout,
                "toolchain": running.agent.toolchain(),
                "config": path,
            }),
        )?;
    } else {
        if let Some(rollout) = &rollout
            && let Err(e) = report(false, rollout, out)
        {
            writeln!(out, "{e}")?;
        }
        if let Some(url) = app.and_then(|a| a.url.as_ref()) {
            writeln!(out, "app:    {url}")?;
        }
        writeln!(out, "server: {}", running.server.url())?;
        writeln!(out, "runtime: {}", running.agent.toolchain())?;
        if let Some(password) = running.server.initial_admin_password() {
            writeln!(out, "admin password (shown once): {password}")?;
        }
        writeln!(
            out,
            "the pilot commands now use this server (saved in {}); Ctrl-C stops it",
            path.display()
        )?;
    }
    out.flush()?;
    pilot_core::daemon::shutdown_signal().await;
    writeln!(out, "shutting down")?;
    running.shutdown().await;
    Ok(())
}

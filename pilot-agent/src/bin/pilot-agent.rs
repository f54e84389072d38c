//! `pilot-agent`: connects this node to a Pilot server, runs its commands
//! and ships the node's metrics, until SIGINT or SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pilot_agent::startup::{choose_tls, read_token_file};
use pilot_agent::{AgentOptions, RuntimeKind, run};
use pilot_core::protocol::CertFingerprint;

/// The Pilot node agent.
#[derive(Debug, Parser)]
#[command(name = "pilot-agent", version)]
struct Cli {
    /// Where releases, logs and the agent's state live.
    #[arg(long)]
    data_dir: PathBuf,
    /// The server's agent port, host:port (e.g. pilot.example.com:55001).
    #[arg(long)]
    server: String,
    /// File holding the node token `pilot node add` printed.
    #[arg(long)]
    token_file: PathBuf,
    /// SHA-256 fingerprint of the server's certificate: the link uses TLS
    /// and trusts only that certificate. Without it, the fingerprint kept
    /// in DATA_DIR/agent/server-fingerprint is used, if any.
    #[arg(long, alias = "fingerprint", conflicts_with = "no_tls")]
    tls_fingerprint: Option<CertFingerprint>,
    /// Talk to a remote server in clear text (deploys carrying secrets are then refused).
    #[arg(long)]
    no_tls: bool,
    /// The node name to announce (the server's welcome decides; by default
    /// the name it gave last time, else the host name).
    #[arg(long)]
    name: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Address the apps' public ports listen on.
    #[arg(long, default_value = "0.0.0.0")]
    public_ip: IpAddr,
    /// Toolchains for builds and apps: `nix` (generated flakes), `host`
    /// (the host's own), or `auto` (Nix when `nix` is on PATH).
    #[arg(long, value_enum, default_value = "auto")]
    runtime: RuntimeKind,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    pilot_core::daemon::init_tracing("info");
    match agent(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn agent(cli: Cli) -> pilot_agent::Result<()> {
    let token = read_token_file(&cli.token_file)?;
    let tls = choose_tls(&cli.server, cli.tls_fingerprint, cli.no_tls, &cli.data_dir)?;
    let mut options = AgentOptions::new(cli.data_dir, cli.server, token);
    options.tls = tls;
    options.node_name = cli.name;
    options.metrics_listen = cli.metrics_listen;
    options.public_ip = cli.public_ip;
    options.runtime = cli.runtime;
    run(options, pilot_core::daemon::shutdown_signal()).await
}

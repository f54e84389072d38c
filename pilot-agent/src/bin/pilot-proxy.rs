//! `pilot-proxy`: Pilot's TCP proxy as its own long-lived process, and the
//! commands that drive it over its control socket.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use pilot_core::proxy::{ProxyClient, ProxyDaemon, ProxyOptions, workers_per_core};
use pilot_core::{Route, Router};

/// Pilot's TCP proxy: stable public ports in front of switching upstreams.
#[derive(Debug, Parser)]
#[command(name = "pilot-proxy", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the proxy daemon until SIGINT or SIGTERM.
    Serve {
        /// Control socket to create (mode 0600).
        #[arg(long)]
        socket: PathBuf,
        /// File the route table is saved to and restored from.
        #[arg(long)]
        state: PathBuf,
        /// How long a new connection retries a refusing upstream, in milliseconds.
        #[arg(long, default_value_t = 5000)]
        connect_retry_ms: u64,
        /// Size of each of a connection's two copy buffers, in bytes.
        #[arg(long, default_value_t = ProxyOptions::default().buffer_size)]
        buffer_size: usize,
        /// I/O threads that connections are spread over.
        #[arg(long, default_value_t = workers_per_core())]
        workers: usize,
    },
    /// Creates a route or points it at another upstream.
    Route {
        /// The daemon's control socket.
        #[arg(long)]
        socket: PathBuf,
        /// The project.
        #[arg(long)]
        project: String,
        /// Where clients connect, e.g. 0.0.0.0:8080.
        #[arg(long)]
        public: SocketAddr,
        /// Where new connections go, e.g. 127.0.0.1:41233.
        #[arg(long)]
        upstream: SocketAddr,
    },
    /// Waits for a project's connections to an upstream to end, cutting the
    /// rest after the timeout; prints the report as JSON.
    Drain {
        /// The daemon's control socket.
        #[arg(long)]
        socket: PathBuf,
        /// The project.
        #[arg(long)]
        project: String,
        /// The upstream being retired.
        #[arg(long)]
        upstream: SocketAddr,
        /// Seconds to wait before cutting (fractions allowed).
        #[arg(long)]
        timeout: f64,
    },
    /// Prints every route as JSON.
    Routes {
        /// The daemon's control socket.
        #[arg(long)]
        socket: PathBuf,
    },
    /// Removes a project's route and closes its public port.
    Remove {
        /// The daemon's control socket.
        #[arg(long)]
        socket: PathBuf,
        /// The project.
        #[arg(long)]
        project: String,
    },
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// The proxy or its daemon failed.
    #[error(transparent)]
    Core(#[from] pilot_core::Error),
    /// A result could not be printed as JSON.
    #[error("cannot print the result as JSON: {cause}")]
    Json {
        /// The encoder's error.
        cause: serde_json::Error,
    },
    /// The drain timeout is not a usable number of seconds.
    #[error("invalid --timeout {0}: give a non-negative number of seconds")]
    Timeout(f64),
}

impl From<serde_json::Error> for CliError {
    fn from(cause: serde_json::Error) -> Self {
        CliError::Json { cause }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve {
            socket,
            state,
            connect_retry_ms,
            buffer_size,
            workers,
        } => {
            let options = ProxyOptions {
                connect_retry: Duration::from_millis(connect_retry_ms),
                buffer_size,
                workers,
            };
            serve(socket, state, options).await
        }
        Command::Route {
            socket,
            project,
            public,
            upstream,
        } => {
            let route = Route {
                project,
                public,
                upstream,
            };
            ProxyClient::new(socket)
                .set_route(&route)
                .await
                .map_err(CliError::from)
        }
        Command::Drain {
            socket,
            project,
            upstream,
            timeout,
        } => drain(socket, &project, upstream, timeout).await,
        Command::Routes { socket } => routes(socket).await,
        Command::Remove { socket, project } => ProxyClient::new(socket)
            .remove_route(&project)
            .await
            .map_err(CliError::from),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(socket: PathBuf, state: PathBuf, options: ProxyOptions) -> Result<(), CliError> {
    pilot_core::daemon::init_tracing("info");
    ProxyDaemon::run_with_options(
        &socket,
        &state,
        options,
        pilot_core::daemon::shutdown_signal(),
    )
    .await?;
    Ok(())
}

async fn drain(
    socket: PathBuf,
    project: &str,
    upstream: SocketAddr,
    timeout: f64,
) -> Result<(), CliError> {
    let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| CliError::Timeout(timeout))?;
    let report = ProxyClient::new(socket)
        .drain(project, upstream, timeout)
        .await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

async fn routes(socket: PathBuf) -> Result<(), CliError> {
    let routes = ProxyClient::new(socket).routes().await?;
    println!("{}", serde_json::to_string_pretty(&routes)?);
    Ok(())
}

//! The command line of `pilot`, as clap derive types.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

/// Pilot: deploy apps to your own servers.
#[derive(Debug, Parser)]
#[command(name = "pilot", version, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// The server's URL (default: PILOT_SERVER, then the one `pilot login` saved).
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (API and agent listener) until Ctrl-C.
    Serve(ServeArgs),
    /// Run a server with a local agent, and deploy APP_DIR on it.
    Up(UpArgs),
    /// Log in and save the session for the other commands.
    Login(LoginArgs),
    /// Manage nodes (servers running an agent).
    #[command(subcommand)]
    Node(NodeCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Deploy a project and follow the rollout.
    Deploy(DeployArgs),
    /// Go back to an earlier generation of a project.
    Rollback(RollbackArgs),
    /// Show or follow a project's logs.
    Logs(LogsArgs),
    /// Manage a project's secrets (environment values).
    #[command(subcommand)]
    Env(EnvCommand),
    /// Show nodes and projects.
    Status,
    /// Show a node's metrics.
    Metrics(MetricsArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

/// `pilot serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where databases, keys and temporary files live.
    #[arg(long, value_name = "DIR", default_value = "pilot-data")]
    pub data: PathBuf,
    /// Address of the HTTP API.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Address agents connect to.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:55001")]
    pub agent_listen: SocketAddr,
    /// The address agents are told to connect to (HOST:PORT).
    #[arg(long, value_name = "HOST:PORT")]
    pub agent_advertise: Option<String>,
    /// A PostgreSQL URL (`postgres://...`); SQLite under --data when absent.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// The agent listener's TLS certificate chain (PEM).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "no_tls"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The agent listener's TLS private key (PEM).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_cert",
        conflicts_with = "no_tls"
    )]
    pub tls_key: Option<PathBuf>,
    /// Agents connect without TLS (only loopback agents receive secrets then).
    #[arg(long)]
    pub no_tls: bool,
    /// The server's public URL, for webhook URLs.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

/// `pilot up`.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// An app directory (with `config.vpspilot.json`) to deploy.
    #[arg(value_name = "APP_DIR")]
    pub app_dir: Option<PathBuf>,
    /// Where databases, keys, releases and logs live.
    #[arg(long, value_name = "DIR", default_value = "pilot-data")]
    pub data: PathBuf,
    /// Address of the HTTP API.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The project's name (default: from the directory name).
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// Where agents connect; the local agent does, and more nodes may
    /// (use `0.0.0.0:55001` to let other machines in).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:55001")]
    pub agent_listen: SocketAddr,
    /// Toolchains of the local node: `nix` (generated flakes), `host` (the
    /// host's own), or `auto` (Nix when `nix` is on PATH).
    #[arg(long, value_enum, default_value = "auto")]
    pub runtime: pilot_nix::RuntimeKind,
}

/// `pilot login`.
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// The user name.
    #[arg(long, short, value_name = "USER", default_value = "admin")]
    pub user: String,
    /// Read the password from standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `pilot node ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum NodeCommand {
    /// Register a node and print its token and agent command (shown once).
    Add {
        /// The node's name.
        name: String,
    },
    /// List nodes.
    List,
    /// Show one node.
    Show {
        /// The node's name.
        name: String,
    },
    /// Revoke a node: its token stops working and its agent is disconnected.
    Revoke {
        /// The node's name.
        name: String,
    },
}

/// `pilot project ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum ProjectCommand {
    /// Create a project from a git repository or a local directory.
    Create(ProjectCreateArgs),
    /// List projects.
    List,
    /// Show one project with its config and deployments.
    Show {
        /// The project's name.
        name: String,
    },
    /// Remove a project from every node, with its secrets.
    Remove {
        /// The project's name.
        name: String,
    },
    /// Replace and pin the project's config with a `config.vpspilot.json` file.
    Config {
        /// The project's name.
        name: String,
        /// The config file.
        file: PathBuf,
    },
    /// Start the project's current release on every node.
    Start {
        /// The project's name.
        name: String,
    },
    /// Stop the project on every node.
    Stop {
        /// The project's name.
        name: String,
    },
    /// Restart the project on every node.
    Restart {
        /// The project's name.
        name: String,
    },
}

/// `pilot project create`.
#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["git", "dir"]))]
pub struct ProjectCreateArgs {
    /// The project's name (lowercase letters, digits and `-`).
    pub name: String,
    /// A git repository URL the project deploys from.
    #[arg(long, value_name = "URL")]
    pub git: Option<String>,
    /// The branch to follow (default: the repository's default branch).
    #[arg(long, value_name = "BRANCH", conflicts_with = "dir")]
    pub branch: Option<String>,
    /// A local app directory; deploys upload it (`pilot deploy --dir`).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// A node to deploy to (repeat, or separate with commas).
    #[arg(
        long = "node",
        value_name = "NODE",
        required = true,
        value_delimiter = ','
    )]
    pub nodes: Vec<String>,
    /// The public port (default: the config's `port`, or one Pilot picks).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
}

/// `pilot deploy`.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// The project.
    pub project: String,
    /// What to check out: a branch, `tag:NAME`, `commit:HEX` or a commit id.
    #[arg(long = "ref", value_name = "REF", conflicts_with = "dir")]
    pub reference: Option<String>,
    /// Upload and deploy this app directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Deploy to these nodes first (repeat, or separate with commas).
    #[arg(long, value_name = "NODE", value_delimiter = ',')]
    pub canary: Vec<String>,
    /// How long the canaries must stay healthy before the rest follow.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, requires = "canary")]
    pub canary_watch: Duration,
    /// Print the rollout id and return without following it.
    #[arg(long)]
    pub no_wait: bool,
}

/// `pilot rollback`.
#[derive(Debug, Clone, Args)]
pub struct RollbackArgs {
    /// The project.
    pub project: String,
    /// The kept generation to go back to (default: the previous one).
    #[arg(long, value_name = "N")]
    pub generation: Option<u64>,
    /// Print the rollout id and return without following it.
    #[arg(long)]
    pub no_wait: bool,
}

/// `pilot logs`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The project.
    pub project: String,
    /// How many of the last lines per node.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 100)]
    pub lines: u32,
    /// Keep printing new lines until Ctrl-C.
    #[arg(short, long)]
    pub follow: bool,
}

/// `pilot env ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum EnvCommand {
    /// Set a secret (the value is stored encrypted and never shown again).
    Set {
        /// The project.
        project: String,
        /// The name, e.g. `DATABASE_URL`.
        key: String,
        /// The value (prefer --stdin: arguments end up in shell history).
        #[arg(required_unless_present = "stdin", conflicts_with = "stdin")]
        value: Option<String>,
        /// Read the value from standard input.
        #[arg(long)]
        stdin: bool,
        /// Set it for this node only, overriding the project-wide value.
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
    },
    /// List the names of a project's secrets (never the values).
    List {
        /// The project.
        project: String,
    },
    /// Delete a secret.
    Unset {
        /// The project.
        project: String,
        /// The name.
        key: String,
        /// Delete this node's override instead of the project-wide value.
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
    },
}

/// `pilot metrics`.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// The node.
    pub node: String,
    /// A metric to show over time (default: the latest value of every metric).
    #[arg(long, value_name = "METRIC")]
    pub metric: Option<String>,
    /// How far back, e.g. `30m`, `1h`, `7d`.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub since: Duration,
    /// Width of one point, e.g. `10s`, `1m`.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    pub step: Duration,
}

/// `pilot completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: Shell,
}

/// Parses `90s`, `5m`, `1h`, `7d` (or a bare number of seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; write e.g. 30s, 5m, 1h or 7d"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?}; use s, m, h, d or w"
            ));
        }
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

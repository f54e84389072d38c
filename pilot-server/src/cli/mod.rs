//! The `pilot` command line: clap definitions ([`Cli`]) and one short
//! function per subcommand, each a thin layer over [`crate::client`] (or
//! [`crate::server`] / [`crate::up`] for `serve` and `up`).
//!
//! Commands print to the writer they are given, as text or, with `--json`,
//! as JSON for scripts; errors are [`CliError`]s whose
//! [`exit_code`](CliError::exit_code) is 1, or 2 for usage errors.

mod args;
mod config;
mod deploy;
mod env;
mod error;
mod login;
mod logs;
mod metrics;
mod node;
pub mod output;
mod progress;
mod project;
mod server;
mod status;

use std::path::PathBuf;

use clap::CommandFactory;

pub use args::{
    Cli, Command, CompletionsArgs, DeployArgs, EnvCommand, GlobalArgs, LoginArgs, LogsArgs,
    MetricsArgs, NodeCommand, ProjectCommand, ProjectCreateArgs, RollbackArgs, ServeArgs, UpArgs,
    parse_duration,
};
pub use config::{
    ClientConfig, DEFAULT_SERVER, ENV_SERVER, ENV_TOKEN, Target, config_path, resolve,
};
pub use deploy::{deploy, rollback};
pub use env::{env_list, env_set, env_unset};
pub use error::{CliError, EXIT_FAILURE, EXIT_USAGE, Result};
pub use login::{login, read_password};
pub use logs::logs;
pub use metrics::metrics;
pub use node::{node_add, node_list, node_revoke, node_show};
use output::Out;
pub use progress::ProgressView;
pub use project::{
    project_config, project_control, project_create, project_list, project_remove, project_show,
};
pub use server::{ENV_ADMIN_PASSWORD, serve, serve_options, up};
pub use status::status;

use crate::client::Client;

/// What client commands work with: the client (server URL and token),
/// whether to print JSON, and where the client config file is.
#[derive(Debug, Clone)]
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Print JSON instead of text.
    pub json: bool,
    /// The client config file, `None` when it is not to be written.
    pub config_path: Option<PathBuf>,
}

impl Context {
    /// The context of a command run from a shell: the server and token from
    /// `--server`, `PILOT_SERVER`, `PILOT_TOKEN` and the config file.
    pub fn from_env(global: &GlobalArgs) -> Result<Self> {
        let env = |name: &str| std::env::var(name).ok();
        let path = config_path(env)?;
        let file = ClientConfig::load(&path)?;
        let target = resolve(global.server.as_deref(), env, file.as_ref());
        Context::new(&target, global.json, Some(path))
    }

    /// A context for `target`.
    pub fn new(target: &Target, json: bool, config_path: Option<PathBuf>) -> Result<Self> {
        let mut client = Client::new(&target.server)?;
        if let Some(token) = &target.token {
            client = client.with_token(token.clone());
        }
        Ok(Context {
            client,
            json,
            config_path,
        })
    }

    /// Saves the client's server and `token` to the config file (mode 0600).
    pub fn save_session(&self, token: &str) -> Result<()> {
        let Some(path) = &self.config_path else {
            return Ok(());
        };
        ClientConfig {
            server: self.client.base_url().to_string(),
            token: Some(token.to_string()),
        }
        .save(path)
    }
}

/// Runs a parsed command line, printing results to `out`.
pub async fn run(cli: Cli, out: Out<'_>) -> Result<()> {
    let global = cli.global;
    let ctx = || Context::from_env(&global);
    match cli.command {
        Command::Serve(args) => serve(args, out).await,
        Command::Up(args) => up(args, &global, out).await,
        Command::Completions(args) => completions(&args, out),
        Command::Login(args) => {
            let ctx = ctx()?;
            let password = read_password(&args)?;
            login(&ctx, &args.user, &password, out).await
        }
        Command::Node(NodeCommand::Add { name }) => node_add(&ctx()?, &name, out).await,
        Command::Node(NodeCommand::List) => node_list(&ctx()?, out).await,
        Command::Node(NodeCommand::Show { name }) => node_show(&ctx()?, &name, out).await,
        Command::Node(NodeCommand::Revoke { name }) => node_revoke(&ctx()?, &name, out).await,
        Command::Project(command) => project::run(&ctx()?, command, out).await,
        Command::Deploy(args) => deploy(&ctx()?, &args, out).await,
        Command::Rollback(args) => rollback(&ctx()?, &args, out).await,
        Command::Logs(args) => logs(&ctx()?, &args, out).await,
        Command::Env(command) => env::run(&ctx()?, command, out).await,
        Command::Status => status(&ctx()?, out).await,
        Command::Metrics(args) => metrics(&ctx()?, &args, out).await,
    }
}

pub use pilot_core::daemon::ENV_LOG;

/// Sends logs to standard error: `info` and up for `serve` and `up`,
/// warnings for client commands, or what `PILOT_LOG` says.
pub fn init_tracing(command: &Command) {
    let default = match command {
        Command::Serve(_) | Command::Up(_) => "info",
        _ => "warn",
    };
    pilot_core::daemon::init_tracing(default);
}

/// `pilot completions SHELL`: the completion script on `out`.
pub fn completions(args: &CompletionsArgs, out: Out<'_>) -> Result<()> {
    let mut command = Cli::command();
    let mut buffer = Vec::new();
    clap_complete::generate(args.shell, &mut command, "pilot", &mut buffer);
    out.write_all(&buffer)?;
    Ok(())
}

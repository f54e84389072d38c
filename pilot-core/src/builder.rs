//! The [`Builder`] trait: turning a fetched release into a runnable one, and
//! [`CommandsBuilder`], which runs the config's build and test commands.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;

use crate::command::{command_failed, run_shell};
use crate::config::AppConfig;
use crate::error::Result;
use crate::output::LineSink;
use crate::redact::Redactor;
use crate::runtime::Toolchain;

/// Everything a builder needs about one release.
pub struct BuildContext<'a> {
    /// The release directory (the fetched source).
    pub release_dir: &'a Path,
    /// The validated config of the release.
    pub config: &'a AppConfig,
    /// The toolchain the runtime prepared.
    pub toolchain: &'a Toolchain,
    /// The app environment with secrets resolved (added on top of the toolchain env).
    pub app_env: &'a BTreeMap<String, String>,
    /// Masks secret values in output and errors.
    pub redactor: &'a Redactor,
    /// Receives every output line.
    pub output: &'a dyn LineSink,
    /// The log file the output ends up in (named in errors).
    pub log_file: &'a Path,
}

impl BuildContext<'_> {
    /// The full environment commands run with: toolchain env, then app env.
    pub fn command_env(&self) -> BTreeMap<String, String> {
        let mut env = self.toolchain.env.clone();
        env.extend(self.app_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        env
    }
}

/// Turns a fetched release into a runnable one.
#[async_trait]
pub trait Builder: Send + Sync {
    /// Short name for logs, e.g. "commands" or "flake".
    fn name(&self) -> &'static str;

    /// Builds the release in place.
    async fn build(&self, ctx: &BuildContext<'_>) -> Result<()>;

    /// Runs the config's test command, if any.
    async fn test(&self, ctx: &BuildContext<'_>) -> Result<()>;
}

/// Runs `build.commands` one after another, and `test.command`, with the
/// runtime's toolchain.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommandsBuilder;

impl CommandsBuilder {
    async fn run(&self, phase: &'static str, line: &str, ctx: &BuildContext<'_>) -> Result<()> {
        ctx.output.line(
            crate::output::Stream::Stdout,
            &format!("$ {}", ctx.redactor.mask(line)),
        );
        let exit = run_shell(
            line,
            ctx.release_dir,
            &ctx.command_env(),
            ctx.redactor,
            ctx.output,
        )
        .await?;
        if exit.success {
            Ok(())
        } else {
            Err(command_failed(
                phase,
                line,
                &exit,
                ctx.redactor,
                ctx.log_file,
            ))
        }
    }
}

#[async_trait]
impl Builder for CommandsBuilder {
    fn name(&self) -> &'static str {
        "commands"
    }

    async fn build(&self, ctx: &BuildContext<'_>) -> Result<()> {
        for line in &ctx.config.build.commands {
            self.run("build", line, ctx).await?;
        }
        Ok(())
    }

    async fn test(&self, ctx: &BuildContext<'_>) -> Result<()> {
        if let Some(test) = &ctx.config.test {
            self.run("test", &test.command, ctx).await?;
        }
        Ok(())
    }
}

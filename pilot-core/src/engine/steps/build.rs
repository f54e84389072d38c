//! Build and Test: the toolchain and the app's own commands.

use super::super::release::{ReleaseFiles, ReleaseInfo};
use super::super::run::Run;
use super::super::state::StepKind;
use crate::builder::BuildContext;
use crate::error::{Error, Result};

impl Run<'_> {
    pub(in crate::engine) async fn build(&mut self) -> Result<()> {
        let dir = self.release_dir().ok_or_else(|| Error::CorruptState {
            path: self.engine.layout().releases_dir(self.project()),
            reason: "build ran before fetch".into(),
        })?;
        let config = self.config()?.clone();
        let parts = self.engine.parts.clone();
        let toolchain = parts.runtime.prepare(&dir, &config).await?;
        self.log.note(&format!(
            "toolchain ({}): {}",
            parts.runtime.name(),
            toolchain.description
        ));
        ReleaseFiles::new(&dir).write_info(&ReleaseInfo {
            runtime: parts.runtime.name().to_string(),
            toolchain_env: toolchain.env.clone(),
            toolchain: toolchain.description.clone(),
        })?;
        let ctx = BuildContext {
            release_dir: &dir,
            config: &config,
            toolchain: &toolchain,
            app_env: &self.app_env,
            redactor: &self.redactor,
            output: &self.log,
            log_file: self.log.path(),
        };
        parts.builder.build(&ctx).await?;
        self.toolchain = Some(toolchain);
        self.fault_point(StepKind::Build).await;
        Ok(())
    }

    pub(in crate::engine) async fn test(&mut self) -> Result<()> {
        let config = self.config()?.clone();
        if config.test.is_none() {
            self.log.note("no test command configured");
            return Ok(());
        }
        let dir = self.release_dir().unwrap_or_default();
        let toolchain = self.toolchain.clone().unwrap_or_default();
        let ctx = BuildContext {
            release_dir: &dir,
            config: &config,
            toolchain: &toolchain,
            app_env: &self.app_env,
            redactor: &self.redactor,
            output: &self.log,
            log_file: self.log.path(),
        };
        self.engine.parts.builder.test(&ctx).await?;
        self.fault_point(StepKind::Test).await;
        Ok(())
    }
}

//! Build and Test: the toolchain and the app's own commands.

use std::path::Path;

use super::super::execution::Execution;
use super::super::release::{ReleaseFiles, ReleaseInfo};
use super::super::state::StepKind;
use crate::builder::BuildContext;
use crate::config::AppConfig;
use crate::error::{Error, Result};
use crate::runtime::Toolchain;

impl Execution<'_> {
    pub(in crate::engine) async fn build(&mut self) -> Result<()> {
        let dir = self.release_dir().ok_or_else(|| Error::CorruptState {
            path: self.engine.layout().releases_dir(self.project()),
            reason: "build ran before fetch".into(),
        })?;
        let config = self.loaded_config()?.clone();
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
        parts
            .builder
            .build(&self.build_context(&dir, &config, &toolchain))
            .await?;
        self.toolchain = Some(toolchain);
        self.fault_point(StepKind::Build).await;
        Ok(())
    }

    pub(in crate::engine) async fn test(&mut self) -> Result<()> {
        let config = self.loaded_config()?.clone();
        if config.test.is_none() {
            self.log.note("no test command configured");
            return Ok(());
        }
        let dir = self.release_dir().unwrap_or_default();
        let toolchain = self.toolchain.clone().unwrap_or_default();
        self.engine
            .parts
            .builder
            .test(&self.build_context(&dir, &config, &toolchain))
            .await?;
        self.fault_point(StepKind::Test).await;
        Ok(())
    }

    fn build_context<'a>(
        &'a self,
        dir: &'a Path,
        config: &'a AppConfig,
        toolchain: &'a Toolchain,
    ) -> BuildContext<'a> {
        BuildContext {
            release_dir: dir,
            config,
            toolchain,
            app_env: &self.app_env,
            redactor: &self.redactor,
            output: &self.log,
            log_file: self.log.path(),
        }
    }
}

//! Fetch and Configure: the release directory, its config and its secrets.

use std::net::SocketAddr;

use super::super::execution::Execution;
use super::super::release::{ReleaseFiles, render_env};
use super::super::state::{DeploymentKind, StepKind};
use super::free_port;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{remove_dir_all_if_exists, write_json_atomic};
use crate::redact::Redactor;
use crate::source;

impl Execution<'_> {
    pub(in crate::engine) async fn fetch(&mut self) -> Result<()> {
        let DeploymentKind::Deploy { source, config } = &self.record.kind else {
            return Ok(());
        };
        let source = source.clone();
        let config = config.clone();
        let staging = self.staging_dir();
        remove_dir_all_if_exists(&staging)?;
        std::fs::create_dir_all(self.engine.layout().releases_dir(self.project())).ctx(
            "create directory",
            self.engine.layout().releases_dir(self.project()),
        )?;
        self.log.note(&format!("fetching {}", source.describe()));
        let fetched = source::fetch(&source, &staging, &self.engine.options.fetch_limits).await?;
        if let Some(config) = config {
            let path = staging.join(crate::config::CONFIG_FILE_NAME);
            write_json_atomic(&path, &config)?;
            self.log
                .note("using the config sent with the deploy request");
        }
        let dir = self.engine.layout().release_dir(
            self.project(),
            self.record.generation,
            &fetched.version,
        );
        std::fs::rename(&staging, &dir).ctx("move fetched release to", &dir)?;
        self.log.note(&format!(
            "fetched version {} ({} files, {} bytes)",
            fetched.version, fetched.files, fetched.bytes
        ));
        self.record.version = Some(fetched.version);
        self.record.commit = fetched.commit;
        self.fault_point(StepKind::Fetch).await;
        Ok(())
    }

    pub(in crate::engine) fn revert_fetch(&mut self) -> Result<()> {
        remove_dir_all_if_exists(&self.staging_dir())?;
        let releases = self.engine.layout().releases_dir(self.project());
        let prefix = format!("{}-", self.record.generation);
        let entries = match std::fs::read_dir(&releases) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io("list", releases, e)),
        };
        for entry in entries.filter_map(|e| e.ok()) {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                remove_dir_all_if_exists(&entry.path())?;
            }
        }
        Ok(())
    }

    pub(in crate::engine) async fn configure(&mut self) -> Result<()> {
        let dir = self.release_dir().ok_or_else(|| Error::CorruptState {
            path: self.engine.layout().releases_dir(self.project()),
            reason: "configure ran before fetch".into(),
        })?;
        let files = ReleaseFiles::new(&dir);
        let config = files.read_config()?;
        let parts = &self.engine.parts;
        let mut secrets = parts
            .secrets
            .resolve(self.project(), self.engine.options.node.as_deref())
            .await?;
        secrets.extend(self.request_secrets.clone());
        self.redactor = Redactor::new(secrets.values().map(|s| s.expose()));
        let app_env = render_env(self.project(), &config, &secrets)?;
        files.write_env(&app_env, &secrets)?;
        self.secret_values = secrets.values().map(|s| s.expose().to_string()).collect();
        self.app_env = app_env;
        self.record.strategy = config.deployment.strategy;
        let asked = self.record.public_port;
        let public_port = match asked.or(config.port).or(self.state.public_port) {
            Some(port) => port,
            None => free_port(SocketAddr::new(self.engine.options.public_ip, 0))?,
        };
        self.record.public_port = Some(public_port);
        self.log.note(&format!(
            "config ok: type {}, strategy {:?}, public port {public_port}, {} secrets resolved",
            config.app_type,
            config.deployment.strategy,
            self.secret_values.len()
        ));
        self.config = Some(config);
        self.fault_point(StepKind::Configure).await;
        Ok(())
    }
}

//! Start and HealthCheck: the release on its own port, until it answers.

use std::net::SocketAddr;

use super::super::execution::Execution;
use super::super::service_name;
use super::super::state::StepKind;
use super::{free_port, mask_error, running};
use crate::config::Strategy;
use crate::error::{Error, Result};
use crate::health::{HealthProbe, wait_healthy};
use crate::service::ServiceSpec;

impl Execution<'_> {
    pub(in crate::engine) async fn start(&mut self) -> Result<()> {
        if self.config.is_none() {
            self.load_release()?;
        }
        let services = self.engine.parts.services.clone();
        let name = service_name(self.project(), self.record.generation);
        if let Some(standby) = self.state.standby
            && standby.generation == self.record.generation
            && services.status(&name).await.is_ok_and(|s| s.is_running())
        {
            self.record.port = Some(standby.port);
            self.record.reused_standby = true;
            self.save()?;
            self.log.note(&format!(
                "reusing the running standby on port {}",
                standby.port
            ));
            return Ok(());
        }
        let port = match (self.record.strategy, self.record.previous) {
            (Strategy::InPlace, Some(previous)) => previous.port,
            _ => free_port(SocketAddr::new(self.engine.options.slot_ip, 0))?,
        };
        self.record.port = Some(port);
        self.save()?;
        if let (Strategy::InPlace, Some(previous)) = (self.record.strategy, self.record.previous) {
            self.log.note(&format!(
                "in-place: stopping generation {}",
                previous.generation
            ));
            services
                .remove(&service_name(self.project(), previous.generation))
                .await?;
        }
        let spec = self.service_spec(port)?;
        services.install(&spec).await?;
        services.start(&name).await?;
        self.log.note(&format!("started {name} on port {port}"));
        self.fault_point(StepKind::Start).await;
        Ok(())
    }

    pub(in crate::engine) async fn revert_start(&mut self) -> Result<()> {
        let services = self.engine.parts.services.clone();
        if !self.record.reused_standby {
            services
                .remove(&service_name(self.project(), self.record.generation))
                .await?;
        }
        if let (Strategy::InPlace, Some(previous)) = (self.record.strategy, self.record.previous) {
            let mut previous_run = self.sibling(previous.generation)?;
            let spec = previous_run.service_spec(previous.port)?;
            services.install(&spec).await?;
            services.start(&spec.name).await?;
        }
        Ok(())
    }

    /// A run over another kept generation of the same project, to rebuild its service.
    pub(in crate::engine) fn sibling(&self, generation: u64) -> Result<Execution<'_>> {
        let version = self
            .state
            .generation(generation)
            .map(|g| g.version.clone())
            .ok_or_else(|| Error::UnknownGeneration {
                project: self.project().to_string(),
                generation,
                kept: self.state.kept(),
            })?;
        let mut record = self.record.clone();
        record.generation = generation;
        record.version = Some(version);
        let mut run = Execution::detached(self.engine, record, self.state.clone())?;
        run.load_release()?;
        Ok(run)
    }

    /// The service of this run's generation, listening on `port`.
    pub(in crate::engine) fn service_spec(&mut self, port: u16) -> Result<ServiceSpec> {
        if self.config.is_none() || self.toolchain.is_none() {
            self.load_release()?;
        }
        let config = self.loaded_config()?;
        let dir = self.release_dir().unwrap_or_default();
        let mut env = self.toolchain.clone().unwrap_or_default().env;
        env.extend(self.app_env.clone());
        env.insert("PORT".into(), port.to_string());
        env.insert("PILOT_PROJECT".into(), self.project().to_string());
        env.insert(
            "PILOT_GENERATION".into(),
            self.record.generation.to_string(),
        );
        if let Some(version) = &self.record.version {
            env.insert("PILOT_VERSION".into(), version.clone());
        }
        Ok(ServiceSpec {
            name: service_name(self.project(), self.record.generation),
            command: config.start.command.clone(),
            cwd: dir,
            env,
            log_file: self
                .engine
                .layout()
                .service_log(self.project(), self.record.generation),
            restart: self.engine.options.restart.clone(),
            stop_timeout: self.engine.options.stop_timeout,
            redact: self.secret_values.clone(),
            memory_limit: config.resources.memory_bytes(),
            cpu_limit: config.resources.cpu,
        })
    }

    pub(in crate::engine) fn probe(&self) -> Result<HealthProbe> {
        let port = self.record.port.ok_or_else(|| Error::CorruptState {
            path: self.engine.layout().deployments_dir(self.project()),
            reason: "health check before the release had a port".into(),
        })?;
        Ok(HealthProbe::from_config(
            &self.loaded_config()?.deployment,
            SocketAddr::new(self.engine.options.slot_ip, port),
        ))
    }

    pub(in crate::engine) async fn health_check(&mut self) -> Result<()> {
        let probe = self.probe()?;
        let start_period = self.loaded_config()?.deployment.start_period();
        let services = self.engine.parts.services.clone();
        let name = service_name(self.project(), self.record.generation);
        let options = &self.engine.options;
        wait_healthy(
            &probe,
            start_period,
            (options.health_poll_min, options.health_poll_max),
            || running(services.as_ref(), &name),
        )
        .await
        .map_err(|e| mask_error(e, &self.redactor))?;
        self.log.note(&format!("healthy: {}", probe.target()));
        self.fault_point(StepKind::HealthCheck).await;
        Ok(())
    }
}

//! What each step does, and how it is undone.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use super::project::{Generation, Slot};
use super::release::{ReleaseFiles, ReleaseInfo, render_env};
use super::run::Run;
use super::service_name;
use super::state::{DeploymentKind, StepKind, now_ms};
use crate::builder::BuildContext;
use crate::config::{AppConfig, Strategy};
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{remove_dir_all_if_exists, switch_symlink};
use crate::health::{FailureCounter, HealthProbe, wait_healthy};
use crate::redact::Redactor;
use crate::router::Route;
use crate::service::ServiceSpec;
use crate::source;

impl Run<'_> {
    /// Executes one step.
    pub(super) async fn execute_step(&mut self, step: StepKind) -> Result<()> {
        match step {
            StepKind::Fetch => self.fetch().await,
            StepKind::Configure => self.configure().await,
            StepKind::Build => self.build().await,
            StepKind::Test => self.test().await,
            StepKind::Start => self.start().await,
            StepKind::HealthCheck => self.health_check().await,
            StepKind::Switch => self.switch().await,
            StepKind::Watch => self.watch().await,
            StepKind::Retire => self.retire().await,
        }
    }

    /// Undoes one step. Every revert is idempotent: recovery may run it on a
    /// step whose effects are only partly there.
    pub(super) async fn revert_step(&mut self, step: StepKind) -> Result<()> {
        match step {
            StepKind::Fetch => self.revert_fetch(),
            StepKind::Start => self.revert_start().await,
            StepKind::Switch => self.revert_switch().await,
            // Configure, Build and Test only write inside the release
            // directory, which reverting Fetch removes; HealthCheck and Watch
            // change nothing; Retire runs after the point of no return.
            StepKind::Configure
            | StepKind::Build
            | StepKind::Test
            | StepKind::HealthCheck
            | StepKind::Watch
            | StepKind::Retire => Ok(()),
        }
    }

    fn config(&self) -> Result<&AppConfig> {
        self.loaded_config()
    }

    fn staging_dir(&self) -> std::path::PathBuf {
        self.engine
            .layout()
            .releases_dir(self.project())
            .join(format!(".{}.fetching", self.record.generation))
    }

    // ---- Fetch -------------------------------------------------------------

    async fn fetch(&mut self) -> Result<()> {
        let DeploymentKind::Deploy { source } = &self.record.kind else {
            return Ok(());
        };
        let source = source.clone();
        let staging = self.staging_dir();
        remove_dir_all_if_exists(&staging)?;
        std::fs::create_dir_all(self.engine.layout().releases_dir(self.project())).ctx(
            "create directory",
            self.engine.layout().releases_dir(self.project()),
        )?;
        self.log.note(&format!("fetching {}", source.describe()));
        let fetched = source::fetch(&source, &staging, &self.engine.options.fetch_limits).await?;
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

    fn revert_fetch(&mut self) -> Result<()> {
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

    // ---- Configure ---------------------------------------------------------

    async fn configure(&mut self) -> Result<()> {
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
        let public_port = match config.port.or(self.state.public_port) {
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

    // ---- Build and Test ------------------------------------------------------

    async fn build(&mut self) -> Result<()> {
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

    async fn test(&mut self) -> Result<()> {
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

    // ---- Start ---------------------------------------------------------------

    async fn start(&mut self) -> Result<()> {
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

    async fn revert_start(&mut self) -> Result<()> {
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
    fn sibling(&self, generation: u64) -> Result<Run<'_>> {
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
        let mut run = Run::detached(self.engine, record, self.state.clone())?;
        run.load_release()?;
        Ok(run)
    }

    /// The service of this run's generation, listening on `port`.
    pub(super) fn service_spec(&mut self, port: u16) -> Result<ServiceSpec> {
        if self.config.is_none() || self.toolchain.is_none() {
            self.load_release()?;
        }
        let config = self.config()?;
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

    // ---- HealthCheck -----------------------------------------------------------

    fn probe(&self) -> Result<HealthProbe> {
        let port = self.record.port.ok_or_else(|| Error::CorruptState {
            path: self.engine.layout().deployments_dir(self.project()),
            reason: "health check before the release had a port".into(),
        })?;
        Ok(HealthProbe::from_config(
            &self.config()?.deployment,
            SocketAddr::new(self.engine.options.slot_ip, port),
        ))
    }

    async fn health_check(&mut self) -> Result<()> {
        let probe = self.probe()?;
        let start_period = self.config()?.deployment.start_period();
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

    // ---- Switch ----------------------------------------------------------------

    async fn switch(&mut self) -> Result<()> {
        let port = self.record.port.ok_or_else(|| Error::CorruptState {
            path: self.engine.layout().deployments_dir(self.project()),
            reason: "switch before the release had a port".into(),
        })?;
        let public_port = self
            .record
            .public_port
            .or(self.state.public_port)
            .ok_or_else(|| Error::CorruptState {
                path: self.engine.layout().state_file(self.project()),
                reason: "the project has no public port".into(),
            })?;
        self.route_to(public_port, port).await?;
        let generation = self.record.generation;
        self.emit(super::events::DeployEvent::Switched {
            deployment: self.record.id.clone(),
            project: self.project().to_string(),
            generation,
        });
        let version = self.record.version.clone().unwrap_or_default();
        point_current(self, generation, &version)?;
        if matches!(self.record.kind, DeploymentKind::Deploy { .. })
            && self.state.generation(generation).is_none()
        {
            self.state.generations.push(Generation {
                number: generation,
                version,
                commit: self.record.commit.clone(),
                deployment: self.record.id.clone(),
                created_ms: now_ms(),
            });
        }
        self.state.public_port = Some(public_port);
        self.state.live = Some(Slot { generation, port });
        if self
            .state
            .standby
            .is_some_and(|s| s.generation == generation)
        {
            self.state.standby = None;
        }
        self.state.save(self.engine.layout())?;
        self.log.note(&format!(
            "traffic on port {public_port} now goes to generation {generation}"
        ));
        self.fault_point(StepKind::Switch).await;
        Ok(())
    }

    async fn route_to(&self, public_port: u16, port: u16) -> Result<()> {
        let options = &self.engine.options;
        self.engine
            .parts
            .router
            .set_route(&Route {
                project: self.project().to_string(),
                public: SocketAddr::new(options.public_ip, public_port),
                upstream: SocketAddr::new(options.slot_ip, port),
            })
            .await
    }

    async fn revert_switch(&mut self) -> Result<()> {
        let generation = self.record.generation;
        match self.record.previous {
            Some(previous) => {
                if let Some(public_port) = self.state.public_port.or(self.record.public_port) {
                    self.route_to(public_port, previous.port).await?;
                    self.emit(super::events::DeployEvent::Switched {
                        deployment: self.record.id.clone(),
                        project: self.project().to_string(),
                        generation: previous.generation,
                    });
                }
                if let Some(g) = self.state.generation(previous.generation).cloned() {
                    point_current(self, g.number, &g.version)?;
                }
                self.state.live = Some(previous);
                if self.state.standby == Some(previous) {
                    self.state.standby = None;
                }
            }
            None => {
                self.engine
                    .parts
                    .router
                    .remove_route(self.project())
                    .await?;
                let link = self.engine.layout().current_link(self.project());
                match std::fs::remove_file(&link) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("remove", link, e)),
                }
                self.state.live = None;
            }
        }
        if matches!(self.record.kind, DeploymentKind::Deploy { .. }) {
            self.state.generations.retain(|g| g.number != generation);
        }
        self.state.save(self.engine.layout())
    }

    // ---- Watch -----------------------------------------------------------------

    async fn watch(&mut self) -> Result<()> {
        let deployment = self.config()?.deployment.clone();
        let window = deployment.watch();
        if window.is_zero() {
            return Ok(());
        }
        self.log
            .note(&format!("watching for {:.1} s", window.as_secs_f64()));
        let probe = self.probe()?;
        let services = self.engine.parts.services.clone();
        let name = service_name(self.project(), self.record.generation);
        let deadline = Instant::now() + window;
        let interval = deployment.interval().max(Duration::from_millis(10));
        let tick = interval.min(Duration::from_millis(250));
        let mut next_check = Instant::now() + interval;
        let mut counter = FailureCounter::new(deployment.healthcheck_retries);
        let restarts_before = services.status(&name).await.map(|s| s.restarts).unwrap_or(0);
        while Instant::now() < deadline {
            tokio::time::sleep(tick.min(deadline.saturating_duration_since(Instant::now()))).await;
            let exited = match services.status(&name).await {
                Ok(status) if status.restarts > restarts_before => Some(format!(
                    "the process exited ({}) and was restarted",
                    status.last_exit.unwrap_or_else(|| "no exit recorded".into())
                )),
                _ => running(services.as_ref(), &name).await.err(),
            };
            if let Some(exited) = exited {
                return Err(Error::Unhealthy {
                    target: probe.target(),
                    reason: self.redactor.mask(&exited).into_owned(),
                });
            }
            if Instant::now() >= next_check {
                next_check = Instant::now() + interval;
                if let Some(verdict) = counter.record(probe.check().await) {
                    return Err(Error::Unhealthy {
                        target: probe.target(),
                        reason: self.redactor.mask(&verdict).into_owned(),
                    });
                }
            }
        }
        self.fault_point(StepKind::Watch).await;
        Ok(())
    }

    // ---- Retire ----------------------------------------------------------------

    pub(super) async fn retire(&mut self) -> Result<()> {
        if self.config.is_none() {
            self.load_release()?;
        }
        let deployment = self.config()?.deployment.clone();
        let services = self.engine.parts.services.clone();
        let generation = self.record.generation;
        if let Some(previous) = self.record.previous.filter(|p| p.generation != generation) {
            let previous_name = service_name(self.project(), previous.generation);
            if self.record.port != Some(previous.port) {
                let upstream = SocketAddr::new(self.engine.options.slot_ip, previous.port);
                let report = self
                    .engine
                    .parts
                    .router
                    .drain(self.project(), upstream, deployment.drain())
                    .await?;
                self.log.note(&format!(
                    "drained generation {}: {} connections finished, {} cut",
                    previous.generation, report.finished, report.cut
                ));
            }
            if deployment.warm_standby && self.record.strategy == Strategy::BlueGreen {
                if let Some(old) = self
                    .state
                    .standby
                    .filter(|s| s.generation != previous.generation)
                {
                    services
                        .remove(&service_name(self.project(), old.generation))
                        .await?;
                }
                self.state.standby = Some(previous);
                self.log.note(&format!(
                    "generation {} kept running as standby",
                    previous.generation
                ));
            } else {
                services.remove(&previous_name).await?;
                if self
                    .state
                    .standby
                    .is_some_and(|s| s.generation == previous.generation)
                {
                    self.state.standby = None;
                }
            }
        }
        if !deployment.warm_standby
            && let Some(old) = self.state.standby.take()
        {
            services
                .remove(&service_name(self.project(), old.generation))
                .await?;
        }
        self.fault_point(StepKind::Retire).await;
        self.prune(deployment.keep_generations.max(1) as usize)
            .await?;
        self.state.save(self.engine.layout())
    }

    /// Drops the oldest generations beyond `keep` (never the live or standby
    /// one) and any release directory that is not a kept generation.
    async fn prune(&mut self, keep: usize) -> Result<()> {
        let live = self.state.live.map(|s| s.generation);
        let standby = self.state.standby.map(|s| s.generation);
        while self.state.generations.len() > keep {
            let Some(index) = self
                .state
                .generations
                .iter()
                .position(|g| Some(g.number) != live && Some(g.number) != standby)
            else {
                break;
            };
            let old = self.state.generations.remove(index);
            self.engine
                .parts
                .services
                .remove(&service_name(self.project(), old.number))
                .await?;
            self.log.note(&format!("pruned generation {}", old.number));
        }
        remove_unkept_releases(self.engine.layout(), &self.state)
    }
}

/// Removes release directories (and leftovers) that are not kept generations.
pub(super) fn remove_unkept_releases(
    layout: &crate::layout::NodeLayout,
    state: &super::project::ProjectState,
) -> Result<()> {
    let releases = layout.releases_dir(&state.project);
    let entries = match std::fs::read_dir(&releases) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("list", releases, e)),
    };
    let kept: Vec<String> = state.generations.iter().map(Generation::dir_name).collect();
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !kept.contains(&name) {
            remove_dir_all_if_exists(&entry.path())?;
        }
    }
    Ok(())
}

/// Points `current` at a generation's release directory.
fn point_current(run: &Run<'_>, generation: u64, version: &str) -> Result<()> {
    let link = run.engine.layout().current_link(run.project());
    let target = Path::new("releases").join(format!("{generation}-{version}"));
    switch_symlink(&link, &target)
}

/// `Ok` while the service runs; otherwise why not.
pub(super) async fn running(
    services: &dyn crate::service::ServiceManager,
    name: &str,
) -> std::result::Result<(), String> {
    match services.status(name).await {
        Ok(status) if status.is_running() => Ok(()),
        Ok(status) => Err(format!(
            "the process is not running ({})",
            status
                .last_exit
                .unwrap_or_else(|| "no exit recorded".into())
        )),
        Err(e) => Err(format!("the service is gone: {e}")),
    }
}

/// A free TCP port on `addr`'s IP.
pub(super) fn free_port(addr: SocketAddr) -> Result<u16> {
    TcpListener::bind(addr)
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::io("find a free port on", addr.to_string(), e))
}

fn mask_error(error: Error, redactor: &Redactor) -> Error {
    match error {
        Error::Unhealthy { target, reason } => Error::Unhealthy {
            target,
            reason: redactor.mask(&reason).into_owned(),
        },
        other => other,
    }
}

//! Driving one deployment: executing its plan step by step, journaling
//! after every change, and reverting in reverse order on failure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use super::deploylog::DeployLog;
use super::events::{DeployEvent, DeployEventKind};
use super::lock::ProjectLock;
use super::project::ProjectState;
use super::release::ReleaseFiles;
use super::state::{DeployState, Deployment, DeploymentKind, StepKind, StepStatus};
use super::{Engine, NewRelease};
use crate::config::{AppConfig, Strategy};
use crate::error::{Error, Result};
use crate::fsutil::write_json_atomic;
use crate::redact::Redactor;
use crate::runtime::Toolchain;
use crate::secrets::SecretValue;
use crate::time::now_ms;

/// The plan of a deployment of a new release: every step.
pub(super) const DEPLOY_PLAN: [StepKind; 9] = StepKind::ALL;

/// The plan of a rollback to a kept generation: no fetch, no build.
pub(super) const ROLLBACK_PLAN: [StepKind; 5] = [
    StepKind::Start,
    StepKind::HealthCheck,
    StepKind::Switch,
    StepKind::Watch,
    StepKind::Retire,
];

/// Deploys a new release (see [`Engine::deploy`]).
pub(super) async fn deploy(engine: &Engine, request: NewRelease) -> Result<Deployment> {
    let layout = engine.layout();
    let _lock = ProjectLock::acquire(layout, &request.project, "deploy")?;
    let mut state = ProjectState::load(layout, &request.project)?;
    let generation = state.next_generation.max(1);
    state.next_generation = generation + 1;
    state.save(layout)?;
    let record = Deployment::new(
        &request.project,
        DeploymentKind::Deploy {
            source: request.source,
            config: request.config.map(Box::new),
        },
        Strategy::BlueGreen,
        generation,
        state.live,
        &DEPLOY_PLAN,
    );
    let mut record = record;
    record.public_port = request.public_port;
    Execution::new(engine, record, state, request.secrets)?
        .execute()
        .await
}

/// Rolls back to a kept generation (see [`Engine::rollback`]).
pub(super) async fn rollback(
    engine: &Engine,
    project: &str,
    to: Option<u64>,
) -> Result<Deployment> {
    let layout = engine.layout();
    let _lock = ProjectLock::acquire(layout, project, "rollback")?;
    if !ProjectState::exists(layout, project) {
        return Err(Error::UnknownProject {
            project: project.to_string(),
        });
    }
    let state = ProjectState::load(layout, project)?;
    let target = to.or_else(|| state.previous_generation());
    let generation = match target.and_then(|n| state.generation(n)) {
        Some(g) => g.clone(),
        None => {
            return Err(Error::UnknownGeneration {
                project: project.to_string(),
                generation: target.unwrap_or(0),
                kept: state.kept(),
            });
        }
    };
    let mut record = Deployment::new(
        project,
        DeploymentKind::Rollback {
            to: generation.number,
        },
        Strategy::BlueGreen,
        generation.number,
        state.live,
        &ROLLBACK_PLAN,
    );
    record.version = Some(generation.version.clone());
    record.commit = generation.commit.clone();
    record.public_port = state.public_port;
    Execution::new(engine, record, state, BTreeMap::new())?
        .execute()
        .await
}

/// One deployment in progress, with what its steps learned so far.
pub(super) struct Execution<'e> {
    pub(super) engine: &'e Engine,
    pub(super) record: Deployment,
    pub(super) state: ProjectState,
    pub(super) log: DeployLog,
    pub(super) redactor: Redactor,
    pub(super) request_secrets: BTreeMap<String, SecretValue>,
    pub(super) config: Option<AppConfig>,
    pub(super) toolchain: Option<Toolchain>,
    pub(super) app_env: BTreeMap<String, String>,
    pub(super) secret_values: Vec<String>,
}

impl<'e> Execution<'e> {
    /// Starts a run and writes its first journal entry.
    pub(super) fn new(
        engine: &'e Engine,
        record: Deployment,
        state: ProjectState,
        request_secrets: BTreeMap<String, SecretValue>,
    ) -> Result<Self> {
        let layout = engine.layout();
        let log = DeployLog::open(
            &layout.deploy_log(&record.project, &record.id),
            engine.parts.events.clone(),
            &record.id,
            &record.project,
        )?;
        let run = Execution {
            engine,
            record,
            state,
            log,
            redactor: Redactor::new(request_secrets.values().map(|s| s.expose())),
            request_secrets,
            config: None,
            toolchain: None,
            app_env: BTreeMap::new(),
            secret_values: Vec::new(),
        };
        run.save()?;
        Ok(run)
    }

    /// A run that keeps no journal and logs nothing: used to rebuild the
    /// service of a kept generation outside any deployment.
    pub(super) fn detached(
        engine: &'e Engine,
        record: Deployment,
        state: ProjectState,
    ) -> Result<Self> {
        Ok(Execution {
            engine,
            record,
            state,
            log: DeployLog::discard(),
            redactor: Redactor::none(),
            request_secrets: BTreeMap::new(),
            config: None,
            toolchain: None,
            app_env: BTreeMap::new(),
            secret_values: Vec::new(),
        })
    }

    /// The config loaded by Configure or [`Execution::load_release`].
    pub(super) fn loaded_config(&self) -> Result<&AppConfig> {
        self.config.as_ref().ok_or_else(|| Error::CorruptState {
            path: self.engine.layout().deployments_dir(&self.record.project),
            reason: "the release's config was not loaded before it was needed".into(),
        })
    }

    /// Picks up a journal left by an engine that stopped (recovery).
    pub(super) fn resume(engine: &'e Engine, record: Deployment) -> Result<Self> {
        let state = ProjectState::load(engine.layout(), &record.project)?;
        let mut run = Execution::new(engine, record, state, BTreeMap::new())?;
        if let Some(dir) = run.release_dir()
            && dir.exists()
        {
            // Best effort: a release interrupted before Configure has no env yet.
            let _ = run.load_release();
        }
        Ok(run)
    }

    /// The project.
    pub(super) fn project(&self) -> &str {
        &self.record.project
    }

    /// Writes the journal.
    pub(super) fn save(&self) -> Result<()> {
        let path = self
            .engine
            .layout()
            .deployments_dir(&self.record.project)
            .join(format!("{}.json", self.record.id));
        write_json_atomic(&path, &self.record)
    }

    /// The release directory of this deployment's generation, once its version is known.
    pub(super) fn release_dir(&self) -> Option<PathBuf> {
        self.record.version.as_ref().map(|v| {
            self.engine
                .layout()
                .release_dir(&self.record.project, self.record.generation, v)
        })
    }

    /// Loads config, toolchain, env and secrets from the release directory
    /// (for rollbacks and recovery, where no earlier step produced them).
    pub(super) fn load_release(&mut self) -> Result<()> {
        let dir = self.release_dir().ok_or_else(|| Error::CorruptState {
            path: self.engine.layout().releases_dir(self.project()),
            reason: format!(
                "generation {} has no release directory",
                self.record.generation
            ),
        })?;
        let files = ReleaseFiles::new(&dir);
        let config = files.read_config()?;
        let info = files.read_info()?;
        let (env, secrets) = files.read_env()?;
        self.redactor = Redactor::new(&secrets);
        self.secret_values = secrets;
        self.app_env = env;
        self.toolchain = Some(info.toolchain());
        self.record.strategy = config.deployment.strategy;
        self.config = Some(config);
        Ok(())
    }

    /// Runs every step; on failure reverts and ends failed or rolled back.
    pub(super) async fn execute(mut self) -> Result<Deployment> {
        self.record.transition(DeployState::Running)?;
        self.save()?;
        let plan: Vec<StepKind> = self.record.steps.iter().map(|s| s.step).collect();
        for step in plan {
            if let Err(error) = self.run_step(step).await {
                let reason = self.redactor.mask(&error.to_string()).into_owned();
                return self.fail(reason).await;
            }
        }
        self.finish(DeployState::Succeeded, None)
    }

    /// Runs one step with its journal entries and events.
    pub(super) async fn run_step(&mut self, step: StepKind) -> Result<()> {
        let started = Instant::now();
        {
            let record = self.record.step_mut(step);
            record.status = StepStatus::Running;
            record.started_ms = Some(now_ms());
        }
        self.save()?;
        self.emit(DeployEvent {
            deployment: self.record.id.clone(),
            project: self.record.project.clone(),
            kind: DeployEventKind::StepStarted { step },
        });
        let span = tracing::info_span!("step", project = %self.record.project, deployment = %self.record.id, step = %step);
        let result = tracing::Instrument::instrument(self.execute_step(step), span).await;
        let record = self.record.step_mut(step);
        record.finished_ms = Some(now_ms());
        match &result {
            Ok(()) => record.status = StepStatus::Done,
            Err(error) => {
                record.status = StepStatus::Failed;
                record.error = Some(self.redactor.mask(&error.to_string()).into_owned());
            }
        }
        self.save()?;
        match &result {
            Ok(()) => self.emit(DeployEvent {
                deployment: self.record.id.clone(),
                project: self.record.project.clone(),
                kind: DeployEventKind::StepFinished {
                    step,
                    duration_ms: started.elapsed().as_millis() as u64,
                },
            }),
            Err(error) => {
                let error = self.redactor.mask(&error.to_string()).into_owned();
                self.log.note(&format!("{step} failed: {error}"));
                self.emit(DeployEvent {
                    deployment: self.record.id.clone(),
                    project: self.record.project.clone(),
                    kind: DeployEventKind::StepFailed { step, error },
                });
            }
        }
        result
    }

    /// Reverts every started step, latest first, and ends the deployment.
    pub(super) async fn fail(mut self, reason: String) -> Result<Deployment> {
        self.record.transition(DeployState::Reverting)?;
        self.save()?;
        self.finish_revert(reason).await
    }

    /// Reverts every started step of a deployment already marked reverting,
    /// and ends it failed (or rolled back, when traffic had moved to it).
    pub(super) async fn finish_revert(mut self, reason: String) -> Result<Deployment> {
        let switched = self
            .record
            .step(StepKind::Switch)
            .is_some_and(|s| s.status == StepStatus::Done);
        let errors = self.revert_all().await;
        let reason = if errors.is_empty() {
            reason
        } else {
            format!("{reason}; reverting also failed: {}", errors.join("; "))
        };
        let end = if switched {
            DeployState::RolledBack
        } else {
            DeployState::Failed
        };
        self.finish(end, Some(reason))
    }

    async fn revert_all(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        for step in self.record.started_steps_reversed() {
            let result = self.revert_step(step).await;
            let record = self.record.step_mut(step);
            match result {
                Ok(()) => record.status = StepStatus::Reverted,
                Err(error) => {
                    let text = self.redactor.mask(&error.to_string()).into_owned();
                    record.status = StepStatus::RevertFailed;
                    record.error = Some(text.clone());
                    errors.push(format!("{step}: {text}"));
                }
            }
            if let Err(error) = self.save() {
                errors.push(format!("journal: {error}"));
            }
            self.emit(DeployEvent {
                deployment: self.record.id.clone(),
                project: self.record.project.clone(),
                kind: DeployEventKind::StepReverted { step },
            });
        }
        errors
    }

    /// Ends the deployment in `state`.
    pub(super) fn finish(
        mut self,
        state: DeployState,
        reason: Option<String>,
    ) -> Result<Deployment> {
        self.record.transition(state)?;
        self.record.reason = reason.clone();
        self.save()?;
        match &reason {
            Some(reason) => self.log.note(&format!("deployment {state}: {reason}")),
            None => self.log.note(&format!("deployment {state}")),
        }
        tracing::info!(project = %self.record.project, deployment = %self.record.id, %state, "deployment ended");
        self.emit(DeployEvent {
            deployment: self.record.id.clone(),
            project: self.record.project.clone(),
            kind: DeployEventKind::Finished { state, reason },
        });
        Ok(self.record)
    }

    pub(super) fn emit(&self, event: DeployEvent) {
        self.engine.parts.events.emit(&event);
    }

    /// Test hook: stops here forever when configured to (see `EngineOptions::pause_in`).
    #[allow(unused_variables)]
    pub(super) async fn fault_point(&self, step: StepKind) {
        #[cfg(feature = "test-util")]
        if let Some((pause, marker)) = &self.engine.options.pause_in
            && *pause == step
        {
            let _ = std::fs::write(marker, step.as_str());
            std::future::pending::<()>().await;
        }
    }
}

//! Start-up recovery: finish or revert deployments that an engine crash
//! interrupted, make sure every live release runs and receives traffic, and
//! remove what a crash left behind.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::Engine;
use super::execution::Execution;
use super::lock::ProjectLock;
use super::project::ProjectState;
use super::service_name;
use super::state::{DeployState, StepKind, StepStatus};
use super::steps::{free_port, remove_unkept_releases, running};
use crate::error::{Error, Result};
use crate::health::{HealthProbe, wait_healthy};
use crate::router::Route;

/// What recovery did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryReport {
    /// Deployments that were reverted and marked failed.
    pub reverted: Vec<String>,
    /// Deployments whose remaining steps were completed (they had passed their watch window).
    pub completed: Vec<String>,
    /// Projects whose live release had to be started again.
    pub restarted: Vec<String>,
    /// Services that belonged to no live or standby release and were removed.
    pub orphans_removed: Vec<String>,
    /// Problems that recovery could not fix (the project keeps its last state).
    pub problems: Vec<String>,
}

pub(super) async fn recover(engine: &Engine) -> Result<RecoveryReport> {
    let mut report = RecoveryReport::default();
    let mut wanted = BTreeSet::new();
    for project in engine.layout().projects()? {
        let _lock = match ProjectLock::acquire(engine.layout(), &project, "recovery") {
            Ok(lock) => lock,
            Err(e) => {
                report.problems.push(e.to_string());
                continue;
            }
        };
        let records = match engine.deployments(&project) {
            Ok(records) => records,
            Err(e) => {
                report.problems.push(format!("{project}: {e}"));
                continue;
            }
        };
        for record in records {
            if record.state().is_final() {
                continue;
            }
            let id = record.id.clone();
            let watched = record
                .step(StepKind::Watch)
                .is_some_and(|s| s.status == StepStatus::Done);
            let interrupted = record
                .steps
                .iter()
                .find(|s| s.status == StepStatus::Running)
                .map(|s| s.step.to_string())
                .unwrap_or_else(|| "between steps".into());
            let mut run = Execution::resume(engine, record)?;
            if watched && run.record.state() == DeployState::Running {
                match run.run_step(StepKind::Retire).await {
                    Ok(()) => {
                        run.finish(DeployState::Succeeded, None)?;
                        report.completed.push(id);
                        continue;
                    }
                    Err(e) => report
                        .problems
                        .push(format!("{project}: finishing {id}: {e}")),
                }
            }
            let reason =
                format!("the engine stopped during {interrupted}; the release was reverted");
            // A crash during a revert runs the whole (idempotent) revert again.
            if run.record.state() == DeployState::Reverting {
                run.finish_revert(reason).await?;
            } else {
                run.fail(reason).await?;
            }
            report.reverted.push(id);
        }
        let state = ProjectState::load(engine.layout(), &project)?;
        if state.live.is_some() {
            match ensure_live(engine, &project).await {
                Ok(true) => report.restarted.push(project.clone()),
                Ok(false) => {}
                Err(e) => report.problems.push(format!("{project}: {e}")),
            }
        }
        let state = ProjectState::load(engine.layout(), &project)?;
        for slot in state.live.iter().chain(state.standby.iter()) {
            wanted.insert(service_name(&project, slot.generation));
        }
        remove_unkept_releases(engine.layout(), &state)?;
        remove_temp_files(engine, &project);
    }
    let services = engine.parts.services.clone();
    for status in services.list().await? {
        if !wanted.contains(&status.name) {
            services.remove(&status.name).await?;
            report.orphans_removed.push(status.name);
        }
    }
    tracing::info!(?report, "recovery finished");
    Ok(report)
}

/// Makes sure the live release of `project` runs, answers its health check,
/// receives traffic, and that `current` points at it. Returns whether it had
/// to be started.
pub(super) async fn ensure_live(engine: &Engine, project: &str) -> Result<bool> {
    let mut state = ProjectState::load(engine.layout(), project)?;
    let Some(mut live) = state.live else {
        return Ok(false);
    };
    let generation =
        state
            .generation(live.generation)
            .cloned()
            .ok_or_else(|| Error::UnknownGeneration {
                project: project.to_string(),
                generation: live.generation,
                kept: state.kept(),
            })?;
    let services = engine.parts.services.clone();
    let name = service_name(project, live.generation);
    let mut started = false;
    let mut record = super::state::Deployment::new(
        project,
        super::state::DeploymentKind::Rollback {
            to: live.generation,
        },
        crate::config::Strategy::BlueGreen,
        live.generation,
        None,
        &[],
    );
    record.version = Some(generation.version.clone());
    let mut run = Execution::detached(engine, record, state.clone())?;
    run.load_release()?;
    if running(services.as_ref(), &name).await.is_err() {
        let slot_ip = engine.options.slot_ip;
        if std::net::TcpListener::bind(SocketAddr::new(slot_ip, live.port)).is_err() {
            live.port = free_port(SocketAddr::new(slot_ip, 0))?;
        }
        let spec = run.service_spec(live.port)?;
        services.install(&spec).await?;
        services.start(&name).await?;
        let config = run.loaded_config()?.clone();
        let probe =
            HealthProbe::from_config(&config.deployment, SocketAddr::new(slot_ip, live.port));
        wait_healthy(
            &probe,
            config.deployment.start_period(),
            (
                engine.options.health_poll_min,
                engine.options.health_poll_max,
            ),
            || running(services.as_ref(), &name),
        )
        .await?;
        started = true;
    }
    if let Some(public_port) = state.public_port {
        engine
            .parts
            .router
            .set_route(&Route {
                project: project.to_string(),
                public: SocketAddr::new(engine.options.public_ip, public_port),
                upstream: SocketAddr::new(engine.options.slot_ip, live.port),
            })
            .await?;
    }
    crate::fsutil::switch_symlink(
        &engine.layout().current_link(project),
        &std::path::Path::new("releases").join(generation.release_name()),
    )?;
    if let Some(standby) = state.standby
        && running(
            services.as_ref(),
            &service_name(project, standby.generation),
        )
        .await
        .is_err()
    {
        state.standby = None;
    }
    state.live = Some(live);
    state.save(engine.layout())?;
    Ok(started)
}

/// Removes temp files an interrupted atomic write may have left.
fn remove_temp_files(engine: &Engine, project: &str) {
    let dirs = [
        engine.layout().project_dir(project),
        engine.layout().deployments_dir(project),
    ];
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            if entry.file_name().to_string_lossy().contains(".tmp-") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

//! What each step does, and how it is undone: one file per group of steps.

mod build;
mod fetch;
mod retire;
mod start;
mod switch;
mod watch;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use super::execution::Execution;
use super::project::{Generation, ProjectState};
use super::state::StepKind;
use crate::error::{Error, Result};
use crate::fsutil::{remove_dir_all_if_exists, switch_symlink};
use crate::layout::{NodeLayout, ReleaseName};
use crate::redact::Redactor;

impl Execution<'_> {
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

    fn staging_dir(&self) -> std::path::PathBuf {
        self.engine
            .layout()
            .releases_dir(self.project())
            .join(format!(".{}.fetching", self.record.generation))
    }
}

/// Removes release directories (and leftovers) that are not kept generations.
pub(in crate::engine) fn remove_unkept_releases(
    layout: &NodeLayout,
    state: &ProjectState,
) -> Result<()> {
    let releases = layout.releases_dir(&state.project);
    let entries = match std::fs::read_dir(&releases) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("list", releases, e)),
    };
    let kept: Vec<ReleaseName> = state
        .generations
        .iter()
        .map(Generation::release_name)
        .collect();
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !kept.iter().any(|release| release.as_str() == name) {
            remove_dir_all_if_exists(&entry.path())?;
        }
    }
    Ok(())
}

/// Points `current` at a generation's release directory.
pub(super) fn point_current(run: &Execution<'_>, generation: u64, version: &str) -> Result<()> {
    let link = run.engine.layout().current_link(run.project());
    let target = Path::new("releases").join(ReleaseName::new(generation, version));
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
pub(in crate::engine) fn free_port(addr: SocketAddr) -> Result<u16> {
    TcpListener::bind(addr)
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::io("find a free port on", addr.to_string(), e))
}

pub(super) fn mask_error(error: Error, redactor: &Redactor) -> Error {
    match error {
        Error::Unhealthy { target, reason } => Error::Unhealthy {
            target,
            reason: redactor.mask(&reason).into_owned(),
        },
        other => other,
    }
}

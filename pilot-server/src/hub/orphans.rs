//! Updates of commands no one waits for any more: an agent finishing a
//! deploy it started before the server restarted (or before its link
//! dropped) still reports the journal, and the history keeps it.

use pilot_core::engine::{DeployState, Deployment};
use pilot_store::records::ProjectStatus;

use super::Hub;

impl Hub {
    /// Records the journal of a deployment whose command has no waiting
    /// run, and settles the project's status when it was left `deploying`.
    pub(super) async fn record_orphan_journal(&self, node: &str, deployment: &Deployment) {
        if let Err(e) = self.store.save_deployment(node, deployment).await {
            tracing::warn!(node, deployment = %deployment.id, error = %e, "cannot save a late deployment journal");
            return;
        }
        tracing::info!(node, deployment = %deployment.id, state = ?deployment.state(), "recorded a deployment that finished after its command was lost");
        let state = deployment.state();
        if !state.is_final() {
            return;
        }
        let project = match self.store.project(&deployment.project).await {
            Ok(Some(project)) => project,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(project = %deployment.project, error = %e, "cannot read project");
                return;
            }
        };
        if project.status != ProjectStatus::Deploying {
            return;
        }
        let status = match (state, &deployment.previous) {
            (DeployState::Succeeded, _) | (_, Some(_)) => ProjectStatus::Running,
            _ => ProjectStatus::Failed,
        };
        if let Err(e) = self.store.set_project_status(&project.name, status).await {
            tracing::warn!(project = %project.name, error = %e, "cannot record project status");
        }
    }
}

//! Deploys, rollbacks, rollouts and deployment records.

use std::time::Duration;

use pilot_core::Deployment;
use pilot_core::source::GitRef;
use pilot_store::records::DeploymentRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::deploy::{
    CanaryPlan, NodeResult, NodeRollout, NodeRolloutState, Rollout, RolloutKind, RolloutStatus,
};

/// `POST /api/v1/projects/{name}/deploy` (admin): deploy a git project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeployRequest {
    /// What to check out (default: the project's branch).
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRefRequest>,
    /// Deploy to these nodes first and watch them before the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryRequest>,
}

/// A git revision: `{"type": "branch", "name": "main"}`, `{"type": "tag",
/// "name": "v1"}`, `{"type": "commit", "name": "<7 to 40 hex>"}` or
/// `{"type": "default"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "name", rename_all = "lowercase")]
pub enum GitRefRequest {
    /// The remote's default branch.
    Default,
    /// The tip of a branch.
    Branch(String),
    /// A tag.
    Tag(String),
    /// A commit id.
    Commit(String),
}

impl From<GitRefRequest> for GitRef {
    fn from(r: GitRefRequest) -> Self {
        match r {
            GitRefRequest::Default => GitRef::Default,
            GitRefRequest::Branch(b) => GitRef::Branch(b),
            GitRefRequest::Tag(t) => GitRef::Tag(t),
            GitRefRequest::Commit(c) => GitRef::Commit(c),
        }
    }
}

/// A canary rollout: these nodes first, then the rest once they stayed
/// healthy for `watch_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CanaryRequest {
    /// The canary nodes (some of the project's nodes).
    pub nodes: Vec<String>,
    /// Seconds the canaries must stay connected and serving.
    #[serde(default)]
    pub watch_secs: u64,
}

impl From<CanaryRequest> for CanaryPlan {
    fn from(c: CanaryRequest) -> Self {
        CanaryPlan {
            nodes: c.nodes,
            watch: Duration::from_secs(c.watch_secs),
        }
    }
}

/// `POST /api/v1/projects/{name}/rollback` (admin).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RollbackRequest {
    /// The kept generation to go back to (default: the previous one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
}

/// Deploy or rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RolloutKindView {
    /// A new release.
    Deploy,
    /// Back to a kept generation.
    Rollback,
}

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStatusView {
    /// Nodes are still working.
    Running,
    /// Every node ended serving the new release.
    Succeeded,
    /// At least one node did not.
    Failed,
}

/// Where one node of a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRolloutStateView {
    /// Not started (waiting for the canaries).
    Pending,
    /// The command is running on the node.
    Running,
    /// The node serves the new release.
    Succeeded,
    /// The node's deploy failed; it kept its previous release.
    Failed,
    /// Rolled back because the rollout failed.
    RolledBack,
    /// Not deployed because the canaries failed.
    Skipped,
}

/// A deploy or rollback of a project across its nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RolloutView {
    /// Id (`GET /api/v1/rollouts/{id}`).
    pub id: String,
    /// The project.
    pub project: String,
    /// Deploy or rollback.
    pub kind: RolloutKindView,
    /// Overall status.
    pub status: RolloutStatusView,
    /// Why it failed, if it did.
    pub reason: Option<String>,
    /// Every node, canaries first.
    pub nodes: Vec<NodeRolloutView>,
    /// The canary nodes, if any.
    pub canary: Vec<String>,
    /// Who asked.
    pub requested_by: String,
    /// Unix ms of the start.
    pub started_ms: i64,
    /// Unix ms of the end.
    pub finished_ms: Option<i64>,
}

/// One node's part of a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeRolloutView {
    /// The node.
    pub node: String,
    /// Where it stands.
    pub state: NodeRolloutStateView,
    /// The deployment id on the node (`GET /api/v1/deployments/{id}`), once known.
    pub deployment: Option<String>,
    /// The generation now serving there, once known.
    pub generation: Option<u64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl From<Rollout> for RolloutView {
    fn from(r: Rollout) -> Self {
        RolloutView {
            id: r.id,
            project: r.project,
            kind: match r.kind {
                RolloutKind::Deploy => RolloutKindView::Deploy,
                RolloutKind::Rollback => RolloutKindView::Rollback,
            },
            status: match r.status {
                RolloutStatus::Running => RolloutStatusView::Running,
                RolloutStatus::Succeeded => RolloutStatusView::Succeeded,
                RolloutStatus::Failed => RolloutStatusView::Failed,
            },
            reason: r.reason,
            nodes: r.nodes.into_iter().map(NodeRolloutView::from).collect(),
            canary: r.canary,
            requested_by: r.requested_by,
            started_ms: r.started_ms,
            finished_ms: r.finished_ms,
        }
    }
}

impl From<NodeRollout> for NodeRolloutView {
    fn from(n: NodeRollout) -> Self {
        NodeRolloutView {
            node: n.node,
            state: match n.state {
                NodeRolloutState::Pending => NodeRolloutStateView::Pending,
                NodeRolloutState::Running => NodeRolloutStateView::Running,
                NodeRolloutState::Succeeded => NodeRolloutStateView::Succeeded,
                NodeRolloutState::Failed => NodeRolloutStateView::Failed,
                NodeRolloutState::RolledBack => NodeRolloutStateView::RolledBack,
                NodeRolloutState::Skipped => NodeRolloutStateView::Skipped,
            },
            deployment: n.deployment,
            generation: n.generation,
            error: n.error,
        }
    }
}

/// The result of start, stop, restart or remove on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeResultView {
    /// The node.
    pub node: String,
    /// Whether it did what was asked.
    pub ok: bool,
    /// Why not, if not.
    pub error: Option<String>,
}

impl From<NodeResult> for NodeResultView {
    fn from(r: NodeResult) -> Self {
        NodeResultView {
            node: r.node,
            ok: r.ok,
            error: r.error,
        }
    }
}

/// One deployment on one node: the engine's journal with every step, its
/// timings, state, reason, version and generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentView {
    /// The node it ran on.
    pub node: String,
    /// The journal (`id`, `project`, `kind`, `generation`, `version`,
    /// `commit`, `state`, `steps[]` with `started_ms`/`finished_ms`,
    /// `created_ms`, `finished_ms`, `reason`).
    #[schema(value_type = Object)]
    pub deployment: Deployment,
}

impl From<DeploymentRecord> for DeploymentView {
    fn from(r: DeploymentRecord) -> Self {
        DeploymentView {
            node: r.node,
            deployment: r.deployment,
        }
    }
}

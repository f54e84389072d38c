//! Deploys, rollbacks, rollouts and deployment records.

use std::time::Duration;

use pilot_core::source::GitRef;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::deploy::CanaryPlan;
pub use crate::deploy::{
    NodeResult, NodeRollout, NodeRolloutState, Rollout, RolloutKind, RolloutStatus,
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

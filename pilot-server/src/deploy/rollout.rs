//! What a rollout is and how far it got: [`Rollout`], one entry per node.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Deploy to a named subset of a project's nodes first, watch them, then
/// the rest; on failure the canaries are rolled back and the rest skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryPlan {
    /// The nodes that go first (each must be one of the project's nodes).
    pub nodes: Vec<String>,
    /// How long the canaries must stay connected and serving after their
    /// deploy (which already includes the engine's own watch window) before
    /// the rest follow.
    #[serde(with = "millis")]
    pub watch: Duration,
}

/// A request to deploy a project to its nodes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeployOrder {
    /// The project.
    pub project: String,
    /// For git projects: what to check out (default: the project's branch).
    pub reference: Option<pilot_core::source::GitRef>,
    /// An uploaded `.zip` / `.tar.gz` of the app (required for upload
    /// projects; for git projects it replaces the repository this once).
    pub archive: Option<Vec<u8>>,
    /// Canary rollout, if wanted.
    pub canary: Option<CanaryPlan>,
    /// Who asked (user name, "webhook", ...), for the record.
    pub requested_by: String,
}

/// Deploy or rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RolloutKind {
    /// A new release.
    Deploy,
    /// Back to a kept generation.
    Rollback,
}

/// Where a rollout stands overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStatus {
    /// Nodes are still working.
    Running,
    /// Every node ended serving the new release.
    Succeeded,
    /// At least one node did not; see the nodes' errors.
    Failed,
}

/// Where one node of a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRolloutState {
    /// Not started (waiting for the canaries).
    Pending,
    /// The command is running on the node.
    Running,
    /// The node serves the new release.
    Succeeded,
    /// The node's deploy failed; it kept or went back to its previous release.
    Failed,
    /// The node served the new release and was rolled back because the rollout failed.
    RolledBack,
    /// Not deployed because the canaries failed.
    Skipped,
}

impl NodeRolloutState {
    /// Whether the node is done with this rollout.
    pub fn is_final(self) -> bool {
        !matches!(self, NodeRolloutState::Pending | NodeRolloutState::Running)
    }
}

/// One node's part of a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeRollout {
    /// The node.
    pub node: String,
    /// Where it stands.
    pub state: NodeRolloutState,
    /// The engine's deployment id on the node (`GET
    /// /api/v1/deployments/{id}`), once known.
    pub deployment: Option<String>,
    /// The generation now serving there, once known.
    pub generation: Option<u64>,
    /// Why it failed, if it did (secrets masked by the agent).
    pub error: Option<String>,
}

/// A deploy or rollback of one project across its nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rollout {
    /// Unique, time-sortable id (`GET /api/v1/rollouts/{id}`).
    pub id: String,
    /// The project.
    pub project: String,
    /// Deploy or rollback.
    pub kind: RolloutKind,
    /// Overall status.
    pub status: RolloutStatus,
    /// Why it failed, if it did.
    pub reason: Option<String>,
    /// Every node, canaries first.
    pub nodes: Vec<NodeRollout>,
    /// The canary nodes, if any.
    pub canary: Vec<String>,
    /// Who asked.
    pub requested_by: String,
    /// Unix ms of the start.
    pub started_ms: i64,
    /// Unix ms of the end.
    pub finished_ms: Option<i64>,
}

impl Rollout {
    /// The entry of `node`.
    pub fn node_mut(&mut self, node: &str) -> Option<&mut NodeRollout> {
        self.nodes.iter_mut().find(|n| n.node == node)
    }

    /// Whether the rollout has ended.
    pub fn is_finished(&self) -> bool {
        self.status != RolloutStatus::Running
    }
}

/// The result of a command (start, stop, restart, remove) on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeResult {
    /// The node.
    pub node: String,
    /// Whether it did what was asked.
    pub ok: bool,
    /// Why not, if not.
    pub error: Option<String>,
}

impl NodeResult {
    /// A success on `node`.
    pub fn ok(node: &str) -> Self {
        NodeResult {
            node: node.to_string(),
            ok: true,
            error: None,
        }
    }

    /// A failure on `node`.
    pub fn failed(node: &str, error: impl Into<String>) -> Self {
        NodeResult {
            node: node.to_string(),
            ok: false,
            error: Some(error.into()),
        }
    }
}

/// Start, stop or restart a project's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    /// Start the current release.
    Start,
    /// Stop every process.
    Stop,
    /// Restart the current release.
    Restart,
}

/// Durations as whole milliseconds in JSON.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

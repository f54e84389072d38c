//! Nodes: enrolment, listing, connection details.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/nodes` (admin): registers a node and returns its token once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateNodeRequest {
    /// Node name: 1 to 64 letters, digits, `.`, `_` or `-`.
    pub name: String,
}

/// A node's token and how to start its agent. The token is shown this once;
/// only its hash is kept.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeEnrolment {
    /// The node.
    pub node: NodeView,
    /// The node token (`pilot_nt_...`).
    pub token: String,
    /// A command line that starts the agent on the node with this token.
    pub agent_command: String,
}

impl std::fmt::Debug for NodeEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeEnrolment")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// A registered node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeView {
    /// Name.
    pub name: String,
    /// Whether its agent is connected now.
    pub online: bool,
    /// Unix ms of its last heartbeat, if any.
    pub last_seen_ms: Option<i64>,
    /// Unix ms of registration.
    pub created_ms: i64,
    /// What the agent reported about the machine (OS, CPUs, memory, disks).
    #[schema(value_type = Option<Object>)]
    pub system_info: Option<serde_json::Value>,
    /// The live connection, when connected.
    pub connection: Option<NodeConnection>,
    /// Projects assigned to the node.
    pub projects: Vec<String>,
}

/// Details of a node's live connection, as the agent listener knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeConnection {
    /// The agent's address as seen by the server.
    pub peer: String,
    /// Unix ms when the connection was accepted.
    pub connected_ms: i64,
    /// The agent's version.
    pub agent_version: String,
    /// Whether the link is encrypted with TLS.
    pub tls: bool,
}

//! Log lines of a project's services.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /api/v1/projects/{name}/logs`: the last lines of every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogsResponse {
    /// The project.
    pub project: String,
    /// One entry per node of the project.
    pub nodes: Vec<NodeLogs>,
}

/// The log lines one node returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeLogs {
    /// The node.
    pub node: String,
    /// Lines, oldest first, secrets masked.
    pub lines: Vec<String>,
    /// Why the node returned no or partial logs, if so.
    pub error: Option<String>,
}

/// One message of `GET /api/v1/projects/{name}/logs/ws`: new lines of a
/// node, or the end of its stream (`done` with the reason in `error`, if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogBatch {
    /// The node.
    pub node: String,
    /// Lines, oldest first, secrets masked.
    pub lines: Vec<String>,
    /// Whether this node's stream ended.
    #[serde(default)]
    pub done: bool,
    /// Why it ended, when not by request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

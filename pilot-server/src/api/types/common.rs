//! Bodies shared by every route: errors and health.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every error response: `{ "error": { "code", "message", "details"? } }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The content of an error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `unauthorized`, `invalid_config`.
    pub code: String,
    /// What is wrong and what to do, for people.
    pub message: String,
    /// Structured details, e.g. every problem of an invalid config
    /// (`[{ "path", "message", "hint", "line", "column" }]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// `GET /health`: the server answers and its database is reachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthResponse {
    /// `ok`.
    pub status: String,
    /// The server's version.
    pub version: String,
}

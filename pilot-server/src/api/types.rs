//! Request and response bodies of the REST API and the WebSocket, shared
//! with the typed client ([`crate::client`]).
//!
//! Every type is `Serialize + Deserialize` and documented in the OpenAPI
//! document (`GET /api/v1/openapi.json`). Times are Unix milliseconds.
//! No response type has a field for a secret value: secrets are written,
//! listed by name and deleted, never read back.

mod auth;
mod common;
mod env;
mod logs;
mod metrics;
mod nodes;
mod projects;
mod rollouts;
mod ws;

pub use auth::{
    CreateUserRequest, LoginRequest, PasswordChangeRequest, ResetPasswordRequest, SessionView,
    SetRoleRequest, UserView, VerifyResponse,
};
pub use common::{ErrorBody, ErrorDetail, HealthResponse};
pub use env::{SecretNames, SetSecretRequest};
pub use logs::{LogBatch, LogsResponse, NodeLogs};
pub use metrics::{
    LatestMetric, MetricAggregation, MetricsQuery, MetricsQueryResponse, NodeProcesses, SeriesView,
};
pub use nodes::{CreateNodeRequest, NodeConnection, NodeEnrolment, NodeView};
pub use projects::{
    CreateProjectRequest, CreatedProject, GitSourceRequest, ProjectDetail, ProjectSourceView,
    ProjectSummary, RemovedProject, UploadProjectQuery, WebhookInfo, WebhookOutcome, WebhookStatus,
};
pub use rollouts::{
    CanaryRequest, DeployRequest, GitRefRequest, NodeResult, NodeRollout, NodeRolloutState,
    RollbackRequest, Rollout, RolloutKind, RolloutStatus,
};
pub use ws::{Subscription, Topic, WsNotice};

/// Records the API sends as the store keeps them.
pub use pilot_store::records::{DeploymentRecord, ProjectStatus, Role};
/// A point of a metrics series, as the store answers it.
pub use pilot_store::timeseries::Point;

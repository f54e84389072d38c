//! The OpenAPI document of the API, served at `GET /api/v1/openapi.json`.
//!
//! Routes are registered through `utoipa_axum`, so every route the server
//! answers is in the document by construction.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::state::AppState;

/// The document's fixed parts: info, tags and the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pilot",
        description = "Pilot's REST API: users, nodes, projects, deploys, secrets, logs and metrics. \
                       Send the token from POST /api/v1/auth/login as `Authorization: Bearer <token>`. \
                       Errors are `{\"error\": {\"code\", \"message\", \"details\"?}}`."
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Sessions"),
        (name = "users", description = "User accounts (admin)"),
        (name = "nodes", description = "Servers running the agent"),
        (name = "projects", description = "Apps and where they run"),
        (name = "deploys", description = "Deploys, rollbacks, start/stop/restart, history"),
        (name = "env", description = "Project secrets (names only are ever returned)"),
        (name = "logs", description = "Service logs"),
        (name = "metrics", description = "Metrics and system information"),
        (name = "live", description = "WebSockets: live events and log follow"),
        (name = "webhooks", description = "Push webhooks from git hosts"),
        (name = "status", description = "Status page, health, Prometheus metrics"),
    )
)]
pub(crate) struct ApiDoc;

/// Adds the `bearer` security scheme the routes refer to.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_string());
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document as JSON, shared with the route serving it.
#[derive(Debug, Clone)]
pub(crate) struct DocumentJson(pub(crate) Arc<String>);

/// The route serving the document.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "status",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object))
)]
async fn openapi_json(Extension(document): Extension<DocumentJson>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.0.as_str().to_string(),
    )
}

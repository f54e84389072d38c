//! The HTTP face of the server: the REST API under `/api/v1`, its
//! WebSockets, the GitHub push webhook, the OpenAPI document, the health
//! check and Prometheus metrics, and beside them the dashboard's pages
//! (`crate::web`, not part of the OpenAPI document).
//!
//! [`router`] builds an `axum::Router` from an [`AppState`]; it holds no
//! listener, so tests drive it with `tower::ServiceExt::oneshot` and the
//! server serves it with `axum::serve`. To throttle logins per client
//! address too, serve it with
//! `into_make_service_with_connect_info::<std::net::SocketAddr>()`.
//!
//! Authentication: `POST /api/v1/auth/login` returns a JWT to send as
//! `Authorization: Bearer <token>`. Everything needs one except login,
//! `/health`, the webhook (signed instead) and the OpenAPI document. Browsers
//! signed in to the dashboard send the token as a cookie instead, with a
//! CSRF token on every change. Viewers may read; changing anything needs an
//! admin.
//! Every change is recorded in the audit log, never with a secret value.
//!
//! ```no_run
//! # async fn demo(state: pilot_server::api::AppState) -> std::io::Result<()> {
//! let app = pilot_server::api::router(state);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(
//!     listener,
//!     app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
//! )
//! .await
//! # }
//! ```

mod audit;
pub mod auth;
pub mod error;
pub mod extract;
mod openapi;
mod ratelimit;
pub(crate) mod routes;
pub mod state;
mod status;
mod telemetry;
pub mod types;
mod upload;
mod webhook;
mod ws;

use std::sync::Arc;

use axum::extract::OriginalUri;
use axum::{Extension, Router, middleware};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use auth::issue_session;
pub use error::{ApiError, ApiResult};
pub use ratelimit::LoginPolicy;
pub use state::{AgentFacts, ApiSettings, AppParts, AppState};
pub use webhook::signature_matches;

/// Every route with its documentation, not yet bound to a state.
fn documented() -> OpenApiRouter<AppState> {
    let v1 = routes::v1()
        .merge(ws::routes())
        .merge(webhook::routes())
        .merge(openapi::routes());
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", v1)
        .merge(status::routes())
}

/// The OpenAPI document of every route [`router`] serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().into_openapi()
}

/// Answers unknown paths in the API's error format.
async fn unknown_route(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::not_found("route", uri.path().to_string())
}

/// The whole HTTP application over `state`.
pub fn router(state: AppState) -> Router {
    let (routes, document) = documented().split_for_parts();
    let json = document
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot encode the document: {e}\"}}"));
    state.telemetry.watch_rollouts(&state.events);
    routes
        .merge(crate::web::routes())
        .fallback(unknown_route)
        .layer(Extension(openapi::DocumentJson(Arc::new(json))))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            telemetry::count_responses,
        ))
        .with_state(state)
}

//! The `/api/v1` routes, one module per resource.

pub(crate) mod auth;
pub(crate) mod deploys;
pub(crate) mod env;
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod nodes;
pub(crate) mod projects;
pub(crate) mod users;

use utoipa_axum::router::OpenApiRouter;

use super::state::AppState;

/// Every resource route, relative to `/api/v1`.
pub(crate) fn v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::routes())
        .merge(users::routes())
        .merge(nodes::routes())
        .merge(projects::routes())
        .merge(deploys::routes())
        .merge(env::routes())
        .merge(logs::routes())
        .merge(metrics::routes())
}

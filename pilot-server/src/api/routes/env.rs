//! `/projects/{name}/env`: project secrets, set, listed by name and
//! deleted. Values are stored encrypted and never returned, logged or
//! audited.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pilot_core::{SecretScope, SecretStore, SecretValue};
use pilot_store::records::{NewAuditEntry, Project};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::audit;
use crate::api::auth::{Admin, Authenticated};
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::state::AppState;
use crate::api::types::{ErrorBody, SecretNames, SetSecretRequest};

/// Longest secret name accepted.
const MAX_KEY: usize = 128;

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_secrets))
        .routes(routes!(set_secret, delete_secret))
}

/// Query string of `DELETE /projects/{name}/env/{key}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NodeParam {
    /// Delete the override of this node instead of the project-wide value.
    node: Option<String>,
}

/// The project named `name`, or 404.
pub(crate) async fn project(state: &AppState, name: &str) -> ApiResult<Project> {
    state
        .store
        .project(name)
        .await?
        .ok_or_else(|| ApiError::not_found("project", name))
}

/// Checks a secret name: an environment variable name.
fn check_key(key: &str) -> ApiResult<()> {
    let mut bytes = key.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if first_ok && key.len() <= MAX_KEY && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "key",
            format!(
                "{key:?} is not a variable name; use letters, digits and '_' (not first), at most {MAX_KEY}"
            ),
        ))
    }
}

/// The scope of a request, checking that the node exists.
async fn scope(state: &AppState, project: &str, node: Option<String>) -> ApiResult<SecretScope> {
    match node {
        None => Ok(SecretScope::project(project)),
        Some(node) => {
            if state.store.node(&node).await?.is_none() {
                return Err(ApiError::not_found("node", node));
            }
            Ok(SecretScope::node(project, node))
        }
    }
}

/// Names of the project's secrets: project-wide, per node, and those its
/// config needs that are missing for at least one of its nodes.
#[utoipa::path(
    get, path = "/projects/{name}/env", tag = "env",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "Secret names (never values)", body = SecretNames),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    )
)]
async fn list_secrets(
    State(state): State<AppState>,
    _: Authenticated,
    Path(name): Path<String>,
) -> ApiResult<Json<SecretNames>> {
    Ok(Json(secret_names(&state, &name).await?))
}

/// Names of the project's secrets, as `GET /projects/{name}/env` lists them.
pub(crate) async fn secret_names(state: &AppState, name: &str) -> ApiResult<SecretNames> {
    let project = project(state, name).await?;
    let base = state.secrets.names(&SecretScope::project(name)).await?;
    let mut nodes = BTreeMap::new();
    for node in &project.nodes {
        let names = state.secrets.names(&SecretScope::node(name, node)).await?;
        if !names.is_empty() {
            nodes.insert(node.clone(), names);
        }
    }
    let missing = project
        .config
        .secret_names()
        .into_iter()
        .filter(|secret| {
            !base.contains(secret)
                && (project.nodes.is_empty()
                    || project.nodes.iter().any(|node| {
                        nodes
                            .get(node)
                            .is_none_or(|names: &Vec<String>| !names.contains(secret))
                    }))
        })
        .collect();
    Ok(SecretNames {
        project: base,
        nodes,
        missing,
    })
}

/// Sets a secret, project-wide or for one node.
#[utoipa::path(
    put, path = "/projects/{name}/env/{key}", tag = "env",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "The project"),
        ("key" = String, Path, description = "The secret's name, as in `{{KEY}}`"),
    ),
    request_body = SetSecretRequest,
    responses(
        (status = 204, description = "Set"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project or node", body = ErrorBody),
        (status = 422, description = "Unacceptable name", body = ErrorBody),
    )
)]
async fn set_secret(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path((name, key)): Path<(String, String)>,
    ApiJson(request): ApiJson<SetSecretRequest>,
) -> ApiResult<StatusCode> {
    check_key(&key)?;
    project(&state, &name).await?;
    let scope = scope(&state, &name, request.node.clone()).await?;
    state
        .secrets
        .set(&scope, &key, SecretValue::new(request.value))
        .await?;
    audit::record_entry(
        &state,
        NewAuditEntry::secret_changed(session.actor(), "secret.set", &scope, &key),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a secret (a no-op when it is not set).
#[utoipa::path(
    delete, path = "/projects/{name}/env/{key}", tag = "env",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "The project"),
        ("key" = String, Path, description = "The secret's name"),
        NodeParam,
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project or node", body = ErrorBody),
    )
)]
async fn delete_secret(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path((name, key)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<NodeParam>,
) -> ApiResult<StatusCode> {
    check_key(&key)?;
    project(&state, &name).await?;
    let scope = scope(&state, &name, params.node).await?;
    state.secrets.delete(&scope, &key).await?;
    audit::record_entry(
        &state,
        NewAuditEntry::secret_changed(session.actor(), "secret.delete", &scope, &key),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::check_key;

    #[test]
    fn secret_names_are_variable_names() {
        for ok in ["DB_PASSWORD", "_X", "a1"] {
            assert!(check_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "É"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}

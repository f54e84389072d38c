//! `/users` (admin): list, create, delete, change role, reset a password.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pilot_store::records::Role;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::audit;
use crate::api::auth::{self, Admin};
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::ApiJson;
use crate::api::state::AppState;
use crate::api::types::{
    CreateUserRequest, ErrorBody, ResetPasswordRequest, SetRoleRequest, UserView,
};

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(delete_user))
        .routes(routes!(set_role))
        .routes(routes!(reset_password))
}

/// Refuses to leave the server without an admin.
async fn keep_an_admin(state: &AppState, username: &str) -> ApiResult<()> {
    let admins: Vec<String> = state
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Admin)
        .map(|u| u.username)
        .collect();
    if admins.len() == 1 && admins[0] == username {
        return Err(ApiError::Conflict {
            reason: format!(
                "{username} is the only admin; make another user admin first so the server keeps one"
            ),
        });
    }
    Ok(())
}

/// Every user, by name.
#[utoipa::path(
    get, path = "/users", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The users", body = Vec<UserView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
async fn list_users(State(state): State<AppState>, _: Admin) -> ApiResult<Json<Vec<UserView>>> {
    let users = state.store.users().await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// Creates a user.
#[utoipa::path(
    post, path = "/users", tag = "users",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "Unacceptable name or password", body = ErrorBody),
    )
)]
async fn create_user(
    State(state): State<AppState>,
    Admin(session): Admin,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let role = request.role;
    let user = state
        .store
        .create_user(&request.username, &request.password, role)
        .await?;
    audit::record(
        &state,
        session.actor(),
        "user.create",
        format!("user:{}", user.username),
        serde_json::json!({ "role": role.as_str() }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Deletes a user; their sessions end at once.
#[utoipa::path(
    delete, path = "/users/{username}", tag = "users",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "The user")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The last admin", body = ErrorBody),
    )
)]
async fn delete_user(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    keep_an_admin(&state, &username).await?;
    state.store.delete_user(&username).await?;
    auth::revoke_sessions(&state, &username).await?;
    audit::record(
        &state,
        session.actor(),
        "user.delete",
        format!("user:{username}"),
        serde_json::json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a user's role (effective on their next request).
#[utoipa::path(
    put, path = "/users/{username}/role", tag = "users",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "The user")),
    request_body = SetRoleRequest,
    responses(
        (status = 200, description = "Changed", body = UserView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The last admin", body = ErrorBody),
    )
)]
async fn set_role(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(username): Path<String>,
    ApiJson(request): ApiJson<SetRoleRequest>,
) -> ApiResult<Json<UserView>> {
    let role = request.role;
    if role != Role::Admin {
        keep_an_admin(&state, &username).await?;
    }
    state.store.set_role(&username, role).await?;
    auth::forget_account(&state, &username);
    audit::record(
        &state,
        session.actor(),
        "user.role",
        format!("user:{username}"),
        serde_json::json!({ "role": role.as_str() }),
    )
    .await;
    let user = state
        .store
        .user(&username)
        .await?
        .ok_or_else(|| ApiError::not_found("user", username))?;
    Ok(Json(user.into()))
}

/// Sets another user's password (for one who forgot theirs); every session
/// of that user ends at once.
#[utoipa::path(
    put, path = "/users/{username}/password", tag = "users",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "The user")),
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Changed; the user's sessions ended"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Unacceptable password", body = ErrorBody),
    )
)]
async fn reset_password(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(username): Path<String>,
    ApiJson(request): ApiJson<ResetPasswordRequest>,
) -> ApiResult<StatusCode> {
    if state.store.user(&username).await?.is_none() {
        return Err(ApiError::not_found("user", username));
    }
    state
        .store
        .set_password(&username, &request.password)
        .await?;
    auth::revoke_sessions(&state, &username).await?;
    audit::record(
        &state,
        session.actor(),
        "user.password_reset",
        format!("user:{username}"),
        serde_json::json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

//! `/auth`: log in, check a token, change the password.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::auth::login::{self, ClientAddr};
use crate::api::auth::{self, Authenticated};
use crate::api::error::ApiResult;
use crate::api::extract::ApiJson;
use crate::api::state::AppState;
use crate::api::types::{
    ErrorBody, LoginRequest, PasswordChangeRequest, SessionView, VerifyResponse,
};

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(verify))
        .routes(routes!(change_password))
}

/// Exchanges a user name and password for a session token. Failed attempts
/// are throttled per user name and per client address: after a few, each
/// further attempt is refused with 429 and `Retry-After` for a time that
/// doubles with every failure; a successful login clears the count.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = SessionView),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Json<SessionView>> {
    let user = login::check_login(&state, &addr, &request.username, &request.password).await?;
    Ok(Json(auth::issue_session(&state, user).await?))
}

/// Checks the session token and tells whose it is.
#[utoipa::path(
    get, path = "/auth/verify", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token is valid", body = VerifyResponse),
        (status = 401, description = "Missing, malformed, expired or revoked token", body = ErrorBody),
    )
)]
async fn verify(Authenticated(session): Authenticated) -> Json<VerifyResponse> {
    Json(VerifyResponse {
        expires_at_ms: session.expires_at_ms,
        user: session.user.into(),
    })
}

/// Changes the caller's password. Every token issued before stops working;
/// the response carries a new session.
#[utoipa::path(
    post, path = "/auth/password", tag = "auth",
    security(("bearer" = [])),
    request_body = PasswordChangeRequest,
    responses(
        (status = 200, description = "Changed; a new session", body = SessionView),
        (status = 401, description = "Missing, malformed, expired or revoked token", body = ErrorBody),
        (status = 403, description = "Sent with the session cookie but without its CSRF token", body = ErrorBody),
        (status = 422, description = "Wrong current password or unacceptable new one", body = ErrorBody),
        (status = 429, description = "Too many wrong current passwords", body = ErrorBody),
    )
)]
async fn change_password(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    addr: ClientAddr,
    ApiJson(request): ApiJson<PasswordChangeRequest>,
) -> ApiResult<Json<SessionView>> {
    let username = &session.user.username;
    let user =
        login::change_password(&state, &addr, username, &request.current, &request.new).await?;
    Ok(Json(auth::issue_session(&state, user).await?))
}

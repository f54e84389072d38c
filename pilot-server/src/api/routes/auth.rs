//! `/auth`: log in, check a token, change the password.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::audit;
use crate::api::auth::{self, Authenticated};
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::ApiJson;
use crate::api::state::AppState;
use crate::api::types::{
    ErrorBody, LoginRequest, PasswordChangeRequest, SessionView, VerifyResponse,
};

/// Longest user name considered for a login.
const MAX_USERNAME: usize = 64;

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(verify))
        .routes(routes!(change_password))
}

/// The client's IP address, when the server was started with connection info.
pub(crate) struct ClientAddr(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

/// The throttling keys of a login attempt.
fn limiter_keys(username: &str, addr: &ClientAddr) -> Vec<String> {
    let mut keys = vec![format!("user:{}", username.to_lowercase())];
    if let ClientAddr(Some(ip)) = addr {
        keys.push(format!("ip:{ip}"));
    }
    keys
}

fn rate_limited(wait: Duration) -> ApiError {
    ApiError::RateLimited {
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
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
    let name: String = request.username.chars().take(MAX_USERNAME).collect();
    let keys = limiter_keys(&name, &addr);
    if let Some(wait) = state.limiter.wait(&keys, Instant::now()) {
        return Err(rate_limited(wait));
    }
    let user = if request.username.len() <= MAX_USERNAME {
        state
            .store
            .verify_password(&request.username, &request.password)
            .await?
    } else {
        None
    };
    let Some(user) = user else {
        state.limiter.record_failure(&keys, Instant::now());
        tracing::info!(username = %name, "failed login");
        return Err(ApiError::BadCredentials);
    };
    state.limiter.record_success(&keys);
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
    let username = session.user.username.clone();
    let keys = limiter_keys(&username, &addr);
    if let Some(wait) = state.limiter.wait(&keys, Instant::now()) {
        return Err(rate_limited(wait));
    }
    if state
        .store
        .verify_password(&username, &request.current)
        .await?
        .is_none()
    {
        state.limiter.record_failure(&keys, Instant::now());
        return Err(ApiError::invalid(
            "current",
            "it is not the current password; type it again",
        ));
    }
    state.limiter.record_success(&keys);
    state.store.set_password(&username, &request.new).await?;
    auth::revoke_sessions(&state, &username).await?;
    audit::record(
        &state,
        &username,
        "user.password",
        format!("user:{username}"),
        serde_json::json!({}),
    )
    .await;
    let user = state
        .store
        .user(&username)
        .await?
        .ok_or_else(|| ApiError::not_found("user", username.clone()))?;
    Ok(Json(auth::issue_session(&state, user).await?))
}

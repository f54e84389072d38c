//! Checking a password, throttled: shared by the API's login and password
//! change and the dashboard's sign-in and settings forms.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use pilot_store::records::User;

use crate::api::audit;
use crate::api::error::{ApiError, ApiResult};
use crate::api::state::AppState;

/// Longest user name considered for a login.
const MAX_USERNAME: usize = 64;

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

/// The user with this name and password. Failed attempts are throttled per
/// user name and per client address: after a few, each further attempt is
/// refused for a time that doubles with every failure; a success clears
/// the count.
pub(crate) async fn check_login(
    state: &AppState,
    addr: &ClientAddr,
    username: &str,
    password: &str,
) -> ApiResult<User> {
    let name: String = username.chars().take(MAX_USERNAME).collect();
    let keys = limiter_keys(&name, addr);
    if let Some(wait) = state.limiter.wait(&keys, Instant::now()) {
        return Err(rate_limited(wait));
    }
    let user = if username.len() <= MAX_USERNAME {
        state.store.verify_password(username, password).await?
    } else {
        None
    };
    let Some(user) = user else {
        state.limiter.record_failure(&keys, Instant::now());
        tracing::info!(username = %name, "failed login");
        return Err(ApiError::BadCredentials);
    };
    state.limiter.record_success(&keys);
    Ok(user)
}

/// Changes `username`'s password after checking the current one (throttled
/// like a login), ends every session of the user, and returns the user.
pub(crate) async fn change_password(
    state: &AppState,
    addr: &ClientAddr,
    username: &str,
    current: &str,
    new: &str,
) -> ApiResult<User> {
    let keys = limiter_keys(username, addr);
    if let Some(wait) = state.limiter.wait(&keys, Instant::now()) {
        return Err(rate_limited(wait));
    }
    if state
        .store
        .verify_password(username, current)
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
    state.store.set_password(username, new).await?;
    super::revoke_sessions(state, username).await?;
    audit::record(
        state,
        username,
        "user.password",
        format!("user:{username}"),
        serde_json::json!({}),
    )
    .await;
    state
        .store
        .user(username)
        .await?
        .ok_or_else(|| ApiError::not_found("user", username.to_string()))
}

//! Session tokens and who is asking.
//!
//! A token is an HS256 JWT naming the user, their id and their session
//! epoch, with an expiry. Every request checks the signature and expiry,
//! and compares the token with the user and epoch as stored: changing the
//! password or deleting the user bumps the epoch, so every token issued
//! before stops working at once, and role changes apply to the next
//! request. The stored user and epoch are kept for a few seconds
//! ([`ApiSettings::account_cache_ttl`](super::ApiSettings::account_cache_ttl))
//! between database reads; changes made through the API drop them at once.
//!
//! Browsers send the token in the [`cookie::SESSION_COOKIE`] cookie instead
//! of the header; a request authenticated that way that changes anything
//! must also carry the session's CSRF token ([`cookie::CSRF_HEADER`]).

mod cache;
pub mod cookie;
pub(crate) mod login;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pilot_store::SqlStore;
use pilot_store::records::{Role, User};
use serde::{Deserialize, Serialize};

use self::cache::Account;
pub(crate) use self::cache::AccountCache;
use super::error::{ApiError, ApiResult};
use super::state::AppState;
use super::types::SessionView;

/// Seconds of clock skew tolerated on expiry.
const LEEWAY_SECS: u64 = 5;
/// Shortest signing key accepted.
const MIN_KEY_LEN: usize = 32;

/// What a session token says.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// User name.
    sub: String,
    /// User id (a user deleted and created again gets a new one).
    uid: i64,
    /// The user's session epoch when the token was issued.
    epoch: u64,
    /// Issued at, Unix seconds.
    iat: i64,
    /// Expires at, Unix seconds.
    exp: i64,
    /// A random id, so two sessions issued in the same second differ (and
    /// so do their CSRF tokens).
    #[serde(default)]
    jti: String,
}

/// A verified session: the user as stored now and when the token expires.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user.
    pub user: User,
    /// Unix ms when the token expires.
    pub expires_at_ms: i64,
}

impl Session {
    /// The user's name, for the audit log.
    pub fn actor(&self) -> &str {
        &self.user.username
    }
}

/// The settings key holding a user's session epoch.
fn epoch_key(username: &str) -> String {
    format!("auth.session_epoch.{username}")
}

/// The user's current session epoch (0 before the first revocation).
async fn epoch(store: &SqlStore, username: &str) -> ApiResult<u64> {
    Ok(store
        .setting(&epoch_key(username))
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Revokes every token issued to `username` so far, at once.
pub(crate) async fn revoke_sessions(state: &AppState, username: &str) -> ApiResult<()> {
    let next = epoch(&state.store, username).await?.saturating_add(1);
    let written = state
        .store
        .set_setting(&epoch_key(username), &next.to_string())
        .await;
    // Forgotten even when the write failed: the stored epoch is unknown then.
    state.accounts.forget(username);
    written?;
    Ok(())
}

/// Makes the next request of `username` read their user row again (after
/// a change such as a new role).
pub(crate) fn forget_account(state: &AppState, username: &str) {
    state.accounts.forget(username);
}

/// The user `username` and their session epoch as stored now.
async fn read_account(state: &AppState, username: &str) -> ApiResult<Option<Account>> {
    let ticket = state.accounts.ticket();
    let read_at = Instant::now();
    let Some(user) = state.store.user(username).await? else {
        return Ok(None);
    };
    let account = Account {
        user,
        epoch: epoch(&state.store, username).await?,
    };
    state.accounts.insert(ticket, account.clone(), read_at);
    Ok(Some(account))
}

impl Account {
    /// Whether the token was issued to this user in this epoch.
    fn issued(&self, claims: &Claims) -> bool {
        self.user.id == claims.uid && self.epoch == claims.epoch
    }
}

fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The signing key, refused when too short to be safe.
pub(crate) fn signing_key(state: &AppState) -> ApiResult<&[u8]> {
    let key = state.settings.jwt_secret.as_slice();
    if key.len() < MIN_KEY_LEN {
        return Err(ApiError::SigningKey {
            reason: format!("it has {} bytes, fewer than {MIN_KEY_LEN}", key.len()),
        });
    }
    Ok(key)
}

/// Issues a new session token for `user` (as a successful login would).
pub async fn issue_session(state: &AppState, user: User) -> ApiResult<SessionView> {
    let key = signing_key(state)?;
    let now = unix_secs();
    let ttl = i64::try_from(state.settings.token_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let claims = Claims {
        sub: user.username.clone(),
        uid: user.id,
        epoch: epoch(&state.store, &user.username).await?,
        iat: now,
        exp: now.saturating_add(ttl),
        jti: hex::encode(rand::random::<[u8; 16]>()),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key),
    )
    .map_err(|e| ApiError::SigningKey {
        reason: e.to_string(),
    })?;
    Ok(SessionView {
        token,
        expires_at_ms: claims.exp.saturating_mul(1000),
        user: user.into(),
    })
}

/// Checks a session token and returns the session it stands for.
pub(crate) async fn verify(state: &AppState, token: &str) -> ApiResult<Session> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = LEEWAY_SECS;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let claims = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(signing_key(state)?),
        &validation,
    )
    .map_err(|e| ApiError::Unauthorized {
        reason: match e.kind() {
            ErrorKind::ExpiredSignature => "the session token has expired",
            _ => "the session token is malformed or was not issued by this server",
        },
    })?
    .claims;
    let revoked = || ApiError::Unauthorized {
        reason: "the session token was revoked (password changed or user removed)",
    };
    // A refusal is always confirmed by the store: a cached account may be
    // older than a change made by another server on the same database.
    let account = match state.accounts.get(&claims.sub, Instant::now()) {
        Some(account) if account.issued(&claims) => account,
        _ => read_account(state, &claims.sub)
            .await?
            .filter(|account| account.issued(&claims))
            .ok_or_else(revoked)?,
    };
    Ok(Session {
        user: account.user,
        expires_at_ms: claims.exp.saturating_mul(1000),
    })
}

/// The bearer token of a request, if any.
pub(crate) fn bearer(parts: &Parts) -> ApiResult<Option<&str>> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || ApiError::Unauthorized {
        reason: "the Authorization header is not `Bearer <token>`",
    };
    let text = value.to_str().map_err(|_| malformed())?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(malformed()),
    }
}

/// Any signed-in user (admin or viewer).
#[derive(Debug, Clone)]
pub struct Authenticated(pub Session);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        if let Some(token) = bearer(parts)? {
            return verify(state, token).await.map(Authenticated);
        }
        let token = cookie::cookie(&parts.headers, cookie::SESSION_COOKIE).ok_or(
            ApiError::Unauthorized {
                reason: "no session token was sent",
            },
        )?;
        if !parts.method.is_safe() {
            let presented = parts
                .headers
                .get(cookie::CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !cookie::csrf_matches(signing_key(state)?, token, presented) {
                return Err(ApiError::CsrfMismatch);
            }
        }
        verify(state, token).await.map(Authenticated)
    }
}

/// A signed-in admin; viewers get 403.
#[derive(Debug, Clone)]
pub struct Admin(pub Session);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let Authenticated(session) = Authenticated::from_request_parts(parts, state).await?;
        if session.user.role != Role::Admin {
            return Err(ApiError::Forbidden {
                action: format!("{} {}", parts.method, parts.uri.path()),
            });
        }
        Ok(Admin(session))
    }
}

//! Who is looking at a page: the session cookie checked like an API token,
//! and the cookies the dashboard sets.

use axum::extract::FromRequestParts;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pilot_store::records::Role;

use crate::api::AppState;
use crate::api::auth::cookie::{self, SESSION_COOKIE};
use crate::api::auth::{self, Session};

/// The cookie holding the sign-in form's CSRF token (before any session).
pub(crate) const LOGIN_COOKIE: &str = "pilot_login";

/// A signed-in person looking at a page.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// Their session.
    pub session: Session,
    /// The session token (the cookie's value).
    pub token: String,
    /// The CSRF token of the session, for forms and scripts.
    pub csrf: String,
}

impl Viewer {
    /// Whether the viewer may change things.
    pub fn is_admin(&self) -> bool {
        self.session.user.role == Role::Admin
    }

    /// The user's name.
    pub fn username(&self) -> &str {
        &self.session.user.username
    }
}

/// A `303 See Other` to `location`.
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// The way to the sign-in page, coming back to `path` afterwards.
fn to_login(path: &str) -> Response {
    let target = if path == "/" || !is_local_path(path) {
        "/login".to_string()
    } else {
        format!("/login?next={}", percent_encode(path))
    };
    let mut response = see_other(&target);
    append_cookie(&mut response, &expired(SESSION_COOKIE, "/"));
    response
}

/// Whether `path` is a path on this server (no scheme, no `//host`).
pub(crate) fn is_local_path(path: &str) -> bool {
    path.starts_with('/') && !path.starts_with("//") && !path.contains('\\')
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let Some(token) = cookie::cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(&path));
        };
        let key = auth::signing_key(state).map_err(IntoResponse::into_response)?;
        let csrf = cookie::csrf_token(key, token);
        match auth::verify(state, token).await {
            Ok(session) => Ok(Viewer {
                session,
                token: token.to_string(),
                csrf,
            }),
            Err(_) => Err(to_login(&path)),
        }
    }
}

/// Attributes every dashboard cookie has; `Secure` when the server is
/// published over HTTPS.
fn attributes(state: &AppState, path: &str) -> String {
    let secure = state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    format!(
        "Path={path}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value of a session cookie lasting `max_age_secs`.
pub(crate) fn session_cookie(state: &AppState, token: &str, max_age_secs: i64) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Max-Age={}; {}",
        max_age_secs.max(0),
        attributes(state, "/")
    )
}

/// The `Set-Cookie` value of the sign-in form's CSRF cookie.
pub(crate) fn login_cookie(state: &AppState, value: &str) -> String {
    format!(
        "{LOGIN_COOKIE}={value}; Max-Age=3600; {}",
        attributes(state, "/login")
    )
}

/// The `Set-Cookie` value removing cookie `name`.
pub(crate) fn expired(name: &str, path: &str) -> String {
    format!("{name}=; Max-Age=0; Path={path}; HttpOnly; SameSite=Strict")
}

/// Adds a `Set-Cookie` header.
pub(crate) fn append_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_server_are_followed_after_sign_in() {
        assert!(is_local_path("/projects/shop"));
        assert!(!is_local_path("//evil.example/x"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path("/\\evil.example"));
        assert_eq!(percent_encode("/nodes/a b?x=1"), "/nodes/a%20b%3Fx%3D1");
    }
}

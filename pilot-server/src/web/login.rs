//! Signing in and out, and changing one's password: the only dashboard
//! forms posted to the server directly (they set or clear the session
//! cookie, which scripts cannot).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::assets;
use super::render::page;
use super::session::{
    self, LOGIN_COOKIE, Viewer, append_cookie, expired, login_cookie, see_other, session_cookie,
};
use crate::api::auth::cookie::{self, SESSION_COOKIE};
use crate::api::auth::login::{self, ClientAddr};
use crate::api::auth::{self, issue_session};
use crate::api::{ApiError, AppState};

/// The sign-in page.
#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage {
    css: String,
    csrf: String,
    next: String,
    username: String,
    message: String,
    notice: String,
}

/// `GET /login`'s query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
    /// Why the person is here: `signed-out`.
    reason: Option<String>,
}

/// The sign-in form.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: String,
}

/// A fresh random token (hex).
fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// Where to go after signing in: a path of this server, else the overview.
fn next_or_home(next: &str) -> &str {
    if session::is_local_path(next) && !next.starts_with("/login") {
        next
    } else {
        "/"
    }
}

fn login_page(state: &AppState, status: StatusCode, form: LoginPage) -> Response {
    let mut response = page(&form, "login");
    *response.status_mut() = status;
    append_cookie(&mut response, &login_cookie(state, &form.csrf));
    response
}

fn blank(next: String) -> LoginPage {
    LoginPage {
        css: assets::url("app.css"),
        csrf: random_token(),
        next,
        username: String::new(),
        message: String::new(),
        notice: String::new(),
    }
}

/// `GET /login`: the form (or the overview, when already signed in).
pub(crate) async fn show(
    State(state): State<AppState>,
    viewer: Result<Viewer, Response>,
    Query(query): Query<LoginQuery>,
) -> Response {
    let next = query.next.unwrap_or_default();
    if viewer.is_ok() {
        return see_other(next_or_home(&next));
    }
    let mut form = blank(next);
    form.notice = match query.reason.as_deref() {
        Some("signed-out") => "You are signed out.".into(),
        _ => String::new(),
    };
    login_page(&state, StatusCode::OK, form)
}

/// `POST /login`: checks the form's CSRF cookie and the password
/// (throttled like the API's login) and sets the session cookie.
pub(crate) async fn submit(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = cookie::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let mut page_again = blank(form.next.clone());
    page_again.username = form.username.clone();
    if expected.is_empty() || !constant_time_eq(expected, &form.csrf) {
        page_again.message =
            "The sign-in form expired or came from another site; sign in again.".into();
        return login_page(&state, StatusCode::FORBIDDEN, page_again);
    }
    let user = match login::check_login(&state, &addr, &form.username, &form.password).await {
        Ok(user) => user,
        Err(e) => {
            let (status, _) = e.status_and_code();
            // A wrong password is the form answered again, not a failed load.
            let status = if status == StatusCode::UNAUTHORIZED {
                StatusCode::OK
            } else {
                status
            };
            page_again.message = match e {
                ApiError::BadCredentials => "Wrong user name or password.".into(),
                other => other.public_message(),
            };
            return login_page(&state, status, page_again);
        }
    };
    match issue_session(&state, user).await {
        Ok(session) => signed_in(&state, &session.token, session.expires_at_ms, &form.next),
        Err(e) => e.into_response(),
    }
}

/// A redirect to `next` setting the session cookie.
fn signed_in(state: &AppState, token: &str, expires_at_ms: i64, next: &str) -> Response {
    let max_age = (expires_at_ms - pilot_core::time::now_ms()) / 1000;
    let mut response = see_other(next_or_home(next));
    append_cookie(&mut response, &session_cookie(state, token, max_age));
    append_cookie(&mut response, &expired(LOGIN_COOKIE, "/login"));
    response
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A form that only carries the CSRF token.
#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The refusal of a form whose CSRF token is not the session's, or `None`
/// when the token matches.
fn csrf_refusal(state: &AppState, viewer: &Viewer, presented: &str) -> Option<Response> {
    match auth::signing_key(state) {
        Err(e) => Some(e.into_response()),
        Ok(key) if cookie::csrf_matches(key, &viewer.token, presented) => None,
        Ok(_) => Some(ApiError::CsrfMismatch.into_response()),
    }
}

/// `POST /logout`: ends the user's sessions (this browser's and every
/// other) and clears the cookie.
pub(crate) async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = csrf_refusal(&state, &viewer, &form.csrf) {
        return refused;
    }
    if let Err(e) = auth::revoke_sessions(&state, viewer.username()).await {
        return e.into_response();
    }
    let mut response = see_other("/login?reason=signed-out");
    append_cookie(&mut response, &expired(SESSION_COOKIE, "/"));
    response
}

/// The change-password form of the settings page.
#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current_password: String,
    new_password: String,
}

/// `POST /settings/password`: changes the password, ends every session
/// of the user (other browsers, the CLI) and gives this browser a new one.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    addr: ClientAddr,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Some(refused) = csrf_refusal(&state, &viewer, &form.csrf) {
        return refused;
    }
    let changed = login::change_password(
        &state,
        &addr,
        viewer.username(),
        &form.current_password,
        &form.new_password,
    )
    .await;
    match changed {
        Ok(user) => match issue_session(&state, user).await {
            Ok(session) => signed_in(
                &state,
                &session.token,
                session.expires_at_ms,
                "/settings?changed=1",
            ),
            Err(e) => e.into_response(),
        },
        Err(e) => super::pages::settings::with_error(&state, &viewer, e).await,
    }
}

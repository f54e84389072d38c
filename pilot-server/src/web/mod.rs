//! The dashboard: server-rendered pages for people, signed in with a
//! session cookie.
//!
//! Pages are askama templates (`templates/web/`) filled from the store and
//! the live state; `web/app.js` (embedded, see [`assets`]) makes them live
//! over the API's WebSocket and sends every change through the REST API
//! with the session cookie and the page's CSRF token. Only signing in and
//! out and changing one's password are posted here, because they set the
//! cookie.
//!
//! Every page needs a session (signed out, it answers with a redirect to
//! `/login`); assets carry no data and are public. Every response has a
//! strict Content Security Policy, refuses framing and is not cached
//! (assets excepted: their names change with their content).

mod assets;
mod facts;
mod headers;
mod login;
mod pages;
mod render;
mod session;
pub(crate) mod view;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

use crate::api::AppState;

/// The dashboard's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::overview::show))
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/nodes/{name}", get(pages::node::show))
        .route("/projects/new", get(pages::forms::new_project))
        .route("/projects/{name}", get(pages::project::show))
        .route("/users", get(pages::forms::users))
        .route("/settings", get(pages::forms::settings))
        .route("/settings/password", post(login::change_password))
        .route("/alerts", get(pages::alerts::show))
        .route("/assets/{file}", get(assets::serve))
        .layer(middleware::from_fn(headers::secure))
}

//! Pages that are mostly forms: a new project, the users, the settings.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::api::types::UserView;
use crate::api::{ApiError, AppState};
use crate::web::render::{OrPage, PageError, PageResult, page};
use crate::web::session::Viewer;
use crate::web::view::{Shell, iso, utc};

/// The new-project page.
#[derive(Template)]
#[template(path = "web/new_project.html")]
struct NewProjectPage {
    shell: Shell,
    nodes: Vec<String>,
}

/// Refuses viewers a page only admins can use.
fn admin_only(viewer: &Viewer, shell: &Shell, what: &str) -> Result<(), PageError> {
    if viewer.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            action: what.to_string(),
        })
        .or_page(shell)
    }
}

/// `GET /projects/new`.
pub(crate) async fn new_project(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let shell = Shell::new(&viewer, "New project", "overview");
    admin_only(&viewer, &shell, "creating a project")?;
    let nodes = state
        .store
        .nodes()
        .await
        .or_page(&shell)?
        .into_iter()
        .map(|n| n.name)
        .collect();
    Ok(page(&NewProjectPage { shell, nodes }, "new project"))
}

/// One user of the users page.
struct UserRow {
    user: UserView,
    created_iso: String,
    created: String,
    is_me: bool,
}

/// The users page.
#[derive(Template)]
#[template(path = "web/users.html")]
struct UsersPage {
    shell: Shell,
    users: Vec<UserRow>,
}

/// `GET /users` (admins).
pub(crate) async fn users(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let shell = Shell::new(&viewer, "Users", "users");
    admin_only(&viewer, &shell, "managing users")?;
    let users = state
        .store
        .users()
        .await
        .or_page(&shell)?
        .into_iter()
        .map(|u| UserRow {
            created_iso: iso(u.created_ms),
            created: utc(u.created_ms),
            is_me: u.username == viewer.username(),
            user: UserView::from(u),
        })
        .collect();
    Ok(page(&UsersPage { shell, users }, "users"))
}

/// The settings page.
#[derive(Template)]
#[template(path = "web/settings.html")]
struct SettingsPage {
    shell: Shell,
    role: String,
    session_ends_iso: String,
    session_ends: String,
    agent_address: String,
    public_url: String,
    notice: String,
    message: String,
}

/// `GET /settings`'s query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SettingsQuery {
    changed: Option<String>,
}

fn settings_page(
    state: &AppState,
    viewer: &Viewer,
    notice: String,
    message: String,
) -> SettingsPage {
    SettingsPage {
        shell: Shell::new(viewer, "Settings", "settings"),
        role: viewer.session.user.role.as_str().to_string(),
        session_ends_iso: iso(viewer.session.expires_at_ms),
        session_ends: utc(viewer.session.expires_at_ms),
        agent_address: state.settings.agent_address.clone(),
        public_url: state.settings.public_url.clone().unwrap_or_default(),
        notice,
        message,
    }
}

/// `GET /settings`.
pub(crate) async fn settings(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<SettingsQuery>,
) -> Response {
    let notice = if query.changed.is_some() {
        "Your password was changed; every other session of yours has ended.".to_string()
    } else {
        String::new()
    };
    page(
        &settings_page(&state, &viewer, notice, String::new()),
        "settings",
    )
}

/// The settings page again with the reason a password change failed.
pub(crate) async fn with_error(state: &AppState, viewer: &Viewer, error: ApiError) -> Response {
    let (status, _) = error.status_and_code();
    let message = match &error {
        ApiError::Invalid {
            field: "current", ..
        } => "The current password is wrong; type it again.".to_string(),
        other => other.public_message(),
    };
    let mut response = page(
        &settings_page(state, viewer, String::new(), message),
        "settings",
    );
    *response.status_mut() = status;
    response
}

//! Turning templates into responses, and failures into pages.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::view::Shell;
use crate::api::ApiError;

/// A rendered page, or the error page when the template fails.
pub(crate) fn page(template: &impl Template, name: &'static str) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::Render {
            page: name,
            reason: e.to_string(),
        }
        .into_response(),
    }
}

/// The page shown when a signed-in page cannot be shown.
#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage {
    shell: Shell,
    heading: String,
    message: String,
}

/// Why a page could not be shown, as a page in the dashboard's frame
/// (boxed: handlers return it on every path).
pub(crate) struct PageError(Box<Failure>);

struct Failure {
    shell: Shell,
    error: ApiError,
}

impl PageError {
    /// `error` shown inside `shell`.
    pub fn new(shell: &Shell, error: impl Into<ApiError>) -> Self {
        PageError(Box::new(Failure {
            shell: shell.clone(),
            error: error.into(),
        }))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let Failure { shell, error } = *self.0;
        let (status, _) = error.status_and_code();
        let message = error.public_message();
        error_page(shell, status, message)
    }
}

fn error_page(mut shell: Shell, status: StatusCode, message: String) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        _ if status.is_server_error() => "Something went wrong",
        _ => "Cannot show this page",
    };
    shell.title = heading.to_string();
    let mut response = page(
        &ErrorPage {
            shell,
            heading: heading.to_string(),
            message,
        },
        "error",
    );
    *response.status_mut() = status;
    response
}

/// A shortcut: the result of a page handler.
pub(crate) type PageResult = Result<Response, PageError>;

/// Adds the shell to an error.
pub(crate) trait OrPage<T> {
    /// The error shown as a page in `shell`.
    fn or_page(self, shell: &Shell) -> Result<T, PageError>;
}

impl<T, E: Into<ApiError>> OrPage<T> for Result<T, E> {
    fn or_page(self, shell: &Shell) -> Result<T, PageError> {
        self.map_err(|e| PageError::new(shell, e))
    }
}

//! Errors of the API client as the Python exceptions of `pilot.errors`.
//!
//! Every error response of the server becomes an `ApiError` (or one of its
//! subclasses) carrying the HTTP status, the API's code and its details;
//! transport failures become an `UnreachableError`.

use pilot_server::client::ClientError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::Problem;
use crate::convert::json_to_py;
use crate::errors::{ErrorKind, invalid_argument, new_error, raise};

/// What a call was about, named in the `NotFoundError` of a 404 answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    /// The kind of thing, e.g. `"project"`.
    pub(crate) kind: &'a str,
    /// Its name as the caller gave it.
    pub(crate) name: &'a str,
}

impl<'a> Subject<'a> {
    /// The project `name`.
    pub(crate) fn project(name: &'a str) -> Self {
        Subject {
            kind: "project",
            name,
        }
    }

    /// The node `name`.
    pub(crate) fn node(name: &'a str) -> Self {
        Subject { kind: "node", name }
    }

    /// No particular thing (lists, logins).
    pub(crate) fn none() -> Self {
        Subject { kind: "", name: "" }
    }
}

/// The exception of an API client error; a 404 names `subject`.
pub(crate) fn client_error(py: Python<'_>, error: ClientError, subject: Subject<'_>) -> PyErr {
    let message = error.to_string();
    match error {
        ClientError::NotLoggedIn { .. } => raise(py, ErrorKind::Auth, message, |kw| {
            api_fields(kw, 401, "unauthorized", None)
        }),
        ClientError::Api {
            status,
            code,
            details,
            message: api_message,
        } => api_error(py, message, status, &code, api_message, details, subject),
        ClientError::Unreachable { url, .. } | ClientError::Transport { url, .. } => {
            raise(py, ErrorKind::Unreachable, message, |kw| {
                kw.set_item("url", url)
            })
        }
        ClientError::WebSocket { url, .. } | ClientError::Tls { url, .. } => {
            raise(py, ErrorKind::Unreachable, message, |kw| {
                kw.set_item("url", url)
            })
        }
        ClientError::InvalidUrl { .. } => invalid_argument(py, "url", message),
        ClientError::UnexpectedResponse { status, .. } => {
            raise(py, ErrorKind::Api, message, |kw| {
                api_fields(kw, status, "unexpected_response", None)
            })
        }
        _ => new_error(py, ErrorKind::Pilot, message),
    }
}

/// The exception of an error response: its class follows the status and code.
fn api_error(
    py: Python<'_>,
    message: String,
    status: u16,
    code: &str,
    api_message: String,
    details: Option<serde_json::Value>,
    subject: Subject<'_>,
) -> PyErr {
    let kind = match (status, code) {
        (401, _) => ErrorKind::Auth,
        (403, _) => ErrorKind::Forbidden,
        (404, _) => ErrorKind::NotFound,
        (_, "invalid_config") => ErrorKind::Config,
        _ => ErrorKind::Api,
    };
    let error = raise(py, kind, message, |kw| {
        api_fields(kw, status, code, details.as_ref())?;
        match kind {
            ErrorKind::NotFound => {
                kw.set_item("kind", subject.kind)?;
                kw.set_item("name", subject.name)
            }
            ErrorKind::Config => {
                let problems: Vec<Problem> = config_problems(details.as_ref());
                kw.set_item("problems", problems)
            }
            _ => Ok(()),
        }
    });
    // `str(error)` keeps the status and code; `message` is the server's own
    // words. Failing to set it leaves the full text there, which is harmless.
    let _ = error.value(py).setattr("message", api_message);
    error
}

/// Sets the `status`, `code` and `details` keyword attributes of an `ApiError`.
fn api_fields(
    kw: &Bound<'_, PyDict>,
    status: u16,
    code: &str,
    details: Option<&serde_json::Value>,
) -> PyResult<()> {
    let py = kw.py();
    kw.set_item("status", status)?;
    kw.set_item("code", code)?;
    let details = match details {
        Some(value) => json_to_py(py, value)?,
        None => py.None().into_bound(py),
    };
    kw.set_item("details", details)
}

/// The problems of an `invalid_config` answer's details.
fn config_problems(details: Option<&serde_json::Value>) -> Vec<Problem> {
    let Some(details) = details else {
        return Vec::new();
    };
    let problems: Vec<pilot_server::client::ConfigProblem> =
        serde_json::from_value(details.clone()).unwrap_or_default();
    problems
        .into_iter()
        .map(|p| {
            Problem::from(pilot_core::config::Problem {
                path: p.path,
                message: p.message,
                hint: p.hint,
                line: p.line.and_then(|l| usize::try_from(l).ok()),
                column: p.column.and_then(|c| usize::try_from(c).ok()),
            })
        })
        .collect()
}

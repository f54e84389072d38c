//! [`ApiError`]: every way a request can fail, and its JSON response
//! `{ "error": { "code", "message", "details"? } }`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pilot_core::config::{ConfigError, Problem};
use pilot_core::source::SourceError;

use super::types::{ErrorBody, ErrorDetail};
use crate::node_link::LinkError;

/// Result of API handlers.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No usable session token came with the request.
    #[error(
        "{reason}; log in again (`pilot login`) and send the token as `Authorization: Bearer <token>`"
    )]
    Unauthorized {
        /// What is wrong with the token.
        reason: &'static str,
    },
    /// The user name or password is wrong.
    #[error("wrong user name or password; check both and try again")]
    BadCredentials,
    /// The user's role does not allow the request.
    #[error("{action} needs the admin role; ask an admin to do it or to change your role")]
    Forbidden {
        /// What was attempted.
        action: String,
    },
    /// A change was sent with the browser's session cookie but without the
    /// page's CSRF token.
    #[error(
        "the request carries the session cookie but not this session's CSRF token (X-CSRF-Token); reload the page and try again"
    )]
    CsrfMismatch,
    /// Too many failed logins.
    #[error("too many failed logins; wait {retry_after_secs} s before trying again")]
    RateLimited {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// Something named in the request does not exist.
    #[error("{kind} {key} does not exist; list the existing ones and check the name")]
    NotFound {
        /// The kind of thing, e.g. "rollout".
        kind: &'static str,
        /// Its name or id.
        key: String,
    },
    /// A field of the request is not acceptable.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field or parameter.
        field: &'static str,
        /// Why, and what is accepted.
        reason: String,
    },
    /// The request cannot be read (malformed JSON, wrong content type, bad query string).
    #[error("{reason}; check the request against the API documentation (/api/v1/openapi.json)")]
    BadRequest {
        /// What could not be read.
        reason: String,
    },
    /// The request conflicts with the current state.
    #[error("{reason}")]
    Conflict {
        /// What conflicts and what to do.
        reason: String,
    },
    /// The app's `config.vpspilot.json` has problems (every one is in the details).
    #[error("{0}")]
    InvalidConfig(ConfigError),
    /// The request body is larger than allowed.
    #[error(
        "the request body is larger than the limit of {limit} bytes; make the upload smaller or raise the server's upload limit"
    )]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The WebHook request is not signed with the project's secret.
    #[error(
        "the X-Hub-Signature-256 header is missing or does not match the body; set the webhook secret shown by `GET /api/v1/projects/{project}/webhook`"
    )]
    BadSignature {
        /// The project.
        project: String,
    },
    /// A server operation failed.
    #[error(transparent)]
    Server(Box<crate::Error>),
    /// A store operation failed.
    #[error(transparent)]
    Store(Box<pilot_store::Error>),
    /// A core operation failed.
    #[error(transparent)]
    Core(Box<pilot_core::Error>),
    /// Fetching or unpacking a source failed.
    #[error(transparent)]
    Source(Box<SourceError>),
    /// Gathering facts about the server's machine failed.
    #[error("cannot gather system information: {reason}; check that /proc and /sys are readable")]
    SystemInfo {
        /// What failed.
        reason: String,
    },
    /// Session tokens cannot be signed or checked with the configured key.
    #[error(
        "the server's session signing key is unusable: {reason}; configure a key of at least 32 random bytes"
    )]
    SigningKey {
        /// What is wrong with it.
        reason: String,
    },
    /// A server-rendered page could not be rendered.
    #[error("the {page} page cannot be rendered: {reason}; report this to the Pilot maintainers")]
    Render {
        /// Which page.
        page: &'static str,
        /// The template engine's message.
        reason: String,
    },
    /// A response could not be encoded as JSON.
    #[error("the {what} cannot be encoded as JSON: {reason}; report this to the Pilot maintainers")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        reason: String,
    },
    /// A file operation on the server failed.
    #[error("cannot {action} {path}: {cause}; check the server's data directory", path = path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },
}

impl ApiError {
    /// An [`ApiError::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        ApiError::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// An [`ApiError::NotFound`].
    pub fn not_found(kind: &'static str, key: impl Into<String>) -> Self {
        ApiError::NotFound {
            kind,
            key: key.into(),
        }
    }

    /// The HTTP status and stable code of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized { .. } | ApiError::BadCredentials => {
                (StatusCode::UNAUTHORIZED, "unauthorized")
            }
            ApiError::BadSignature { .. } => (StatusCode::UNAUTHORIZED, "bad_signature"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::CsrfMismatch => (StatusCode::FORBIDDEN, "csrf"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            ApiError::InvalidConfig(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_config"),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Server(e) => server_status(e),
            ApiError::Store(e) => store_status(e),
            ApiError::Core(e) => core_status(e),
            ApiError::Source(e) => source_status(e),
            ApiError::Io { .. }
            | ApiError::SystemInfo { .. }
            | ApiError::Render { .. }
            | ApiError::Encode { .. }
            | ApiError::SigningKey { .. } => internal(),
        }
    }

    /// Every config problem behind this error, if it is about a config.
    fn problems(&self) -> Option<&[Problem]> {
        let config = match self {
            ApiError::InvalidConfig(e) => e,
            ApiError::Core(e) => core_config(e)?,
            ApiError::Server(e) => match &**e {
                crate::Error::Core(e) => core_config(e)?,
                crate::Error::Store(e) => store_config(e)?,
                _ => return None,
            },
            ApiError::Store(e) => store_config(e)?,
            _ => return None,
        };
        Some(config.problems()).filter(|p| !p.is_empty())
    }
}

/// Boxes the wrapped errors, keeping `ApiResult` small.
macro_rules! boxed_from {
    ($($variant:ident($error:ty)),* $(,)?) => {$(
        impl From<$error> for ApiError {
            fn from(e: $error) -> Self {
                ApiError::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    Server(crate::Error),
    Store(pilot_store::Error),
    Core(pilot_core::Error),
    Source(SourceError),
);

fn core_config(e: &pilot_core::Error) -> Option<&ConfigError> {
    match e {
        pilot_core::Error::Config(config) => Some(config),
        _ => None,
    }
}

fn store_config(e: &pilot_store::Error) -> Option<&ConfigError> {
    match e {
        pilot_store::Error::Core(e) => core_config(e),
        _ => None,
    }
}

fn internal() -> (StatusCode, &'static str) {
    (StatusCode::INTERNAL_SERVER_ERROR, "internal")
}

fn server_status(e: &crate::Error) -> (StatusCode, &'static str) {
    use crate::Error as E;
    match e {
        E::Core(e) => core_status(e),
        E::Store(e) => store_status(e),
        E::Link(LinkError::NodeOffline { .. }) => (StatusCode::SERVICE_UNAVAILABLE, "node_offline"),
        E::Link(LinkError::UnknownNode { .. }) | E::UnknownProject { .. } => {
            (StatusCode::NOT_FOUND, "not_found")
        }
        E::NoNodes { .. } => (StatusCode::CONFLICT, "no_nodes"),
        E::InvalidRequest { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        _ => internal(),
    }
}

fn store_status(e: &pilot_store::Error) -> (StatusCode, &'static str) {
    use pilot_store::Error as E;
    match e {
        E::Core(e) => core_status(e),
        E::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
        E::AlreadyExists { .. } => (StatusCode::CONFLICT, "already_exists"),
        E::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        _ => internal(),
    }
}

fn core_status(e: &pilot_core::Error) -> (StatusCode, &'static str) {
    use pilot_core::Error as E;
    match e {
        E::Config(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_config"),
        E::Source(e) => source_status(e),
        E::InvalidProjectName { .. } | E::MissingSecrets { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
        }
        E::UnknownGeneration { .. } => (StatusCode::NOT_FOUND, "not_found"),
        E::Busy { .. } => (StatusCode::CONFLICT, "busy"),
        _ => internal(),
    }
}

fn source_status(e: &SourceError) -> (StatusCode, &'static str) {
    use SourceError as E;
    match e {
        E::UnsafeEntry { .. }
        | E::TooLarge { .. }
        | E::TooManyFiles { .. }
        | E::UnknownArchiveFormat { .. }
        | E::CorruptArchive { .. }
        | E::UnsupportedArchiveEntry { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_archive")
        }
        E::RepositoryNotFound { .. }
        | E::AuthenticationRequired { .. }
        | E::BranchNotFound { .. }
        | E::TagNotFound { .. }
        | E::NoDefaultBranch { .. }
        | E::CommitNotFound { .. }
        | E::AmbiguousCommit { .. }
        | E::InvalidCommit { .. }
        | E::DownloadTooLarge { .. }
        | E::Git { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_source"),
        _ => internal(),
    }
}

/// A fresh id tying an internal error's response to its log line.
fn error_id() -> String {
    let mut bytes = [0u8; 6];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// What an internal error's response says instead of the error itself
/// (which may name files, queries or addresses of the server).
fn internal_message(id: &str) -> String {
    format!(
        "the server failed to handle the request (error id {id}); the server's log has the details under this id"
    )
}

impl ApiError {
    /// What the client is told: the error's message, or for an internal
    /// error an id under which it is logged now.
    pub(crate) fn public_message(&self) -> String {
        let (status, code) = self.status_and_code();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            let id = error_id();
            tracing::error!(code, error_id = %id, error = %self, "request failed");
            internal_message(&id)
        } else {
            if status.is_server_error() {
                tracing::warn!(code, error = %self, "request failed");
            }
            self.to_string()
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = self.public_message();
        let details = match &self {
            ApiError::Invalid { field, reason } => {
                Some(serde_json::json!([{ "path": field, "message": reason }]))
            }
            _ => self
                .problems()
                .and_then(|problems| serde_json::to_value(problems).ok()),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
                details,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Unauthorized { .. } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"pilot\""),
                );
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_problems_become_details() {
        let error = ApiError::InvalidConfig(ConfigError::from_problems(vec![
            Problem::new("runtime.node", "unsupported node version \"19\"").with_hint("use \"20\""),
        ]));
        assert_eq!(error.status_and_code().1, "invalid_config");
        let problems = error.problems().expect("problems");
        assert_eq!(problems[0].path, "runtime.node");
    }

    #[tokio::test]
    async fn internal_errors_answer_an_id_and_not_their_text() {
        let error = ApiError::Io {
            action: "read",
            path: "/var/lib/pilot/secret-place".into(),
            cause: std::io::Error::other("disk on fire"),
        };
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(body.error.code, "internal");
        let message = body.error.message;
        assert!(
            !message.contains("secret-place") && !message.contains("fire"),
            "{message}"
        );
        let id = message
            .split("error id ")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .expect("an error id");
        assert_eq!(id.len(), 12, "{message}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{message}");
    }

    #[tokio::test]
    async fn client_errors_keep_their_message() {
        let response = ApiError::not_found("project", "shop").into_response();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: ErrorBody = serde_json::from_slice(&body).unwrap();
        assert!(body.error.message.contains("project shop does not exist"));
    }

    #[test]
    fn wrapped_errors_keep_their_meaning() {
        let missing = ApiError::from(crate::Error::UnknownProject {
            project: "shop".into(),
        });
        assert_eq!(missing.status_and_code().0, StatusCode::NOT_FOUND);
        let offline = ApiError::from(crate::Error::Link(LinkError::NodeOffline {
            node: "web-1".into(),
        }));
        assert_eq!(offline.status_and_code().1, "node_offline");
        let taken = ApiError::from(pilot_store::Error::AlreadyExists {
            kind: "node",
            key: "web-1".into(),
        });
        assert_eq!(taken.status_and_code().0, StatusCode::CONFLICT);
    }
}

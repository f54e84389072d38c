//! [`ClientError`]: every way a call of the API client can fail.

use std::path::PathBuf;

/// Result of [`Client`](super::Client) calls.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Why a call of the API client failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused the session token, or none was given.
    #[error("not logged in to {server} ({reason}); run `pilot login`")]
    NotLoggedIn {
        /// The server's base URL.
        server: String,
        /// What the server said about the token.
        reason: String,
    },
    /// The server answered with an error response.
    #[error("{message} (HTTP {status}, {code})")]
    Api {
        /// HTTP status code.
        status: u16,
        /// The API's stable error code, e.g. `not_found`, `invalid_config`.
        code: String,
        /// What is wrong and what to do, as the server said it.
        message: String,
        /// Structured details, e.g. every problem of an invalid config.
        details: Option<serde_json::Value>,
    },
    /// The base URL is not a usable `http://` or `https://` URL.
    #[error("invalid server URL {url:?}: {reason}; pass one like `http://127.0.0.1:8080`")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached.
    #[error(
        "cannot reach the pilot server at {url}: {cause}; check that it runs (`pilot serve`) \
         and that the URL is right (`--server` or PILOT_SERVER)"
    )]
    Unreachable {
        /// The URL asked for.
        url: String,
        /// The transport error.
        cause: reqwest::Error,
    },
    /// A request failed on the way (timeout, broken connection, body).
    #[error("request {method} {url} failed: {cause}; try again")]
    Transport {
        /// The HTTP method.
        method: String,
        /// The URL.
        url: String,
        /// The transport error.
        cause: reqwest::Error,
    },
    /// The response is not what the API sends.
    #[error(
        "the server at {url} answered HTTP {status} with an unexpected body ({reason}); \
         check that the URL points at a pilot server of the same version"
    )]
    UnexpectedResponse {
        /// The URL asked for.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Why the body could not be used.
        reason: String,
    },
    /// A WebSocket could not be opened or broke.
    #[error("the live connection to {url} failed: {cause}; check the server and try again")]
    WebSocket {
        /// The WebSocket URL.
        url: String,
        /// The WebSocket error.
        cause: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// TLS for a `wss://` connection could not be set up.
    #[error("cannot set up TLS for {url}: {reason}; check the system's CA certificates")]
    Tls {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The WebSocket sent a message the client does not understand.
    #[error(
        "the server sent a live message that is not understood ({reason}); check that client and server are the same version"
    )]
    BadMessage {
        /// Why it could not be read.
        reason: String,
    },
    /// A file of a directory to upload could not be read or packed.
    #[error("cannot {action} {}: {cause}; check the app directory", path.display())]
    Pack {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },
}

impl ClientError {
    /// The HTTP status of an API error response, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            ClientError::NotLoggedIn { .. } => Some(401),
            _ => None,
        }
    }

    /// The API's error code (`not_found`, `invalid_config`, ...), if this
    /// is an API error response.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            ClientError::NotLoggedIn { .. } => Some("unauthorized"),
            _ => None,
        }
    }

    /// Whether the server said the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Every problem of an invalid app config when the server rejected one
    /// (the `invalid_config` details); empty for other errors.
    pub fn config_problems(&self) -> Vec<ConfigProblem> {
        let ClientError::Api {
            details: Some(details),
            ..
        } = self
        else {
            return Vec::new();
        };
        serde_json::from_value(details.clone()).unwrap_or_default()
    }

    /// An [`ClientError::Pack`].
    pub(crate) fn pack(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        ClientError::Pack {
            action,
            path: path.into(),
            cause: source,
        }
    }

    /// A [`ClientError::WebSocket`].
    pub(crate) fn websocket(url: &str, source: tokio_tungstenite::tungstenite::Error) -> Self {
        ClientError::WebSocket {
            url: url.to_string(),
            cause: Box::new(source),
        }
    }
}

/// One problem of an app config the server rejected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ConfigProblem {
    /// The field, e.g. `runtime.node`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, if known.
    #[serde(default)]
    pub hint: Option<String>,
    /// Line in the config file, if known.
    #[serde(default)]
    pub line: Option<u64>,
    /// Column in the config file, if known.
    #[serde(default)]
    pub column: Option<u64>,
}

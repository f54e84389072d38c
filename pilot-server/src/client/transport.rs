//! Requests and responses: URLs, the bearer token, error bodies.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Client;
use super::error::{ClientError, Result};
use crate::api::types::ErrorBody;

/// What a request carries.
pub(crate) enum Body<'a> {
    /// Nothing.
    Empty,
    /// A JSON document.
    Json(serde_json::Value),
    /// Raw bytes with a content type (archives).
    Bytes(Vec<u8>, &'a str),
}

impl Body<'_> {
    /// A JSON body from any serialisable value.
    pub(crate) fn json(value: &impl Serialize) -> Result<Self> {
        serde_json::to_value(value)
            .map(Body::Json)
            .map_err(|e| ClientError::BadMessage {
                reason: format!("cannot encode the request: {e}"),
            })
    }
}

/// Whether a 401 means "log in" (every call but the login itself).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// A 401 is a [`ClientError::NotLoggedIn`].
    Session,
    /// A 401 is an ordinary API error (wrong credentials).
    Credentials,
}

impl Client {
    /// `<base>/api/v1/<segments...>`, each segment percent-encoded.
    pub(crate) fn api_url(&self, segments: &[&str]) -> Url {
        let mut all = vec!["api", "v1"];
        all.extend_from_slice(segments);
        self.url(&all)
    }

    /// `<base>/<segments...>`, each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends a request and decodes the JSON answer.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        query: &[(String, String)],
        body: Body<'_>,
    ) -> Result<T> {
        let response = self
            .send(method, url.clone(), query, body, Auth::Session)
            .await?;
        decode(url, response).await
    }

    /// Sends a request whose answer carries nothing of interest.
    pub(crate) async fn call_empty(&self, method: Method, url: Url, body: Body<'_>) -> Result<()> {
        self.send(method, url, &[], body, Auth::Session).await?;
        Ok(())
    }

    /// A GET with query pairs, decoded.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        url: Url,
        query: &[(String, String)],
    ) -> Result<T> {
        self.call(Method::GET, url, query, Body::Empty).await
    }

    /// Sends a request; any answer but 2xx becomes an error.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        query: &[(String, String)],
        body: Body<'_>,
        auth: Auth,
    ) -> Result<Response> {
        let mut url = url;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self.request(method.clone(), url.clone());
        request = match body {
            Body::Empty => request,
            Body::Json(value) => request.json(&value),
            Body::Bytes(bytes, content_type) => {
                request.header(CONTENT_TYPE, content_type).body(bytes)
            }
        };
        let response = request.send().await.map_err(|source| {
            if source.is_connect() {
                ClientError::Unreachable {
                    url: url.to_string(),
                    cause: source,
                }
            } else {
                ClientError::Transport {
                    method: method.to_string(),
                    url: url.to_string(),
                    cause: source,
                }
            }
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.error_of(url, response, auth).await)
    }

    /// A request builder with the bearer token, if any.
    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let request = self.http.request(method, url);
        match &self.token {
            Some(token) => request.header(AUTHORIZATION, format!("Bearer {token}")),
            None => request,
        }
    }

    /// The error an unsuccessful response stands for.
    async fn error_of(&self, url: Url, response: Response, auth: Auth) -> ClientError {
        let status = response.status();
        let text = match response.text().await {
            Ok(text) => text,
            Err(e) => {
                return ClientError::UnexpectedResponse {
                    url: url.to_string(),
                    status: status.as_u16(),
                    reason: format!("cannot read the body: {e}"),
                };
            }
        };
        let Ok(body) = serde_json::from_str::<ErrorBody>(&text) else {
            return ClientError::UnexpectedResponse {
                url: url.to_string(),
                status: status.as_u16(),
                reason: format!("not an API error: {}", excerpt(&text)),
            };
        };
        let detail = body.error;
        if status == StatusCode::UNAUTHORIZED
            && detail.code == "unauthorized"
            && auth == Auth::Session
        {
            let reason = match &self.token {
                None => "no session token".to_string(),
                Some(_) => detail
                    .message
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            };
            return ClientError::NotLoggedIn {
                server: self.base_url().to_string(),
                reason,
            };
        }
        ClientError::Api {
            status: status.as_u16(),
            code: detail.code,
            message: detail.message,
            details: detail.details,
        }
    }
}

/// Decodes a JSON response.
pub(crate) async fn decode<T: DeserializeOwned>(url: Url, response: Response) -> Result<T> {
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ClientError::UnexpectedResponse {
            url: url.to_string(),
            status,
            reason: format!("cannot read the body: {e}"),
        })?;
    serde_json::from_slice(&bytes).map_err(|e| ClientError::UnexpectedResponse {
        url: url.to_string(),
        status,
        reason: format!("{e}: {}", excerpt(&String::from_utf8_lossy(&bytes))),
    })
}

/// The start of a body, for error messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 120;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "empty body".to_string();
    }
    match trimmed.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}...", &trimmed[..cut]),
        None => format!("{trimmed:?}"),
    }
}

/// Query pairs from `(name, value)` with optional values.
pub(crate) fn pairs<const N: usize>(items: [(&str, Option<String>); N]) -> Vec<(String, String)> {
    items
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
}

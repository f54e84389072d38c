//! Body and query extractors whose failures answer in the API's JSON error
//! format instead of axum's plain text, and a JSON response encoded in one
//! pass into a plain buffer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The media type of JSON responses (as `axum::Json` sends it).
const JSON_TYPE: &str = "application/json";
/// The body limit of JSON requests (axum's default).
const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON body; an empty body reads as `{}`, so requests whose fields are
/// all optional may send none.
///
/// As a response, the value encoded as JSON. Unlike `axum::Json`, which
/// writes each token through a `BytesMut` writer, it encodes into one
/// growing `Vec`: several times cheaper for large answers such as metric
/// series.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                [(header::CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE))],
                body,
            )
                .into_response(),
            Err(e) => ApiError::Encode {
                what: "response",
                reason: e.to_string(),
            }
            .into_response(),
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge { limit: JSON_LIMIT },
                _ => ApiError::BadRequest {
                    reason: e.body_text().to_lowercase(),
                },
            })?;
        let text: &[u8] = if bytes.trim_ascii().is_empty() {
            b"{}"
        } else {
            &bytes
        };
        Json::<T>::from_bytes(text)
            .map(|Json(value)| ApiJson(value))
            .map_err(|e| ApiError::BadRequest {
                reason: e.body_text().to_lowercase(),
            })
    }
}

/// A query string.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| ApiError::BadRequest {
                reason: e.body_text().to_lowercase(),
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use http_body_util::BodyExt;

    use super::*;

    async fn body(response: Response) -> Vec<u8> {
        response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec()
    }

    #[tokio::test]
    async fn responses_are_json_with_its_media_type() {
        let value = serde_json::json!({ "points": [{ "timestamp_ms": 1, "value": 0.5 }] });
        let response = ApiJson(&value).into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], JSON_TYPE);
        let sent: serde_json::Value = serde_json::from_slice(&body(response).await).expect("json");
        assert_eq!(sent, value);
    }

    #[tokio::test]
    async fn a_value_json_cannot_hold_is_an_internal_error() {
        let unencodable = BTreeMap::from([(vec![1u8], 1)]);
        let response = ApiJson(unencodable).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let sent: serde_json::Value = serde_json::from_slice(&body(response).await).expect("json");
        assert_eq!(sent["error"]["code"], "internal");
        let message = sent["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("the server failed to handle the request (error id "),
            "{message}"
        );
    }
}

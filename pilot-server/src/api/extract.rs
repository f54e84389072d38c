//! Body and query extractors whose failures answer in the API's JSON error
//! format instead of axum's plain text.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The body limit of JSON requests (axum's default).
const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON body; an empty body reads as `{}`, so requests whose fields are
/// all optional may send none.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

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

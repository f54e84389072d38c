//! The GitHub push webhook: `POST /api/v1/webhooks/github/{project}`.
//!
//! Each git project gets a random secret at creation (admins read it with
//! `GET /api/v1/projects/{name}/webhook`). A delivery must carry
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` made with
//! it, checked in constant time. A `push` to the project's branch deploys
//! the pushed commit; anything else is acknowledged with 202 and a reason.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use pilot_core::source::GitRef;
use pilot_store::records::ProjectSource;
use serde::Deserialize;
use sha2::Sha256;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit;
use super::error::{ApiError, ApiResult};
use super::state::AppState;
use super::types::{ErrorBody, WebhookOutcome, WebhookStatus};
use crate::deploy::{DeployOrder, RolloutKind};

/// Settings key prefix of webhook secrets.
const SECRET_KEY: &str = "project.webhook_secret.";
/// The header carrying the signature.
const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The header naming the event.
const EVENT_HEADER: &str = "x-github-event";

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(github))
}

/// Generates and stores a new webhook secret for `project`.
pub(crate) async fn create_secret(state: &AppState, project: &str) -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let secret = hex::encode(bytes);
    state
        .store
        .set_setting(&format!("{SECRET_KEY}{project}"), &secret)
        .await?;
    Ok(secret)
}

/// The webhook secret of `project`, if it has one.
pub(crate) async fn secret(state: &AppState, project: &str) -> ApiResult<Option<String>> {
    Ok(state
        .store
        .setting(&format!("{SECRET_KEY}{project}"))
        .await?)
}

/// Forgets the webhook secret of `project`.
pub(crate) async fn delete_secret(state: &AppState, project: &str) -> ApiResult<()> {
    state
        .store
        .delete_setting(&format!("{SECRET_KEY}{project}"))
        .await?;
    Ok(())
}

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under
/// `secret`; the comparison takes the same time wherever they differ.
pub fn signature_matches(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_digest) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The parts of a push event Pilot reads.
#[derive(Debug, Deserialize)]
struct PushEvent {
    /// `refs/heads/<branch>` or `refs/tags/<tag>`.
    #[serde(rename = "ref")]
    reference: String,
    /// The commit the ref points at now (all zeros when deleted).
    after: String,
    /// Whether the ref was deleted.
    #[serde(default)]
    deleted: bool,
    /// The repository.
    repository: Option<PushRepository>,
}

#[derive(Debug, Deserialize)]
struct PushRepository {
    default_branch: Option<String>,
}

fn ignored(reason: impl Into<String>) -> (StatusCode, Json<WebhookOutcome>) {
    (
        StatusCode::ACCEPTED,
        Json(WebhookOutcome {
            status: WebhookStatus::Ignored,
            reason: Some(reason.into()),
            rollout: None,
        }),
    )
}

/// Receives a GitHub delivery for a project. No session is needed: the
/// body must be signed with the project's webhook secret.
#[utoipa::path(
    post, path = "/webhooks/github/{name}", tag = "webhooks",
    params(
        ("name" = String, Path, description = "The project"),
        ("X-Hub-Signature-256" = String, Header, description = "sha256=<hex HMAC-SHA256 of the body>"),
        ("X-GitHub-Event" = String, Header, description = "The event, e.g. push or ping"),
    ),
    request_body(content = Object, content_type = "application/json", description = "The GitHub event payload"),
    responses(
        (status = 202, description = "A deploy started, or the delivery was ignored (see reason)", body = WebhookOutcome),
        (status = 401, description = "Missing or wrong signature", body = ErrorBody),
        (status = 422, description = "A push payload that cannot be read", body = ErrorBody),
    )
)]
async fn github(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<WebhookOutcome>)> {
    let bad_signature = || ApiError::BadSignature {
        project: name.clone(),
    };
    let project = state
        .store
        .project(&name)
        .await?
        .ok_or_else(bad_signature)?;
    let secret = secret(&state, &name).await?.ok_or_else(bad_signature)?;
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(bad_signature)?;
    if !signature_matches(secret.as_bytes(), &body, signature) {
        tracing::warn!(project = %name, "webhook delivery with a wrong signature");
        return Err(bad_signature());
    }
    let event = headers
        .get(EVENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if event != "push" {
        return Ok(ignored(format!(
            "event {event:?} is not a push; only pushes deploy"
        )));
    }
    let ProjectSource::Git { branch, .. } = &project.source else {
        return Ok(ignored(
            "the project deploys uploaded archives, not a repository",
        ));
    };
    let push: PushEvent = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("body", format!("it is not a GitHub push payload: {e}")))?;
    let Some(pushed) = push.reference.strip_prefix("refs/heads/") else {
        return Ok(ignored(format!("{} is not a branch", push.reference)));
    };
    let followed = branch
        .clone()
        .or_else(|| push.repository.and_then(|r| r.default_branch));
    if followed.as_deref() != Some(pushed) {
        return Ok(ignored(format!(
            "push to branch {pushed}; the project follows {}",
            followed.as_deref().unwrap_or("the default branch")
        )));
    }
    if push.deleted || push.after.bytes().all(|b| b == b'0') {
        return Ok(ignored(format!("branch {pushed} was deleted")));
    }
    let rollout = state
        .deployer
        .deploy(DeployOrder {
            project: name.clone(),
            reference: Some(GitRef::Commit(push.after.clone())),
            requested_by: "webhook".to_string(),
            ..DeployOrder::default()
        })
        .await?;
    state.telemetry.count_rollout(RolloutKind::Deploy);
    audit::record(
        &state,
        "webhook",
        "project.deploy",
        format!("project:{name}"),
        serde_json::json!({ "rollout": rollout.id, "commit": push.after }),
    )
    .await;
    Ok((
        StatusCode::ACCEPTED,
        Json(WebhookOutcome {
            status: WebhookStatus::Deploying,
            reason: None,
            rollout: Some(rollout),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of GitHub's documentation on validating deliveries.
    #[test]
    fn signatures_match_githubs_documented_example() {
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(signature_matches(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            header
        ));
        assert!(!signature_matches(
            b"It's a Secret to Everybody",
            b"Hello, World?",
            header
        ));
        assert!(!signature_matches(b"secret", b"x", "sha1=00"));
        assert!(!signature_matches(b"secret", b"x", "sha256=zz"));
    }
}

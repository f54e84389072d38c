//! WebSockets: live events (`GET /api/v1/ws`) and log follow
//! (`GET /api/v1/projects/{name}/logs/ws`).
//!
//! The session token comes in the `Authorization` header, as `?token=`, or
//! in the dashboard's session cookie (from a page of this server only). It is checked
//! before the upgrade and again every [`RECHECK`] while the socket is open,
//! so a revoked session loses its sockets too.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{self, cookie};
use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use super::routes::logs::{LinesParam, batches};
use super::state::AppState;
use super::types::{ErrorBody, LogBatch, Subscription, WsNotice};

/// How often an open socket's session is checked again.
const RECHECK: Duration = Duration::from_secs(30);

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(events))
        .routes(routes!(follow_logs))
}

/// Query string carrying a token for clients that cannot set headers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TokenParam {
    /// The session token, when not sent as `Authorization: Bearer`.
    token: Option<String>,
}

/// A verified session token from the header or the `token` query parameter.
struct SocketSession {
    token: String,
}

impl FromRequestParts<AppState> for SocketSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let from_header = auth::bearer(parts)?.map(str::to_string);
        let token = match from_header {
            Some(token) => token,
            None => match Query::<TokenParam>::from_request_parts(parts, state)
                .await
                .ok()
                .and_then(|Query(p)| p.token)
            {
                Some(token) => token,
                None => cookie_session(parts)?,
            },
        };
        auth::verify(state, &token).await?;
        Ok(SocketSession { token })
    }
}

/// The session cookie of a browser's socket, accepted only from a page of
/// this server: a browser sends cookies with WebSockets opened by any site,
/// so the `Origin` must name the host the request was sent to.
fn cookie_session(parts: &Parts) -> ApiResult<String> {
    let token =
        cookie::cookie(&parts.headers, cookie::SESSION_COOKIE).ok_or(ApiError::Unauthorized {
            reason: "no session token was sent (header, ?token= or session cookie)",
        })?;
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let origin_host = header(ORIGIN)
        .and_then(|origin| origin.split_once("://"))
        .map(|(_, host)| host);
    match (origin_host, header(HOST)) {
        (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(host) => Ok(token.to_string()),
        _ => Err(ApiError::CsrfMismatch),
    }
}

/// Sends a JSON message; false when the socket is gone.
async fn send_json<T: serde::Serialize>(socket: &mut WebSocket, value: &T) -> bool {
    match serde_json::to_string(value) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot encode a WebSocket message");
            true
        }
    }
}

/// Closes the socket because the session ended.
async fn close_revoked(socket: &mut WebSocket) {
    let frame = CloseFrame {
        code: close_code::POLICY,
        reason: "the session was revoked or expired; log in again".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// Live events. After the upgrade the client sends a subscription
/// (`{"topics": ["metrics", "nodes", "deploys"], "project"?, "node"?}`),
/// again whenever it wants to change it; the server answers with a
/// `subscribed` notice and streams every matching event as JSON.
#[utoipa::path(
    get, path = "/ws", tag = "live",
    security(("bearer" = [])),
    params(TokenParam),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, description = "Missing, malformed, expired or revoked token", body = ErrorBody),
        (status = 403, description = "The session cookie came from a page of another site", body = ErrorBody),
    )
)]
async fn events(
    State(state): State<AppState>,
    socket: SocketSession,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => upgrade
            .on_upgrade(move |ws| event_loop(ws, state, socket.token))
            .into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn event_loop(mut socket: WebSocket, state: AppState, token: String) {
    let mut rx = state.events.subscribe();
    let mut subscription = Subscription::default();
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    let notice = match serde_json::from_str::<Subscription>(&text) {
                        Ok(new) => {
                            subscription = new;
                            WsNotice::Subscribed { subscription: subscription.clone() }
                        }
                        Err(e) => WsNotice::Error {
                            message: format!(
                                "not a subscription: {e}; send {{\"topics\": [\"metrics\", \"nodes\", \"deploys\"]}}"
                            ),
                        },
                    };
                    if !send_json(&mut socket, &notice).await {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            event = rx.recv() => match event {
                Ok(event) => {
                    if subscription.wants(&event) && !send_json(&mut socket, &*event).await {
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    if !send_json(&mut socket, &WsNotice::Lagged { missed }).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            _ = recheck.tick() => {
                if auth::verify(&state, &token).await.is_err() {
                    close_revoked(&mut socket).await;
                    return;
                }
            }
        }
    }
}

/// Follows the project's logs on every connected node: the last `lines`
/// lines, then new ones as they come, as `LogBatch` JSON messages; a batch
/// with `done` ends a node's stream. Closing the socket stops the follow.
#[utoipa::path(
    get, path = "/projects/{name}/logs/ws", tag = "live",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project"), LinesParam, TokenParam),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, description = "Missing, malformed, expired or revoked token", body = ErrorBody),
        (status = 403, description = "The session cookie came from a page of another site", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 503, description = "No node of the project is connected", body = ErrorBody),
    )
)]
async fn follow_logs(
    State(state): State<AppState>,
    socket: SocketSession,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<LinesParam>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let project = state
        .store
        .project(&name)
        .await?
        .ok_or_else(|| ApiError::not_found("project", name.clone()))?;
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let runs = state.deployer.logs(&name, params.count(), true).await?;
    let offline: Vec<LogBatch> = project
        .nodes
        .iter()
        .filter(|node| !runs.iter().any(|run| &run.node == *node))
        .map(|node| LogBatch {
            node: node.clone(),
            lines: Vec::new(),
            done: true,
            error: Some(format!(
                "node {node} is not connected; check that its agent runs"
            )),
        })
        .collect();
    Ok(upgrade
        .on_upgrade(move |mut ws| async move {
            for batch in &offline {
                if !send_json(&mut ws, batch).await {
                    return;
                }
            }
            let streams = futures::stream::select_all(runs.into_iter().map(batches));
            log_loop(ws, state, socket.token, streams).await;
        })
        .into_response())
}

async fn log_loop(
    mut socket: WebSocket,
    state: AppState,
    token: String,
    mut streams: impl futures::Stream<Item = LogBatch> + Unpin,
) {
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            batch = streams.next() => match batch {
                Some(batch) => {
                    if !send_json(&mut socket, &batch).await {
                        return;
                    }
                }
                None => {
                    let _ = socket.send(Message::Close(Some(CloseFrame {
                        code: close_code::NORMAL,
                        reason: "every node's log stream ended".into(),
                    }))).await;
                    return;
                }
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            _ = recheck.tick() => {
                if auth::verify(&state, &token).await.is_err() {
                    close_revoked(&mut socket).await;
                    return;
                }
            }
        }
    }
}

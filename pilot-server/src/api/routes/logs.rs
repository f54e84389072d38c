//! `GET /projects/{name}/logs`: the last lines of the project's services on
//! every node. Live follow is the WebSocket `GET /projects/{name}/logs/ws`.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use futures::Stream;
use pilot_core::protocol::CommandOutcome;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::env::project as find_project;
use crate::api::auth::Authenticated;
use crate::api::error::ApiResult;
use crate::api::extract::ApiQuery;
use crate::api::state::AppState;
use crate::api::types::{ErrorBody, LogBatch, LogsResponse, NodeLogs};
use crate::node_link::{CommandRun, CommandUpdate};

/// Lines returned when not asked.
const DEFAULT_LINES: u32 = 100;
/// Most lines one request may ask for.
const MAX_LINES: u32 = 10_000;
/// How long a node may take to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(logs))
}

/// Query string of the log routes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LinesParam {
    /// How many of the last lines per node (default 100, at most 10000).
    pub(crate) lines: Option<u32>,
}

impl LinesParam {
    /// The number of lines asked for, bounded.
    pub(crate) fn count(&self) -> u32 {
        self.lines.unwrap_or(DEFAULT_LINES).min(MAX_LINES)
    }
}

/// What a command update means for a log reader; `None` for updates that
/// are not about logs.
pub(crate) fn log_batch(node: &str, update: CommandUpdate) -> Option<LogBatch> {
    let (lines, done, error) = match update {
        CommandUpdate::Log(lines) => (lines, false, None),
        CommandUpdate::Finished(CommandOutcome::Succeeded { .. }) => (Vec::new(), true, None),
        CommandUpdate::Finished(CommandOutcome::Failed { error }) => {
            (Vec::new(), true, Some(error))
        }
        CommandUpdate::Finished(CommandOutcome::Refused { reason })
        | CommandUpdate::Lost { reason } => (Vec::new(), true, Some(reason)),
        CommandUpdate::Progress(_) | CommandUpdate::Journal(_) => return None,
    };
    Some(LogBatch {
        node: node.to_string(),
        lines,
        done,
        error,
    })
}

/// The log batches of a run, ending after its final update.
pub(crate) fn batches(run: CommandRun) -> impl Stream<Item = LogBatch> + Send + Unpin {
    Box::pin(futures::stream::unfold(Some(run), |run| async move {
        let mut run = run?;
        loop {
            let update = run.next().await?;
            let last = update.is_final();
            if let Some(batch) = log_batch(&run.node, update) {
                return Some((batch, (!last).then_some(run)));
            }
        }
    }))
}

/// Collects one node's lines until its command ends.
async fn collect(run: CommandRun) -> NodeLogs {
    use futures::StreamExt;
    let node = run.node.clone();
    let mut logs = NodeLogs {
        node: node.clone(),
        lines: Vec::new(),
        error: None,
    };
    let mut stream = batches(run);
    let read = async {
        while let Some(batch) = stream.next().await {
            logs.lines.extend(batch.lines);
            if batch.done {
                logs.error = batch.error;
                return;
            }
        }
    };
    if tokio::time::timeout(ANSWER_TIMEOUT, read).await.is_err() {
        logs.error = Some(format!(
            "node {node} sent no complete answer within {} s; check its agent",
            ANSWER_TIMEOUT.as_secs()
        ));
    }
    logs
}

/// The last lines of the project's services on each of its nodes (secrets
/// masked by the agents). Offline nodes are listed with an error.
#[utoipa::path(
    get, path = "/projects/{name}/logs", tag = "logs",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project"), LinesParam),
    responses(
        (status = 200, description = "Lines per node", body = LogsResponse),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 503, description = "No node of the project is connected", body = ErrorBody),
    )
)]
async fn logs(
    State(state): State<AppState>,
    _: Authenticated,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<LinesParam>,
) -> ApiResult<Json<LogsResponse>> {
    let project = find_project(&state, &name).await?;
    let runs = state.deployer.logs(&name, params.count(), false).await?;
    let mut answered: Vec<NodeLogs> =
        futures::future::join_all(runs.into_iter().map(collect)).await;
    for node in &project.nodes {
        if !answered.iter().any(|l| &l.node == node) {
            answered.push(NodeLogs {
                node: node.clone(),
                lines: Vec::new(),
                error: Some(format!(
                    "node {node} is not connected; check that its agent runs"
                )),
            });
        }
    }
    answered.sort_by(|a, b| a.node.cmp(&b.node));
    Ok(Json(LogsResponse {
        project: name,
        nodes: answered,
    }))
}

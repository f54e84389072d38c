//! `/projects/{name}`: deploy, progress, history and rollback, start and
//! stop, logs, charts, health, secrets and the webhook of one project.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use pilot_core::engine::DeploymentKind;
use pilot_core::engine::{DeployState, StepStatus};
use pilot_store::records::{AuditFilter, DeploymentRecord, DeploymentSummary};

use crate::api::routes::env::secret_names;
use crate::api::types::ProjectSourceView;
use crate::api::{ApiError, AppState};
use crate::web::facts::{self, ProjectRow};
use crate::web::render::{OrPage, PageResult, page};
use crate::web::session::Viewer;
use crate::web::view::{Shell, duration, iso, utc};

/// Deployments listed in the history.
const HISTORY: u32 = 20;
/// Secret changes listed in the audit trail.
const AUDIT: u32 = 20;

/// One deployment of the history.
struct HistoryRow {
    id: String,
    node: String,
    generation: u64,
    kind: String,
    version: String,
    state: String,
    started_iso: String,
    started: String,
    took: String,
    /// The failed step and its error, when it failed.
    failed_step: String,
    reason: String,
    /// Whether this generation may be rolled back to (it succeeded before
    /// and is not the live one).
    can_roll_back: bool,
}

/// One secret's name and where it applies.
struct SecretRow {
    key: String,
    scope: String,
    node: String,
}

/// One change to the project's secrets.
struct AuditRow {
    at_iso: String,
    at: String,
    actor: String,
    action: String,
    secret: String,
}

/// The project page.
#[derive(Template)]
#[template(path = "web/project.html")]
struct ProjectPage {
    shell: Shell,
    row: ProjectRow,
    app_type: String,
    source: String,
    is_git: bool,
    multi_node: bool,
    history: Vec<HistoryRow>,
    secrets: Vec<SecretRow>,
    missing: Vec<String>,
    audit: Vec<AuditRow>,
}

fn history_row(record: &DeploymentRecord, live_generation: u64) -> HistoryRow {
    let d = &record.deployment;
    let state = d.state();
    let failed = d.steps.iter().find(|s| s.status == StepStatus::Failed);
    HistoryRow {
        id: d.id.clone(),
        node: record.node.clone(),
        generation: d.generation,
        kind: match d.kind {
            DeploymentKind::Deploy { .. } => "deploy",
            _ => "rollback",
        }
        .to_string(),
        version: d.version.clone().unwrap_or_else(|| "-".into()),
        state: state.to_string().replace('_', " "),
        started_iso: iso(d.created_ms),
        started: utc(d.created_ms),
        took: d
            .finished_ms
            .map(|end| duration(end - d.created_ms))
            .unwrap_or_default(),
        failed_step: failed
            .map(|s| {
                format!(
                    "{}: {}",
                    s.step.to_string().replace('_', " "),
                    s.error.clone().unwrap_or_default()
                )
            })
            .unwrap_or_default(),
        reason: d.reason.clone().unwrap_or_default(),
        can_roll_back: state == DeployState::Succeeded && d.generation != live_generation,
    }
}

/// `GET /projects/{name}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> PageResult {
    let shell = Shell::new(&viewer, format!("Project {name}"), "overview")
        .topics("deploys,metrics")
        .project(&name);
    let project = state
        .store
        .project(&name)
        .await
        .or_page(&shell)?
        .ok_or_else(|| ApiError::not_found("project", name.clone()))
        .or_page(&shell)?;
    let deployments = state
        .store
        .deployments(&name, HISTORY)
        .await
        .or_page(&shell)?;
    let host = facts::request_host(&headers);
    let summaries: Vec<DeploymentSummary> = deployments.iter().map(Into::into).collect();
    let row = facts::project_row(&state, &(&project).into(), &summaries, &host);
    let mut seen = std::collections::HashSet::new();
    let history = deployments
        .iter()
        .map(|r| {
            let mut row = history_row(r, row.generation);
            // One rollback button per generation.
            row.can_roll_back &= seen.insert(row.generation);
            row
        })
        .collect();
    let names = secret_names(&state, &name).await.or_page(&shell)?;
    let mut secrets: Vec<SecretRow> = names
        .project
        .iter()
        .map(|key| SecretRow {
            key: key.clone(),
            scope: "all nodes".into(),
            node: String::new(),
        })
        .collect();
    for (node, keys) in &names.nodes {
        secrets.extend(keys.iter().map(|key| SecretRow {
            key: key.clone(),
            scope: format!("node {node}"),
            node: node.clone(),
        }));
    }
    let audit = state
        .store
        .audit_entries(&AuditFilter {
            target: Some(format!("project:{name}")),
            limit: AUDIT * 5,
            ..AuditFilter::default()
        })
        .await
        .or_page(&shell)?
        .into_iter()
        .filter(|e| e.action.starts_with("secret."))
        .take(AUDIT as usize)
        .map(|e| AuditRow {
            at_iso: iso(e.at_ms),
            at: utc(e.at_ms),
            action: match e.action.as_str() {
                "secret.set" => "set".to_string(),
                "secret.delete" => "removed".to_string(),
                other => other.trim_start_matches("secret.").to_string(),
            },
            secret: e
                .detail
                .get("secret")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            actor: e.actor,
        })
        .collect();
    let (source, is_git) = match ProjectSourceView::from(&project.source) {
        ProjectSourceView::Git { url, branch } => (
            match branch {
                Some(branch) => format!("{url} ({branch})"),
                None => url,
            },
            true,
        ),
        ProjectSourceView::Upload => ("uploaded archives".to_string(), false),
    };
    Ok(page(
        &ProjectPage {
            app_type: project.config.app_type.to_string(),
            multi_node: project.nodes.len() > 1,
            missing: names.missing,
            shell,
            row,
            source,
            is_git,
            history,
            secrets,
            audit,
        },
        "project",
    ))
}

//! `/projects`: create (from git or an upload), list, inspect, change the
//! config, remove, and the webhook secret.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pilot_core::layout::validate_project_name;
use pilot_core::{SecretScope, SecretStore};
use pilot_store::records::{NewProject, Project, ProjectSource};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::env::project as find_project;
use crate::api::audit;
use crate::api::auth::{Admin, Authenticated};
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::state::AppState;
use crate::api::types::{
    CreateProjectRequest, CreatedProject, ErrorBody, ProjectDetail, ProjectSummary, RemovedProject,
    UploadProjectQuery, WebhookInfo,
};
use crate::api::upload::{self, ArchiveBody};
use crate::api::webhook;
use crate::deploy::{DeployOrder, RolloutKind};

/// Deployments shown with a project.
const DEPLOYMENTS_SHOWN: u32 = 10;

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(upload_project))
        .routes(routes!(get_project, delete_project))
        .routes(routes!(set_config))
        .routes(routes!(webhook_info))
}

/// The project with its deployments and rollouts.
pub(crate) async fn detail(state: &AppState, project: Project) -> ApiResult<ProjectDetail> {
    let deployments = state
        .store
        .deployments(&project.name, DEPLOYMENTS_SHOWN)
        .await?;
    let online_nodes = project
        .nodes
        .iter()
        .filter(|n| state.nodes.is_online(n))
        .cloned()
        .collect();
    let rollouts = state.deployer.rollouts_of(&project.name);
    Ok(ProjectDetail {
        summary: ProjectSummary::from(&project),
        online_nodes,
        deployments: deployments.into_iter().collect(),
        rollouts: rollouts.into_iter().collect(),
        config: project.config,
    })
}

/// Checks what can be checked before fetching anything: the name is free
/// and valid, and the nodes exist.
async fn precheck(state: &AppState, name: &str, nodes: &[String]) -> ApiResult<()> {
    validate_project_name(name).map_err(|e| ApiError::invalid("name", e.to_string()))?;
    if state.store.project(name).await?.is_some() {
        return Err(ApiError::Conflict {
            reason: format!(
                "project {name} already exists; pick another name or deploy to the existing one"
            ),
        });
    }
    for node in nodes {
        if state.store.node(node).await?.is_none() {
            return Err(ApiError::invalid(
                "nodes",
                format!("node {node} is not registered; add it with `pilot node add {node}` first"),
            ));
        }
    }
    Ok(())
}

/// Every project, by name.
#[utoipa::path(
    get, path = "/projects", tag = "projects",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The projects", body = Vec<ProjectSummary>),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn list_projects(
    State(state): State<AppState>,
    _: Authenticated,
) -> ApiResult<Json<Vec<ProjectSummary>>> {
    let projects = state.store.projects().await?;
    Ok(Json(projects.iter().map(ProjectSummary::from).collect()))
}

/// Creates a project deployed from a git repository. The server fetches the
/// branch once to read and check `config.vpspilot.json`; an invalid config
/// is refused with 422 and every problem in `details`.
#[utoipa::path(
    post, path = "/projects", tag = "projects",
    security(("bearer" = [])),
    request_body = CreateProjectRequest,
    responses(
        (status = 201, description = "Created", body = CreatedProject),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "Invalid name, nodes, repository or config", body = ErrorBody),
    )
)]
async fn create_project(
    State(state): State<AppState>,
    Admin(session): Admin,
    ApiJson(request): ApiJson<CreateProjectRequest>,
) -> ApiResult<(StatusCode, Json<CreatedProject>)> {
    precheck(&state, &request.name, &request.nodes).await?;
    let branch = request.git.branch.clone().filter(|b| !b.is_empty());
    let config = upload::git_config(&state, &request.git.url, branch.as_deref()).await?;
    let project = state
        .store
        .create_project(NewProject {
            name: request.name.clone(),
            public_port: request.public_port.or(config.port),
            config,
            nodes: request.nodes.clone(),
            source: ProjectSource::Git {
                url: request.git.url.clone(),
                branch,
            },
        })
        .await?;
    let secret = webhook::create_secret(&state, &project.name).await?;
    audit::record(
        &state,
        session.actor(),
        "project.create",
        format!("project:{}", project.name),
        serde_json::json!({ "source": "git", "nodes": project.nodes }),
    )
    .await;
    let info = webhook_view(&state, &project, secret);
    Ok((
        StatusCode::CREATED,
        Json(CreatedProject {
            webhook: info,
            project: detail(&state, project).await?,
            rollout: None,
        }),
    ))
}

/// Creates a project deployed from uploaded archives; the body is a `.zip`
/// or `.tar.gz` of the app (at most the upload limit). With `deploy=true`
/// the archive is deployed right away.
#[utoipa::path(
    post, path = "/projects/{name}/upload", tag = "projects",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The new project's name"), UploadProjectQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "A .zip or .tar.gz of the app"),
    responses(
        (status = 201, description = "Created (and deploying when asked)", body = CreatedProject),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 413, description = "Larger than the upload limit", body = ErrorBody),
        (status = 422, description = "Invalid name, nodes, archive or config", body = ErrorBody),
    )
)]
async fn upload_project(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<UploadProjectQuery>,
    ArchiveBody(archive): ArchiveBody,
) -> ApiResult<(StatusCode, Json<CreatedProject>)> {
    let nodes: Vec<String> = query
        .nodes
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    precheck(&state, &name, &nodes).await?;
    let config = upload::archive_config(&state, &archive, true)
        .await?
        .ok_or_else(|| ApiError::invalid("body", "the archive has no config.vpspilot.json"))?;
    let project = state
        .store
        .create_project(NewProject {
            name: name.clone(),
            public_port: query.public_port.or(config.port),
            config,
            nodes,
            source: ProjectSource::Upload,
        })
        .await?;
    audit::record(
        &state,
        session.actor(),
        "project.create",
        format!("project:{name}"),
        serde_json::json!({ "source": "upload", "nodes": project.nodes }),
    )
    .await;
    let rollout = if query.deploy {
        let rollout = state
            .deployer
            .deploy(DeployOrder {
                project: name.clone(),
                archive: Some(archive),
                requested_by: session.actor().to_string(),
                ..DeployOrder::default()
            })
            .await?;
        state.telemetry.count_rollout(RolloutKind::Deploy);
        audit::record(
            &state,
            session.actor(),
            "project.deploy",
            format!("project:{name}"),
            serde_json::json!({ "rollout": rollout.id, "source": "upload" }),
        )
        .await;
        Some(rollout)
    } else {
        None
    };
    let project = find_project(&state, &name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedProject {
            project: detail(&state, project).await?,
            webhook: None,
            rollout,
        }),
    ))
}

/// One project: status, nodes, config, source, latest deployments and rollouts.
#[utoipa::path(
    get, path = "/projects/{name}", tag = "projects",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The project", body = ProjectDetail),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    )
)]
async fn get_project(
    State(state): State<AppState>,
    _: Authenticated,
    Path(name): Path<String>,
) -> ApiResult<Json<ProjectDetail>> {
    let project = find_project(&state, &name).await?;
    Ok(Json(detail(&state, project).await?))
}

/// Replaces the project's config with the `config.vpspilot.json` document
/// in the body and pins it: deploys use it instead of the one in each
/// release. An invalid config is refused with 422 and every problem.
#[utoipa::path(
    put, path = "/projects/{name}/config", tag = "projects",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project")),
    request_body(content = Object, content_type = "application/json", description = "A config.vpspilot.json document"),
    responses(
        (status = 200, description = "Replaced and pinned", body = ProjectDetail),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 422, description = "Invalid config, every problem in details", body = ErrorBody),
    )
)]
async fn set_config(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<ProjectDetail>> {
    find_project(&state, &name).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid("body", "it is not UTF-8 text; send the JSON document"))?;
    let config = pilot_core::config::parse(text).map_err(ApiError::InvalidConfig)?;
    state.store.update_project_config(&name, &config).await?;
    audit::record(
        &state,
        session.actor(),
        "project.config",
        format!("project:{name}"),
        serde_json::json!({ "pinned": true }),
    )
    .await;
    let project = find_project(&state, &name).await?;
    Ok(Json(detail(&state, project).await?))
}

/// Removes a project: stops it and deletes its releases on every node,
/// then its secrets, webhook and record. Nodes that fail keep their copy
/// (see the per-node results).
#[utoipa::path(
    delete, path = "/projects/{name}", tag = "projects",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "Removed; what each node did", body = RemovedProject),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    )
)]
async fn delete_project(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(name): Path<String>,
) -> ApiResult<Json<RemovedProject>> {
    let project = find_project(&state, &name).await?;
    let results = state.deployer.remove(&name).await?;
    let mut scopes = vec![SecretScope::project(&name)];
    scopes.extend(project.nodes.iter().map(|n| SecretScope::node(&name, n)));
    for scope in &scopes {
        for secret in state.secrets.names(scope).await? {
            state.secrets.delete(scope, &secret).await?;
        }
    }
    webhook::delete_secret(&state, &name).await?;
    state.store.delete_project(&name).await?;
    audit::record(
        &state,
        session.actor(),
        "project.delete",
        format!("project:{name}"),
        serde_json::json!({ "nodes": results }),
    )
    .await;
    Ok(Json(RemovedProject {
        project: name,
        nodes: results.into_iter().collect(),
    }))
}

/// The webhook description of a git project.
fn webhook_view(state: &AppState, project: &Project, secret: String) -> Option<WebhookInfo> {
    let ProjectSource::Git { branch, .. } = &project.source else {
        return None;
    };
    let path = format!("/api/v1/webhooks/github/{}", project.name);
    Some(WebhookInfo {
        url: state
            .settings
            .public_url
            .as_ref()
            .map(|base| format!("{}{path}", base.trim_end_matches('/'))),
        path,
        secret,
        content_type: "application/json".to_string(),
        branch: branch.clone(),
    })
}

/// How to configure the repository's push webhook, with its secret (git
/// projects only).
#[utoipa::path(
    get, path = "/projects/{name}/webhook", tag = "projects",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The webhook and its secret", body = WebhookInfo),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project, or not a git project", body = ErrorBody),
    )
)]
async fn webhook_info(
    State(state): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> ApiResult<Json<WebhookInfo>> {
    let project = find_project(&state, &name).await?;
    let secret = match webhook::secret(&state, &name).await? {
        Some(secret) => secret,
        None if matches!(project.source, ProjectSource::Git { .. }) => {
            webhook::create_secret(&state, &name).await?
        }
        None => return Err(ApiError::not_found("webhook of project", name)),
    };
    webhook_view(&state, &project, secret)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("webhook of project", name))
}

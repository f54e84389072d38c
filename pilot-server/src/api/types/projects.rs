//! Projects: creation, listing, details, removal, webhook.

use pilot_core::AppConfig;
use pilot_store::records::{DeploymentRecord, Project, ProjectSource, ProjectStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rollouts::{NodeResult, Rollout};

/// `POST /api/v1/projects` (admin): a project deployed from a git repository.
/// The server fetches the repository once to read and check its
/// `config.vpspilot.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateProjectRequest {
    /// Project name: lowercase letters, digits and `-`.
    pub name: String,
    /// Nodes to deploy to (registered node names).
    pub nodes: Vec<String>,
    /// The public port traffic arrives on (default: the config's `port`, or
    /// one Pilot picks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_port: Option<u16>,
    /// The repository.
    pub git: GitSourceRequest,
}

/// A git repository and the branch deploys follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GitSourceRequest {
    /// Repository URL (`https://`, `http://`, `git://`, `file://` or a path
    /// on the server). Credentials in it are never shown back.
    pub url: String,
    /// Branch to follow (default: the remote's default branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

/// Query string of `POST /api/v1/projects/{name}/upload` (admin), whose
/// body is a `.zip` or `.tar.gz` of the app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadProjectQuery {
    /// Nodes to deploy to, comma-separated.
    pub nodes: String,
    /// The public port (default: the config's `port`, or one Pilot picks).
    pub public_port: Option<u16>,
    /// Also deploy the uploaded archive right away.
    #[serde(default)]
    pub deploy: bool,
}

/// A project just created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedProject {
    /// The project.
    pub project: ProjectDetail,
    /// The GitHub webhook to configure for push deploys (git projects).
    pub webhook: Option<WebhookInfo>,
    /// The deploy started with the upload, when asked for.
    pub rollout: Option<Rollout>,
}

/// Where a project's releases come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProjectSourceView {
    /// A git repository.
    Git {
        /// The repository URL.
        url: String,
        /// The branch deploys follow (default branch when absent).
        branch: Option<String>,
    },
    /// Archives uploaded with each deploy.
    Upload,
}

impl From<&ProjectSource> for ProjectSourceView {
    fn from(source: &ProjectSource) -> Self {
        match source {
            ProjectSource::Git { url, branch } => ProjectSourceView::Git {
                url: mask_credentials(url),
                branch: branch.clone(),
            },
            ProjectSource::Upload => ProjectSourceView::Upload,
        }
    }
}

/// The URL with any user name and password replaced by `****`.
fn mask_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}****{}", &url[..scheme_end + 3], &rest[at..]),
        None => url.to_string(),
    }
}

/// A project in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProjectSummary {
    /// Name.
    pub name: String,
    /// The app's name from its config.
    pub app_name: String,
    /// The app's type from its config (`nodejs`, `python`, ...).
    pub app_type: String,
    /// Status.
    pub status: ProjectStatus,
    /// Nodes it is deployed to.
    pub nodes: Vec<String>,
    /// Public port, if fixed.
    pub public_port: Option<u16>,
    /// Where releases come from.
    pub source: ProjectSourceView,
    /// Whether the config was set through the API and replaces the one in
    /// each release.
    pub config_pinned: bool,
    /// Unix ms of creation.
    pub created_ms: i64,
    /// Unix ms of the last change.
    pub updated_ms: i64,
}

impl From<&Project> for ProjectSummary {
    fn from(p: &Project) -> Self {
        ProjectSummary {
            name: p.name.clone(),
            app_name: p.config.name.clone(),
            app_type: p.config.app_type.to_string(),
            status: p.status,
            nodes: p.nodes.clone(),
            public_port: p.public_port,
            source: (&p.source).into(),
            config_pinned: p.config_pinned,
            created_ms: p.created_ms,
            updated_ms: p.updated_ms,
        }
    }
}

/// A project with its config and latest deployments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectDetail {
    /// The summary.
    #[serde(flatten)]
    pub summary: ProjectSummary,
    /// The app's `config.vpspilot.json` as Pilot uses it.
    #[schema(value_type = Object)]
    pub config: AppConfig,
    /// Names of the project's nodes whose agent is connected.
    pub online_nodes: Vec<String>,
    /// The latest deployments, newest first.
    pub deployments: Vec<DeploymentRecord>,
    /// Rollouts of the project the server still remembers, newest first.
    pub rollouts: Vec<Rollout>,
}

/// `GET /api/v1/projects/{name}/webhook` (admin): how to configure the
/// repository's push webhook.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookInfo {
    /// Path of the webhook on this server (`/api/v1/webhooks/github/{name}`).
    pub path: String,
    /// Full URL, when the server knows its public address.
    pub url: Option<String>,
    /// The HMAC secret to enter as the webhook's secret.
    pub secret: String,
    /// Content type to choose: `application/json`.
    pub content_type: String,
    /// Pushes to this branch deploy (the default branch when absent).
    pub branch: Option<String>,
}

impl std::fmt::Debug for WebhookInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookInfo")
            .field("path", &self.path)
            .field("branch", &self.branch)
            .finish_non_exhaustive()
    }
}

/// What `POST /api/v1/webhooks/github/{name}` did with a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookOutcome {
    /// `deploying` or `ignored`.
    pub status: WebhookStatus,
    /// Why it was ignored.
    pub reason: Option<String>,
    /// The deploy it started.
    pub rollout: Option<Rollout>,
}

/// Whether a webhook delivery started a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookStatus {
    /// A deploy of the pushed commit started.
    Deploying,
    /// Nothing to do (another event, branch or a deleted branch).
    Ignored,
}

/// `DELETE /api/v1/projects/{name}`: what each node did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemovedProject {
    /// The project.
    pub project: String,
    /// One entry per node; a failed node may still hold the project's
    /// releases (remove them there by hand or when it is back).
    pub nodes: Vec<NodeResult>,
}

#[cfg(test)]
mod tests {
    use super::mask_credentials;

    #[test]
    fn credentials_in_git_urls_are_masked() {
        assert_eq!(
            mask_credentials("https://bob:tok3n@example.com/app.git"),
            "https://****@example.com/app.git"
        );
        assert_eq!(
            mask_credentials("https://example.com/a@b.git"),
            "https://example.com/a@b.git"
        );
        assert_eq!(mask_credentials("/srv/git/app"), "/srv/git/app");
    }
}

//! Projects: create from git or from an archive, list, show, configure, remove.

use reqwest::Method;

use super::Client;
use super::error::Result;
use super::transport::{Body, pairs};
use crate::api::types::{
    CreateProjectRequest, CreatedProject, GitSourceRequest, NodeResult, ProjectDetail,
    ProjectSummary, RemovedProject, WebhookInfo,
};

/// Content type of archive uploads.
pub(crate) const ARCHIVE_TYPE: &str = "application/octet-stream";

impl Client {
    /// Every project (`GET /projects`).
    pub async fn projects(&self) -> Result<Vec<ProjectSummary>> {
        self.get(self.api_url(&["projects"]), &[]).await
    }

    /// One project with its config, deployments and rollouts (`GET /projects/{name}`).
    pub async fn project(&self, name: &str) -> Result<ProjectDetail> {
        self.get(self.api_url(&["projects", name]), &[]).await
    }

    /// Creates a project deployed from a git repository (`POST /projects`,
    /// admin). The server reads and checks the repository's config first;
    /// an invalid one is an `invalid_config` error with every problem
    /// ([`ClientError::config_problems`](super::ClientError::config_problems)).
    pub async fn create_project_from_git(
        &self,
        request: &CreateProjectRequest,
    ) -> Result<CreatedProject> {
        let body = Body::json(request)?;
        self.call(Method::POST, self.api_url(&["projects"]), &[], body)
            .await
    }

    /// Shorthand for [`Client::create_project_from_git`] from its parts.
    pub async fn create_project(
        &self,
        name: &str,
        git_url: &str,
        branch: Option<&str>,
        nodes: &[String],
        public_port: Option<u16>,
    ) -> Result<CreatedProject> {
        self.create_project_from_git(&CreateProjectRequest {
            name: name.to_string(),
            nodes: nodes.to_vec(),
            public_port,
            git: GitSourceRequest {
                url: git_url.to_string(),
                branch: branch.map(str::to_string),
            },
        })
        .await
    }

    /// Creates a project deployed from uploaded archives
    /// (`POST /projects/{name}/upload`, admin). `archive` is a `.tar.gz`
    /// (see [`pack_dir`](super::pack_dir)) or `.zip` holding the app's
    /// `config.vpspilot.json`; with `deploy` it is deployed at once and the
    /// answer carries the rollout.
    pub async fn create_project_from_archive(
        &self,
        name: &str,
        nodes: &[String],
        public_port: Option<u16>,
        archive: Vec<u8>,
        deploy: bool,
    ) -> Result<CreatedProject> {
        let query = pairs([
            ("nodes", Some(nodes.join(","))),
            ("public_port", public_port.map(|p| p.to_string())),
            ("deploy", Some(deploy.to_string())),
        ]);
        self.call(
            Method::POST,
            self.api_url(&["projects", name, "upload"]),
            &query,
            Body::Bytes(archive, ARCHIVE_TYPE),
        )
        .await
    }

    /// Replaces and pins the project's config with `config_json`, the text
    /// of a `config.vpspilot.json` (`PUT /projects/{name}/config`, admin).
    /// Problems are reported with the line and column of that text.
    pub async fn update_config(&self, project: &str, config_json: &str) -> Result<ProjectDetail> {
        self.call(
            Method::PUT,
            self.api_url(&["projects", project, "config"]),
            &[],
            Body::Bytes(config_json.as_bytes().to_vec(), "application/json"),
        )
        .await
    }

    /// Removes a project: stopped and deleted on every node, then its
    /// secrets and record (`DELETE /projects/{name}`, admin).
    pub async fn remove_project(&self, name: &str) -> Result<RemovedProject> {
        self.call(
            Method::DELETE,
            self.api_url(&["projects", name]),
            &[],
            Body::Empty,
        )
        .await
    }

    /// How to set up the repository's push webhook, with its secret
    /// (`GET /projects/{name}/webhook`, admin).
    pub async fn webhook(&self, project: &str) -> Result<WebhookInfo> {
        self.get(self.api_url(&["projects", project, "webhook"]), &[])
            .await
    }

    /// Starts the project's current release on every node (`POST /projects/{name}/start`).
    pub async fn start(&self, project: &str) -> Result<Vec<NodeResult>> {
        self.control(project, "start").await
    }

    /// Stops the project on every node (`POST /projects/{name}/stop`).
    pub async fn stop(&self, project: &str) -> Result<Vec<NodeResult>> {
        self.control(project, "stop").await
    }

    /// Restarts the project on every node (`POST /projects/{name}/restart`).
    pub async fn restart(&self, project: &str) -> Result<Vec<NodeResult>> {
        self.control(project, "restart").await
    }

    async fn control(&self, project: &str, action: &str) -> Result<Vec<NodeResult>> {
        self.call(
            Method::POST,
            self.api_url(&["projects", project, action]),
            &[],
            Body::Empty,
        )
        .await
    }
}

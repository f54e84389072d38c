//! Deploys, rollbacks, rollouts and deployment records.

use std::time::Duration;

use reqwest::Method;

use super::Client;
use super::error::Result;
use super::projects::ARCHIVE_TYPE;
use super::transport::{Body, pairs};
use crate::api::types::{
    CanaryRequest, DeployRequest, DeploymentRecord, GitRefRequest, RollbackRequest, Rollout,
};

/// What a git project's deploy checks out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployTarget {
    /// The branch the project follows.
    Default,
    /// The tip of this branch.
    Branch(String),
    /// This tag.
    Tag(String),
    /// This commit (7 to 40 hex digits).
    Commit(String),
}

impl DeployTarget {
    /// Reads `REF` as the CLI takes it: `branch:NAME`, `tag:NAME`,
    /// `commit:HEX`, or a bare name: 7 to 40 hex digits are a commit,
    /// anything else a branch.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if let Some((kind, name)) = text.split_once(':') {
            match kind {
                "branch" => return DeployTarget::Branch(name.to_string()),
                "tag" => return DeployTarget::Tag(name.to_string()),
                "commit" => return DeployTarget::Commit(name.to_string()),
                _ => {}
            }
        }
        let is_commit =
            (7..=40).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit());
        if is_commit {
            DeployTarget::Commit(text.to_string())
        } else {
            DeployTarget::Branch(text.to_string())
        }
    }

    fn into_request(self) -> Option<GitRefRequest> {
        match self {
            DeployTarget::Default => None,
            DeployTarget::Branch(b) => Some(GitRefRequest::Branch(b)),
            DeployTarget::Tag(t) => Some(GitRefRequest::Tag(t)),
            DeployTarget::Commit(c) => Some(GitRefRequest::Commit(c)),
        }
    }
}

impl Client {
    /// Deploys a git project (`POST /projects/{name}/deploy`, admin) and
    /// returns the started rollout; follow it with [`Client::wait_rollout`].
    pub async fn deploy(
        &self,
        project: &str,
        target: DeployTarget,
        canary: Option<CanaryRequest>,
    ) -> Result<Rollout> {
        let body = Body::json(&DeployRequest {
            reference: target.into_request(),
            canary,
        })?;
        self.call(
            Method::POST,
            self.api_url(&["projects", project, "deploy"]),
            &[],
            body,
        )
        .await
    }

    /// Deploys an uploaded archive of the app (`POST
    /// /projects/{name}/deploy/archive`, admin); see [`pack_dir`](super::pack_dir).
    pub async fn deploy_archive(
        &self,
        project: &str,
        archive: Vec<u8>,
        canary: Option<CanaryRequest>,
    ) -> Result<Rollout> {
        let query = match canary {
            Some(c) => pairs([
                ("canary", Some(c.nodes.join(","))),
                ("watch_secs", Some(c.watch_secs.to_string())),
            ]),
            None => Vec::new(),
        };
        self.call(
            Method::POST,
            self.api_url(&["projects", project, "deploy", "archive"]),
            &query,
            Body::Bytes(archive, ARCHIVE_TYPE),
        )
        .await
    }

    /// Rolls the project back to a kept generation, the previous one by
    /// default (`POST /projects/{name}/rollback`, admin).
    pub async fn rollback(&self, project: &str, generation: Option<u64>) -> Result<Rollout> {
        let body = Body::json(&RollbackRequest { generation })?;
        self.call(
            Method::POST,
            self.api_url(&["projects", project, "rollback"]),
            &[],
            body,
        )
        .await
    }

    /// A rollout as it stands (`GET /rollouts/{id}`).
    pub async fn rollout(&self, id: &str) -> Result<Rollout> {
        self.get(self.api_url(&["rollouts", id]), &[]).await
    }

    /// A rollout once it ended, or as it stands after `wait` (at most 300 s
    /// on the server's side) (`GET /rollouts/{id}?wait_secs=`).
    pub async fn rollout_after(&self, id: &str, wait: Duration) -> Result<Rollout> {
        let query = pairs([("wait_secs", Some(wait.as_secs().to_string()))]);
        self.get(self.api_url(&["rollouts", id]), &query).await
    }

    /// The project's deployments on every node, newest first
    /// (`GET /projects/{name}/deployments`).
    pub async fn deployments(
        &self,
        project: &str,
        limit: Option<u32>,
    ) -> Result<Vec<DeploymentRecord>> {
        let query = pairs([("limit", limit.map(|l| l.to_string()))]);
        self.get(self.api_url(&["projects", project, "deployments"]), &query)
            .await
    }

    /// One deployment with every step (`GET /deployments/{id}`).
    pub async fn deployment(&self, id: &str) -> Result<DeploymentRecord> {
        self.get(self.api_url(&["deployments", id]), &[]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_parse_like_the_cli_takes_them() {
        assert_eq!(
            DeployTarget::parse("main"),
            DeployTarget::Branch("main".into())
        );
        assert_eq!(
            DeployTarget::parse("tag:v1.2"),
            DeployTarget::Tag("v1.2".into())
        );
        assert_eq!(
            DeployTarget::parse("branch:feature/x"),
            DeployTarget::Branch("feature/x".into())
        );
        assert_eq!(
            DeployTarget::parse("a1b2c3d"),
            DeployTarget::Commit("a1b2c3d".into())
        );
        assert_eq!(
            DeployTarget::parse("commit:abc1234"),
            DeployTarget::Commit("abc1234".into())
        );
        assert_eq!(
            DeployTarget::parse("cafe"),
            DeployTarget::Branch("cafe".into())
        );
    }
}

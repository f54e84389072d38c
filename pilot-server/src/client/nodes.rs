//! Nodes: enrolment, listing, revocation, their metrics and processes.

use reqwest::Method;

use super::Client;
use super::error::Result;
use super::transport::Body;
use crate::api::types::{CreateNodeRequest, LatestMetric, NodeEnrolment, NodeProcesses, NodeView};

impl Client {
    /// Every registered node (`GET /nodes`).
    pub async fn nodes(&self) -> Result<Vec<NodeView>> {
        self.get(self.api_url(&["nodes"]), &[]).await
    }

    /// One node (`GET /nodes/{name}`).
    pub async fn node(&self, name: &str) -> Result<NodeView> {
        self.get(self.api_url(&["nodes", name]), &[]).await
    }

    /// Registers a node (`POST /nodes`, admin). The enrolment carries the
    /// node's token, shown this once, and the command starting its agent.
    pub async fn create_node(&self, name: &str) -> Result<NodeEnrolment> {
        let body = Body::json(&CreateNodeRequest {
            name: name.to_string(),
        })?;
        self.call(Method::POST, self.api_url(&["nodes"]), &[], body)
            .await
    }

    /// Revokes a node: its token stops working and its agent is
    /// disconnected (`DELETE /nodes/{name}`, admin).
    pub async fn delete_node(&self, name: &str) -> Result<()> {
        self.call_empty(Method::DELETE, self.api_url(&["nodes", name]), Body::Empty)
            .await
    }

    /// Issues a new token for a node; the old one stops working
    /// (`POST /nodes/{name}/token`, admin).
    pub async fn rotate_node_token(&self, name: &str) -> Result<NodeEnrolment> {
        self.call(
            Method::POST,
            self.api_url(&["nodes", name, "token"]),
            &[],
            Body::Empty,
        )
        .await
    }

    /// The newest value of every metric series of a node
    /// (`GET /nodes/{name}/metrics/latest`).
    pub async fn latest_metrics(&self, node: &str) -> Result<Vec<LatestMetric>> {
        self.get(self.api_url(&["nodes", node, "metrics", "latest"]), &[])
            .await
    }

    /// A node's busiest processes as last reported (`GET /nodes/{name}/processes`).
    pub async fn processes(&self, node: &str) -> Result<NodeProcesses> {
        self.get(self.api_url(&["nodes", node, "processes"]), &[])
            .await
    }
}

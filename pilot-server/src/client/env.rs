//! Project secrets: set, list names, unset. Values are never read back.

use reqwest::Method;

use super::Client;
use super::error::Result;
use super::transport::{Body, pairs};
use crate::api::types::{SecretNames, SetSecretRequest};

impl Client {
    /// Sets a secret of a project, or its override on one node
    /// (`PUT /projects/{name}/env/{key}`, admin). Deploys after this use it.
    pub async fn set_env(
        &self,
        project: &str,
        key: &str,
        value: &str,
        node: Option<&str>,
    ) -> Result<()> {
        let body = Body::json(&SetSecretRequest {
            value: value.to_string(),
            node: node.map(str::to_string),
        })?;
        self.call_empty(
            Method::PUT,
            self.api_url(&["projects", project, "env", key]),
            body,
        )
        .await
    }

    /// The names of a project's secrets, per-node overrides and the names
    /// its config needs but nobody set (`GET /projects/{name}/env`).
    pub async fn env(&self, project: &str) -> Result<SecretNames> {
        self.get(self.api_url(&["projects", project, "env"]), &[])
            .await
    }

    /// Deletes a secret of a project, or its override on one node
    /// (`DELETE /projects/{name}/env/{key}`, admin).
    pub async fn unset_env(&self, project: &str, key: &str, node: Option<&str>) -> Result<()> {
        let mut url = self.api_url(&["projects", project, "env", key]);
        let query = pairs([("node", node.map(str::to_string))]);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        self.call_empty(Method::DELETE, url, Body::Empty).await
    }
}

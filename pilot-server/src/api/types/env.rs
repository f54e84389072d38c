//! Project secrets (environment values behind `{{NAME}}` placeholders).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `PUT /api/v1/projects/{name}/env/{key}` (admin).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SetSecretRequest {
    /// The value; stored encrypted and never returned.
    pub value: String,
    /// A node whose value overrides the project-wide one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl std::fmt::Debug for SetSecretRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetSecretRequest")
            .field("value", &"********")
            .field("node", &self.node)
            .finish()
    }
}

/// `GET /api/v1/projects/{name}/env`: the names set, never the values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretNames {
    /// Project-wide secrets, sorted.
    pub project: Vec<String>,
    /// Per-node overrides, by node, for the project's nodes that have any.
    pub nodes: BTreeMap<String, Vec<String>>,
    /// Names the project's config refers to (`{{NAME}}`) that are set nowhere.
    pub missing: Vec<String>,
}

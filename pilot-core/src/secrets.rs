//! The [`SecretStore`] trait, the [`SecretValue`] wrapper that never prints its
//! content, and the in-memory store.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::RwLock;

use async_trait::async_trait;

use crate::error::Result;

/// A secret value. `Debug` and `Display` print a mask, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    /// The value itself. Call only where it is needed (writing `.env`, env of a process).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(********)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// Where a secret applies: a project, optionally narrowed to one node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretScope {
    /// The project.
    pub project: String,
    /// A node whose value overrides the project-wide one.
    pub node: Option<String>,
}

impl SecretScope {
    /// The project-wide scope.
    pub fn project(project: impl Into<String>) -> Self {
        SecretScope {
            project: project.into(),
            node: None,
        }
    }

    /// A per-node override scope.
    pub fn node(project: impl Into<String>, node: impl Into<String>) -> Self {
        SecretScope {
            project: project.into(),
            node: Some(node.into()),
        }
    }
}

/// Stores secrets per project, with optional per-node overrides.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Sets a secret.
    async fn set(&self, scope: &SecretScope, name: &str, value: SecretValue) -> Result<()>;

    /// Deletes a secret; a no-op when absent.
    async fn delete(&self, scope: &SecretScope, name: &str) -> Result<()>;

    /// The names set in exactly this scope, sorted.
    async fn names(&self, scope: &SecretScope) -> Result<Vec<String>>;

    /// The value of a secret in exactly this scope.
    async fn get(&self, scope: &SecretScope, name: &str) -> Result<Option<SecretValue>>;

    /// The effective values for a project on a node: project-wide values with
    /// that node's overrides on top.
    async fn resolve(
        &self,
        project: &str,
        node: Option<&str>,
    ) -> Result<BTreeMap<String, SecretValue>> {
        let mut out = BTreeMap::new();
        let base = SecretScope::project(project);
        for name in self.names(&base).await? {
            if let Some(v) = self.get(&base, &name).await? {
                out.insert(name, v);
            }
        }
        if let Some(node) = node {
            let scope = SecretScope::node(project, node);
            for name in self.names(&scope).await? {
                if let Some(v) = self.get(&scope, &name).await? {
                    out.insert(name, v);
                }
            }
        }
        Ok(out)
    }
}

/// Secrets kept in memory only (embedding, `pilot up` without a store, tests).
#[derive(Debug, Default)]
pub struct MemorySecretStore {
    values: RwLock<BTreeMap<(SecretScope, String), SecretValue>>,
}

impl MemorySecretStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SecretStore for MemorySecretStore {
    async fn set(&self, scope: &SecretScope, name: &str, value: SecretValue) -> Result<()> {
        self.values
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((scope.clone(), name.to_string()), value);
        Ok(())
    }

    async fn delete(&self, scope: &SecretScope, name: &str) -> Result<()> {
        self.values
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(scope.clone(), name.to_string()));
        Ok(())
    }

    async fn names(&self, scope: &SecretScope) -> Result<Vec<String>> {
        Ok(self
            .values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .filter(|(s, _)| s == scope)
            .map(|(_, n)| n.clone())
            .collect())
    }

    async fn get(&self, scope: &SecretScope, name: &str) -> Result<Option<SecretValue>> {
        Ok(self
            .values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(scope.clone(), name.to_string()))
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn node_overrides_win() {
        let store = MemorySecretStore::new();
        store
            .set(
                &SecretScope::project("shop"),
                "DB",
                SecretValue::new("main"),
            )
            .await
            .unwrap();
        store
            .set(&SecretScope::project("shop"), "KEY", SecretValue::new("k"))
            .await
            .unwrap();
        store
            .set(
                &SecretScope::node("shop", "n2"),
                "DB",
                SecretValue::new("replica"),
            )
            .await
            .unwrap();
        let n1 = store.resolve("shop", Some("n1")).await.unwrap();
        let n2 = store.resolve("shop", Some("n2")).await.unwrap();
        assert_eq!(n1["DB"].expose(), "main");
        assert_eq!(n2["DB"].expose(), "replica");
        assert_eq!(n2["KEY"].expose(), "k");
        assert_eq!(format!("{:?}", n2["DB"]), "SecretValue(********)");
    }
}

//! Nodes (servers running the agent): a token stored as a hash, when the node
//! was last heard from, and what it reported about itself.

pub use pilot_core::protocol::NodeToken;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{SqlStore, check_name, from_json, to_json};
use crate::db::{now_ms, on_pool};
use crate::error::{DbContext, Error, Result};

/// The stored form of a node token: its SHA-256, as `NodeToken::hash` gives
/// it. Tokens are 256-bit random values, so a plain SHA-256 protects them and
/// still lets the store find the node by the hash of what it presents.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A registered node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Unique name, used in metrics, secrets overrides and project assignment.
    pub name: String,
    /// Unix ms of the last heartbeat, if any.
    pub last_seen_ms: Option<i64>,
    /// What the node reported about itself (OS, CPUs, memory, versions).
    pub system_info: Option<serde_json::Value>,
    /// Unix ms of registration.
    pub created_ms: i64,
}

impl Node {
    /// Whether the node was heard from within `timeout_ms` before `now_ms`.
    pub fn is_online(&self, now_ms: i64, timeout_ms: i64) -> bool {
        self.last_seen_ms
            .is_some_and(|seen| now_ms.saturating_sub(seen) <= timeout_ms)
    }
}

#[derive(sqlx::FromRow)]
struct NodeRow {
    name: String,
    last_seen_ms: Option<i64>,
    system_info: Option<String>,
    created_ms: i64,
}

impl NodeRow {
    fn into_node(self) -> Result<Node> {
        let system_info = self
            .system_info
            .as_deref()
            .map(|text| from_json("nodes", &self.name, text))
            .transpose()?;
        Ok(Node {
            name: self.name,
            last_seen_ms: self.last_seen_ms,
            system_info,
            created_ms: self.created_ms,
        })
    }
}

/// `SELECT` of every node column followed by the given clause.
macro_rules! select_node {
    ($tail:literal) => {
        concat!(
            "SELECT name, last_seen_ms, system_info, created_ms FROM nodes ",
            $tail
        )
    };
}

fn not_found(name: &str) -> Error {
    Error::NotFound {
        kind: "node",
        key: name.to_string(),
    }
}

/// Node registration, authentication and liveness.
impl SqlStore {
    /// Registers a node and returns its token (only its hash is kept).
    pub async fn register_node(&self, name: &str) -> Result<(Node, NodeToken)> {
        check_name("node name", name)?;
        let token = NodeToken::generate();
        let now = now_ms();
        on_pool!(self.db, pool => sqlx::query(
            "INSERT INTO nodes (name, token_hash, created_ms) VALUES ($1, $2, $3)",
        )
        .bind(name)
        .bind(token_hash(token.expose()))
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))
        .db_unique("insert node", "node", name)?;
        let node = Node {
            name: name.to_string(),
            last_seen_ms: None,
            system_info: None,
            created_ms: now,
        };
        Ok((node, token))
    }

    /// The node a token belongs to, if any.
    pub async fn authenticate_node(&self, token: &str) -> Result<Option<Node>> {
        let row = on_pool!(self.db, pool => sqlx::query_as::<_, NodeRow>(select_node!("WHERE token_hash = $1"))
            .bind(token_hash(token))
            .fetch_optional(pool)
            .await)
        .db("authenticate node")?;
        row.map(NodeRow::into_node).transpose()
    }

    /// Replaces a node's token; the old one stops working.
    pub async fn rotate_node_token(&self, name: &str) -> Result<NodeToken> {
        let token = NodeToken::generate();
        let done = on_pool!(self.db, pool => sqlx::query(
            "UPDATE nodes SET token_hash = $1 WHERE name = $2",
        )
        .bind(token_hash(token.expose()))
        .bind(name)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .db("rotate node token")?;
        if done == 0 {
            return Err(not_found(name));
        }
        Ok(token)
    }

    /// Records a heartbeat and, when given, the node's system info.
    pub async fn record_heartbeat(
        &self,
        name: &str,
        at_ms: i64,
        system_info: Option<&serde_json::Value>,
    ) -> Result<()> {
        let info = system_info.map(|v| to_json("system_info", v)).transpose()?;
        let done = on_pool!(self.db, pool => sqlx::query(
            "UPDATE nodes SET last_seen_ms = $1, system_info = COALESCE($2, system_info) \
             WHERE name = $3",
        )
        .bind(at_ms)
        .bind(info)
        .bind(name)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .db("record node heartbeat")?;
        if done == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }

    /// The node with this name.
    pub async fn node(&self, name: &str) -> Result<Option<Node>> {
        let row =
            on_pool!(self.db, pool => sqlx::query_as::<_, NodeRow>(select_node!("WHERE name = $1"))
            .bind(name)
            .fetch_optional(pool)
            .await)
            .db("read node")?;
        row.map(NodeRow::into_node).transpose()
    }

    /// Every node, by name.
    pub async fn nodes(&self) -> Result<Vec<Node>> {
        let rows =
            on_pool!(self.db, pool => sqlx::query_as::<_, NodeRow>(select_node!("ORDER BY name"))
            .fetch_all(pool)
            .await)
            .db("list nodes")?;
        rows.into_iter().map(NodeRow::into_node).collect()
    }

    /// Deletes a node (its project assignments go with it).
    pub async fn delete_node(&self, name: &str) -> Result<()> {
        let done = on_pool!(self.db, pool => sqlx::query("DELETE FROM nodes WHERE name = $1")
            .bind(name)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .db("delete node")?;
        if done == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }
}

#[cfg(test)]
mod token_tests {
    use super::*;

    #[test]
    fn the_stored_hash_is_the_protocol_token_hash() {
        let token = NodeToken::generate();
        assert!(token.expose().starts_with("pilot_nt_"));
        assert_eq!(token_hash(token.expose()), token.hash().to_hex());
    }
}

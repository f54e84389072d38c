//! The audit log: who changed what, when. Entries name secrets, never their values.

use pilot_core::SecretScope;
use serde::{Deserialize, Serialize};

use super::{SqlStore, from_json, to_json};
use crate::db::{now_ms, on_pool};
use crate::error::{DbContext, Result};

/// An entry to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    /// Who did it: a username, `node:<name>` or `system`.
    pub actor: String,
    /// What was done, e.g. `project.create`, `secret.set`.
    pub action: String,
    /// What it was done to, e.g. `project:shop`.
    pub target: String,
    /// Details; callers put names and ids here, never secret values.
    pub detail: serde_json::Value,
}

impl NewAuditEntry {
    /// An entry about a secret change that records the secret's name and
    /// scope only: the value has no way in.
    pub fn secret_changed(actor: &str, action: &str, scope: &SecretScope, name: &str) -> Self {
        NewAuditEntry {
            actor: actor.to_string(),
            action: action.to_string(),
            target: format!("project:{}", scope.project),
            detail: serde_json::json!({ "secret": name, "node": scope.node }),
        }
    }
}

/// A recorded entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Increasing id.
    pub id: i64,
    /// Unix ms when it was recorded.
    pub at_ms: i64,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// Details.
    pub detail: serde_json::Value,
}

/// Which entries to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries about this target.
    pub target: Option<String>,
    /// Only entries by this actor.
    pub actor: Option<String>,
    /// Only entries older than this id (for paging).
    pub before_id: Option<i64>,
    /// At most this many entries (0 means 100).
    pub limit: u32,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at_ms: i64,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

/// Appends to and reads the audit log.
impl SqlStore {
    /// Records an entry and returns its id.
    pub async fn record_audit(&self, entry: NewAuditEntry) -> Result<i64> {
        let detail = to_json("detail", &entry.detail)?;
        let (id,): (i64,) = on_pool!(self.db, pool => sqlx::query_as(
            "INSERT INTO audit_log (at_ms, actor, action, target, detail) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(now_ms())
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&detail)
        .fetch_one(pool)
        .await)
        .db("record audit entry")?;
        Ok(id)
    }

    /// Entries matching the filter, newest first.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let limit = if filter.limit == 0 { 100 } else { filter.limit };
        let rows = on_pool!(self.db, pool => sqlx::query_as::<_, AuditRow>(
            "SELECT id, at_ms, actor, action, target, detail FROM audit_log \
             WHERE ($1 IS NULL OR target = $1) AND ($2 IS NULL OR actor = $2) \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(&filter.target)
        .bind(&filter.actor)
        .bind(filter.before_id)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)
        .db("list audit entries")?;
        rows.into_iter()
            .map(|row| {
                Ok(AuditEntry {
                    detail: from_json("audit_log", &row.id.to_string(), &row.detail)?,
                    id: row.id,
                    at_ms: row.at_ms,
                    actor: row.actor,
                    action: row.action,
                    target: row.target,
                })
            })
            .collect()
    }
}

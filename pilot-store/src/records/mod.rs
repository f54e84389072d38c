//! The server's records: users, nodes, projects, deployments, the audit log
//! and settings, plus the alert rules and events kept for the alerts feature.
//!
//! [`SqlStore`] reads and writes all of them with plain methods, running the
//! same SQL on SQLite and PostgreSQL. The record types ([`User`], [`Node`],
//! [`Project`], ...) are what those methods take and return.

// Unused until the alerts feature calls it; its unit tests keep it exercised.
#[allow(dead_code)]
pub(crate) mod alerts;
mod audit;
mod deployments;
mod nodes;
mod projects;
mod settings;
mod users;

pub use audit::{AuditEntry, AuditFilter, NewAuditEntry};
pub use deployments::{DeploymentRecord, DeploymentSummary};
pub use nodes::{Node, NodeToken};
pub use projects::{NewProject, Project, ProjectPlacement, ProjectSource, ProjectStatus};
pub use users::{Role, User};

use crate::db::Database;
use crate::error::{Error, Result};

/// The server's records on an SQL [`Database`]: one method per read or change.
#[derive(Debug, Clone)]
pub struct SqlStore {
    db: Database,
}

impl SqlStore {
    /// A store on an opened (and therefore migrated) database.
    pub fn new(db: Database) -> Self {
        SqlStore { db }
    }

    /// The database this store uses.
    pub fn database(&self) -> &Database {
        &self.db
    }
}

/// Parses a JSON column, naming the row when it is corrupt.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    key: &str,
    text: &str,
) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::CorruptRow {
        table,
        key: key.to_string(),
        reason: e.to_string(),
    })
}

/// Serialises a value for a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(field: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::invalid(field, e.to_string()))
}

/// Checks that a name is 1..=64 characters of `[A-Za-z0-9._-]`.
pub(crate) fn check_name(field: &'static str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{name:?} must be 1 to 64 characters of letters, digits, '.', '_' or '-'"),
        ))
    }
}

//! The operational store: users, nodes, projects, deployments, the audit log,
//! alert rules and events, and settings.
//!
//! Each area is a trait ([`UserStore`], [`NodeStore`], ...), so the server can
//! hold trait objects and tests can swap in fakes. [`SqlStore`] implements all
//! of them with the same SQL on SQLite and PostgreSQL.

mod alerts;
mod audit;
mod deployments;
mod nodes;
mod projects;
mod settings;
mod users;

pub use alerts::{AlertCondition, AlertEvent, AlertRule, AlertStore, Comparison, NewAlertRule};
pub use audit::{AuditEntry, AuditFilter, AuditLog, NewAuditEntry};
pub use deployments::{DeploymentRecord, DeploymentStore};
pub use nodes::{Node, NodeStore, NodeToken};
pub use projects::{NewProject, Project, ProjectSource, ProjectStatus, ProjectStore};
pub use settings::SettingsStore;
pub use users::{Role, User, UserStore};

use crate::db::Database;
use crate::error::{Error, Result};

/// The operational store on an SQL [`Database`]; implements every area trait.
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

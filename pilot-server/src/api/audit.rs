//! Recording changes made through the API in the audit log.
//!
//! Entries name what changed (users, nodes, projects, secret names),
//! never a secret value, password or token.

use pilot_store::records::NewAuditEntry;

use super::state::AppState;

/// Records that `actor` did `action` to `target`. A failure to record is
/// logged; the change itself already happened.
pub(crate) async fn record(
    state: &AppState,
    actor: &str,
    action: &str,
    target: impl Into<String>,
    detail: serde_json::Value,
) {
    let entry = NewAuditEntry {
        actor: actor.to_string(),
        action: action.to_string(),
        target: target.into(),
        detail,
    };
    record_entry(state, entry).await;
}

/// Records a prepared entry (see [`NewAuditEntry::secret_changed`]).
pub(crate) async fn record_entry(state: &AppState, entry: NewAuditEntry) {
    let action = entry.action.clone();
    if let Err(e) = state.store.record_audit(entry).await {
        tracing::warn!(action, error = %e, "cannot record audit entry");
    }
}

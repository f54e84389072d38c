//! What `pilot.Client` returns: sessions, rollouts, and the API's other
//! answers as plain Python values.

use pilot_server::api::types::{self as api, NodeRollout, SessionView};
use pyo3::prelude::*;

use crate::convert::{json_to_py, repr, serde_name};
use crate::errors::{ErrorKind, new_error};

/// A logged-in session of a Pilot server.
#[pyclass(module = "pilot", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The session token; keep it private. ``Client(url, token)`` reuses it.
    token: String,
    /// Unix ms when the token expires.
    expires_at_ms: i64,
    /// The user it belongs to.
    username: String,
    /// The user's role: ``"admin"`` or ``"viewer"``.
    role: String,
}

#[pymethods]
impl Session {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Session(username={}, role={}, expires_at_ms={})",
            repr(py, &self.username),
            repr(py, &self.role),
            self.expires_at_ms
        )
    }
}

impl From<SessionView> for Session {
    fn from(s: SessionView) -> Self {
        Session {
            token: s.token,
            expires_at_ms: s.expires_at_ms,
            username: s.user.username,
            role: serde_name(&s.user.role),
        }
    }
}

/// One node's part of a rollout.
#[pyclass(module = "pilot", frozen, get_all, eq)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RolloutNode {
    /// The node.
    node: String,
    /// ``"pending"``, ``"running"``, ``"succeeded"``, ``"failed"``,
    /// ``"rolled_back"`` or ``"skipped"``.
    state: String,
    /// The deployment's id on the node, once known.
    deployment: Option<String>,
    /// The generation serving there, once known.
    generation: Option<u64>,
    /// Why it failed, if it did.
    error: Option<String>,
}

#[pymethods]
impl RolloutNode {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "RolloutNode({}, state={}, generation={})",
            repr(py, &self.node),
            repr(py, &self.state),
            repr(py, &self.generation)
        )
    }
}

impl From<NodeRollout> for RolloutNode {
    fn from(n: NodeRollout) -> Self {
        RolloutNode {
            node: n.node,
            state: serde_name(&n.state),
            deployment: n.deployment,
            generation: n.generation,
            error: n.error,
        }
    }
}

/// A deploy or rollback of a project across its nodes.
#[pyclass(module = "pilot", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct Rollout {
    /// The rollout's id (``Client.wait_rollout(id)``).
    id: String,
    /// The project.
    project: String,
    /// ``"deploy"`` or ``"rollback"``.
    kind: String,
    /// ``"running"``, ``"succeeded"`` or ``"failed"``.
    status: String,
    /// Whether every node ended serving the new release.
    succeeded: bool,
    /// Why it failed, if it did (secrets masked).
    reason: Option<String>,
    /// Every node, canaries first.
    nodes: Vec<RolloutNode>,
    /// The canary nodes, if any.
    canary: Vec<String>,
    /// Who asked for it.
    requested_by: String,
    /// Unix ms of the start.
    started_ms: i64,
    /// Unix ms of the end, once it ended.
    finished_ms: Option<i64>,
}

#[pymethods]
impl Rollout {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Rollout(id={}, project={}, kind={}, status={})",
            repr(py, &self.id),
            repr(py, &self.project),
            repr(py, &self.kind),
            repr(py, &self.status)
        )
    }
}

impl From<api::Rollout> for Rollout {
    fn from(r: api::Rollout) -> Self {
        let status = serde_name(&r.status);
        Rollout {
            id: r.id,
            project: r.project,
            kind: serde_name(&r.kind),
            succeeded: status == "succeeded",
            status,
            reason: r.reason,
            nodes: r.nodes.into_iter().map(RolloutNode::from).collect(),
            canary: r.canary,
            requested_by: r.requested_by,
            started_ms: r.started_ms,
            finished_ms: r.finished_ms,
        }
    }
}

/// An API answer as the Python value `json.loads` would give for its JSON.
pub(crate) fn to_py<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| {
        new_error(
            py,
            ErrorKind::Pilot,
            format!(
                "cannot convert the server's answer to Python values: {e}; report this as a bug"
            ),
        )
    })?;
    Ok(json_to_py(py, &json)?.unbind())
}

/// Registers the classes of the client's answers.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Session>()?;
    m.add_class::<Rollout>()?;
    m.add_class::<RolloutNode>()?;
    Ok(())
}

//! Deploys and rollbacks through the API client: starting them, and
//! waiting for them with a Python progress callback.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use pilot_server::ServerEvent;
use pilot_server::api::types::{self as api, CanaryRequest};
use pilot_server::client::{Client as ApiClient, ClientError, DeployTarget, pack_dir};
use pyo3::prelude::*;

use crate::client_errors::{Subject, client_error};
use crate::client_types::Rollout;
use crate::convert::json_to_py;
use crate::errors::not_found;
use crate::runtime::wait;

/// What a deploy ships: a git revision or a packed app directory.
pub(crate) enum Shipment {
    /// A git project's revision (`DeployTarget::parse` syntax).
    Git(DeployTarget),
    /// A `.tar.gz` of an app directory.
    Archive(Vec<u8>),
}

/// Packs the app directory `dir` (with the GIL released: it reads every file).
pub(crate) fn pack(py: Python<'_>, dir: &Path) -> PyResult<Vec<u8>> {
    if !dir.is_dir() {
        return Err(not_found(
            py,
            "directory",
            dir.display().to_string(),
            format!(
                "app directory {} does not exist; give a directory holding config.vpspilot.json",
                dir.display()
            ),
        ));
    }
    py.detach(|| pack_dir(dir))
        .map_err(|e| client_error(py, e, Subject::none()))
}

/// A canary plan from the node names and watch time given to `deploy`.
pub(crate) fn canary_plan(nodes: Option<Vec<String>>, watch_secs: u64) -> Option<CanaryRequest> {
    nodes.map(|nodes| CanaryRequest { nodes, watch_secs })
}

/// Starts a deploy of `project`.
pub(crate) fn start_deploy(
    py: Python<'_>,
    api: ApiClient,
    project: &str,
    shipment: Shipment,
    canary: Option<CanaryRequest>,
) -> PyResult<api::Rollout> {
    let name = project.to_string();
    let started = wait(py, async move {
        match shipment {
            Shipment::Git(target) => api.deploy(&name, target, canary).await,
            Shipment::Archive(archive) => api.deploy_archive(&name, archive, canary).await,
        }
    })?;
    started.map_err(|e| client_error(py, e, Subject::project(project)))
}

/// Starts a rollback of `project` to `generation` (default: the previous one).
pub(crate) fn start_rollback(
    py: Python<'_>,
    api: ApiClient,
    project: &str,
    generation: Option<u64>,
) -> PyResult<api::Rollout> {
    let name = project.to_string();
    let started = wait(py, async move { api.rollback(&name, generation).await })?;
    started.map_err(|e| {
        let generation_text = generation.map(|g| g.to_string()).unwrap_or_default();
        let subject = match &e {
            ClientError::Api { message, .. }
                if generation.is_some() && message.starts_with("generation") =>
            {
                Subject {
                    kind: "generation",
                    name: &generation_text,
                }
            }
            _ => Subject::project(project),
        };
        client_error(py, e, subject)
    })
}

/// Waits for the rollout `id` to end, sending each of its events (as a
/// dict) to `progress`; an exception the callback raised is raised once
/// the rollout ended, and the callback is not called again after it.
pub(crate) fn wait_rollout(
    py: Python<'_>,
    api: ApiClient,
    id: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<Rollout> {
    let failure: Arc<Mutex<Option<PyErr>>> = Arc::default();
    let on_event = {
        let failure = failure.clone();
        move |event: &ServerEvent| {
            if let Some(callback) = &progress {
                deliver(callback, event, &failure);
            }
        }
    };
    let rollout_id = id.to_string();
    let done = wait(
        py,
        async move { api.wait_rollout(&rollout_id, on_event).await },
    )?
    .map_err(|e| {
        client_error(
            py,
            e,
            Subject {
                kind: "rollout",
                name: id,
            },
        )
    })?;
    let raised = failure
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    match raised {
        Some(error) => Err(error),
        None => Ok(Rollout::from(done)),
    }
}

/// Calls `callback` with `event` as a dict unless it already raised.
fn deliver(callback: &Py<PyAny>, event: &ServerEvent, failure: &Mutex<Option<PyErr>>) {
    if failure
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_some()
    {
        return;
    }
    let Ok(value) = serde_json::to_value(event) else {
        return;
    };
    Python::attach(|py| {
        let result = json_to_py(py, &value).and_then(|event| callback.call1(py, (event,)));
        if let Err(error) = result {
            failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(error);
        }
    });
}

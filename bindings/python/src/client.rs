//! `pilot.Client`: a Pilot server's REST API from Python.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use pilot_server::api::types::{MetricAggregation, MetricsQuery};
use pilot_server::client::{Client as ApiClient, DeployTarget, Result as ClientResult};
use pyo3::prelude::*;

use crate::client_deploy::{
    Shipment, canary_plan, pack, start_deploy, start_rollback, wait_rollout,
};
use crate::client_errors::{Subject, client_error};
use crate::client_types::{Rollout, Session, to_py};
use crate::convert::{duration_ms, repr, time_ms};
use crate::errors::invalid_argument;
use crate::runtime::wait;

/// A client of a Pilot server's API.
///
/// ``url`` is the server's base URL (``http://127.0.0.1:8080``); ``token``
/// a session token from an earlier :meth:`login` (or ``pilot login``).
/// Answers are the API's JSON as plain dicts and lists, except
/// :meth:`login` (a :class:`Session`) and deploys and rollbacks (a
/// :class:`Rollout`). Errors are :class:`ApiError` exceptions: :class:`AuthError`
/// (401), :class:`ForbiddenError` (403), :class:`NotFoundError` (404),
/// :class:`ConfigError` (an invalid app config, with every problem), or
/// :class:`UnreachableError` when the server cannot be reached. Calls
/// release the GIL while they wait.
#[pyclass(module = "pilot", frozen)]
pub(crate) struct Client {
    api: Mutex<ApiClient>,
}

impl Client {
    /// A client of `api`.
    pub(crate) fn from_api(api: ApiClient) -> Self {
        Client {
            api: Mutex::new(api),
        }
    }

    fn api(&self) -> ApiClient {
        self.api
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs a call of the API client and converts its answer to Python values.
    fn call<T, F, Fut>(&self, py: Python<'_>, subject: Subject<'_>, call: F) -> PyResult<Py<PyAny>>
    where
        T: serde::Serialize + Send,
        F: FnOnce(ApiClient) -> Fut,
        Fut: Future<Output = ClientResult<T>> + Send,
    {
        let answer = self.run(py, subject, call)?;
        to_py(py, &answer)
    }

    /// Runs a call of the API client.
    fn run<T, F, Fut>(&self, py: Python<'_>, subject: Subject<'_>, call: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(ApiClient) -> Fut,
        Fut: Future<Output = ClientResult<T>> + Send,
    {
        wait(py, call(self.api()))?.map_err(|e| client_error(py, e, subject))
    }

    /// The rollout `started`, waited for when `wait_for_end`.
    fn finish(
        &self,
        py: Python<'_>,
        started: pilot_server::api::types::Rollout,
        wait_for_end: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Rollout> {
        if wait_for_end {
            wait_rollout(py, self.api(), &started.id, progress)
        } else {
            Ok(Rollout::from(started))
        }
    }
}

#[pymethods]
impl Client {
    /// A client of the server at ``url``, sending ``token`` when given.
    #[new]
    #[pyo3(signature = (url, token=None))]
    fn new(py: Python<'_>, url: &str, token: Option<String>) -> PyResult<Self> {
        let api = ApiClient::new(url).map_err(|e| client_error(py, e, Subject::none()))?;
        Ok(Client::from_api(match token {
            Some(token) => api.with_token(token),
            None => api,
        }))
    }

    /// The server's base URL.
    #[getter]
    fn url(&self) -> String {
        self.api().base_url().to_string()
    }

    /// The session token sent with every call, if any.
    #[getter]
    fn token(&self) -> Option<String> {
        self.api().token().map(str::to_string)
    }

    /// Logs in as ``user`` and keeps the session's token for the calls
    /// that follow. A wrong name or password raises :class:`AuthError`.
    fn login(&self, py: Python<'_>, user: String, password: String) -> PyResult<Session> {
        let session = self.run(py, Subject::none(), |api| async move {
            api.login(&user, &password).await
        })?;
        let mut api = self.api.lock().unwrap_or_else(PoisonError::into_inner);
        *api = api.clone().with_token(session.token.clone());
        Ok(Session::from(session))
    }

    /// Whether the server answers and reaches its database (no login needed).
    fn health(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(py, Subject::none(), |api| async move { api.health().await })
    }

    /// Every registered node: ``name``, ``online``, ``last_seen_ms``,
    /// ``system_info``, ``connection``, ``projects``...
    fn nodes(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(py, Subject::none(), |api| async move { api.nodes().await })
    }

    /// Registers the node ``name`` (admin): a dict with ``node``, its
    /// ``token`` (shown this once) and the ``agent_command`` starting its agent.
    fn add_node(&self, py: Python<'_>, name: String) -> PyResult<Py<PyAny>> {
        let subject = name.clone();
        self.call(py, Subject::node(&subject), |api| async move {
            api.create_node(&name).await
        })
    }

    /// Revokes the node ``name`` (admin): its token stops working.
    fn remove_node(&self, py: Python<'_>, name: String) -> PyResult<()> {
        let subject = name.clone();
        self.run(py, Subject::node(&subject), |api| async move {
            api.delete_node(&name).await
        })
    }

    /// Every project: ``name``, ``app_name``, ``app_type``, ``status``,
    /// ``nodes``, ``public_port``, ``source``...
    fn projects(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(
            py,
            Subject::none(),
            |api| async move { api.projects().await },
        )
    }

    /// One project: its ``summary``, ``config``, ``online_nodes``, latest
    /// ``deployments`` and ``rollouts``.
    fn project(&self, py: Python<'_>, name: String) -> PyResult<Py<PyAny>> {
        let subject = name.clone();
        self.call(py, Subject::project(&subject), |api| async move {
            api.project(&name).await
        })
    }

    /// Creates the project ``name`` (admin) deployed to ``nodes``, from the
    /// git repository ``git`` (following ``branch``) or from the app
    /// ``directory`` (uploaded with each deploy); ``port`` fixes its public
    /// port. An invalid app config raises :class:`ConfigError` with every
    /// problem. Returns the created ``project`` (and, for git, its ``webhook``).
    #[pyo3(signature = (name, *, git=None, branch=None, directory=None, nodes, port=None))]
    #[allow(clippy::too_many_arguments)]
    fn create_project(
        &self,
        py: Python<'_>,
        name: String,
        git: Option<String>,
        branch: Option<String>,
        directory: Option<PathBuf>,
        nodes: Vec<String>,
        port: Option<u16>,
    ) -> PyResult<Py<PyAny>> {
        let subject = name.clone();
        match (git, directory) {
            (Some(git), None) => self.call(py, Subject::project(&subject), |api| async move {
                api.create_project(&name, &git, branch.as_deref(), &nodes, port)
                    .await
            }),
            (None, Some(directory)) => {
                let archive = pack(py, &directory)?;
                self.call(py, Subject::project(&subject), |api| async move {
                    api.create_project_from_archive(&name, &nodes, port, archive, false)
                        .await
                })
            }
            _ => Err(invalid_argument(
                py,
                "git",
                "give exactly one of git=\"https://...\" or directory=\"path/to/app\"".to_string(),
            )),
        }
    }

    /// Replaces and pins ``project``'s config with ``config``, the text of
    /// a ``config.vpspilot.json`` (admin); problems raise :class:`ConfigError`
    /// with their line and column in that text.
    fn update_config(
        &self,
        py: Python<'_>,
        project: String,
        config: String,
    ) -> PyResult<Py<PyAny>> {
        let subject = project.clone();
        self.call(py, Subject::project(&subject), |api| async move {
            api.update_config(&project, &config).await
        })
    }

    /// Removes ``project`` (admin): stopped and deleted on every node, its
    /// secrets and record too.
    fn remove_project(&self, py: Python<'_>, project: String) -> PyResult<Py<PyAny>> {
        let subject = project.clone();
        self.call(py, Subject::project(&subject), |api| async move {
            api.remove_project(&project).await
        })
    }

    /// Deploys ``project`` (admin): the app ``directory`` for uploaded
    /// projects, else the git revision ``ref`` (``"main"``, ``"tag:v1"``,
    /// ``"commit:abc1234"``; default: the project's branch). ``canary``
    /// nodes go first and must stay healthy ``canary_watch_secs`` before
    /// the rest. With ``wait`` (the default) returns the finished
    /// :class:`Rollout`, calling ``progress`` with each event dict
    /// meanwhile (it must not call Pilot; what it raises is raised at the
    /// end); without, the rollout as started. A failed rollout is returned
    /// with ``status == "failed"`` and its ``reason``, not raised.
    #[pyo3(signature = (project, *, r#ref=None, directory=None, canary=None, canary_watch_secs=60, wait=true, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn deploy(
        &self,
        py: Python<'_>,
        project: String,
        r#ref: Option<String>,
        directory: Option<PathBuf>,
        canary: Option<Vec<String>>,
        canary_watch_secs: u64,
        wait: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Rollout> {
        let shipment = match (r#ref, directory) {
            (None, Some(directory)) => Shipment::Archive(pack(py, &directory)?),
            (Some(reference), None) => Shipment::Git(DeployTarget::parse(&reference)),
            (None, None) => Shipment::Git(DeployTarget::Default),
            (Some(_), Some(_)) => {
                return Err(invalid_argument(
                    py,
                    "ref",
                    "give either ref= (git projects) or directory= (uploaded projects), not both"
                        .to_string(),
                ));
            }
        };
        let started = start_deploy(
            py,
            self.api(),
            &project,
            shipment,
            canary_plan(canary, canary_watch_secs),
        )?;
        self.finish(py, started, wait, progress)
    }

    /// Rolls ``project`` back to the kept ``generation`` (default: the one
    /// before the live one) on every node (admin); same conventions as
    /// :meth:`deploy`.
    #[pyo3(signature = (project, generation=None, *, wait=true, progress=None))]
    fn rollback(
        &self,
        py: Python<'_>,
        project: String,
        generation: Option<u64>,
        wait: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Rollout> {
        let started = start_rollback(py, self.api(), &project, generation)?;
        self.finish(py, started, wait, progress)
    }

    /// Waits for the rollout ``id`` to end; ``progress`` as in :meth:`deploy`.
    #[pyo3(signature = (id, *, progress=None))]
    fn wait_rollout(
        &self,
        py: Python<'_>,
        id: &str,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Rollout> {
        wait_rollout(py, self.api(), id, progress)
    }

    /// ``project``'s deployments on every node, newest first: dicts with
    /// ``node`` and the ``deployment`` journal (``generation``, ``version``,
    /// ``state``, ``steps``, ``public_port``, ``reason``...).
    #[pyo3(signature = (project, limit=None))]
    fn deployments(
        &self,
        py: Python<'_>,
        project: String,
        limit: Option<u32>,
    ) -> PyResult<Py<PyAny>> {
        let subject = project.clone();
        self.call(py, Subject::project(&subject), |api| async move {
            api.deployments(&project, limit).await
        })
    }

    /// Starts ``project``'s current release on every node; one
    /// ``{"node", "ok", "error"}`` dict per node.
    fn start(&self, py: Python<'_>, project: String) -> PyResult<Py<PyAny>> {
        let subject = project.clone();
        self.call(py, Subject::project(&subject), |api| async move {
            api.start(&project).await
        })
    }

    /// Stops ``project`` on every node; as :meth:`start`.
    fn stop(&self, py: Python<'_>, project: String) -> PyResult<Py<PyAny>> {
        let subject = project.clone();
        self.call(py, Subject::project(&subject), |api| async move {
            api.stop(&project).await
        })
    }

    /// Restarts ``project`` on every node; as :meth:`start`.
    fn restart(&self, py: Python<'_>, project: String) -> PyResult<Py<PyAny>> {
        let subject = project.clone();
        self.call(py, Subject::project(&subject), |api| async move {
            api.restart(&project).await
        })
    }

    /// The last ``lines`` log lines of ``project`` on each node (secrets
    /// masked): ``{"project", "nodes": [{"node", "lines", "error"}]}``.
    #[pyo3(signature = (project, lines=100))]
    fn logs(&self, py: Python<'_>, project: String, lines: u32) -> PyResult<Py<PyAny>> {
        let subject = project.clone();
        self.call(py, Subject::project(&subject), |api| async move {
            api.logs(&project, Some(lines)).await
        })
    }

    /// Sets the secret ``key`` of ``project`` (or its override on ``node``)
    /// (admin). Values are stored encrypted and never returned.
    #[pyo3(signature = (project, key, value, node=None))]
    fn set_env(
        &self,
        py: Python<'_>,
        project: String,
        key: String,
        value: String,
        node: Option<String>,
    ) -> PyResult<()> {
        let subject = project.clone();
        self.run(py, Subject::project(&subject), |api| async move {
            api.set_env(&project, &key, &value, node.as_deref()).await
        })
    }

    /// The names (never the values) of ``project``'s secrets:
    /// ``{"project": [...], "nodes": {node: [...]}, "missing": [...]}``,
    /// ``missing`` being names its config needs that nobody set.
    fn env(&self, py: Python<'_>, project: String) -> PyResult<Py<PyAny>> {
        let subject = project.clone();
        self.call(py, Subject::project(&subject), |api| async move {
            api.env(&project).await
        })
    }

    /// Deletes the secret ``key`` of ``project`` (or its override on ``node``) (admin).
    #[pyo3(signature = (project, key, node=None))]
    fn unset_env(
        &self,
        py: Python<'_>,
        project: String,
        key: String,
        node: Option<String>,
    ) -> PyResult<()> {
        let subject = project.clone();
        self.run(py, Subject::project(&subject), |api| async move {
            api.unset_env(&project, &key, node.as_deref()).await
        })
    }

    /// Stored values of ``metric`` (e.g. ``"cpu_usage_percent"``), one
    /// series per node and label set: ``{"metric", "start_ms", "end_ms",
    /// "step_ms", "aggregation", "series": [{"node", "labels",
    /// "resolution_ms", "points": [{"timestamp_ms", "value"}]}]}``.
    ///
    /// ``start``/``end``: Unix ms, a ``datetime``, or a duration before now
    /// such as ``"-1h"`` (default: the last hour). ``step``: ms, a
    /// ``timedelta`` or ``"5m"``; ``0`` for raw samples. ``agg``: ``"avg"``,
    /// ``"min"``, ``"max"``, ``"sum"`` or ``"count"``. ``labels`` keep only
    /// series carrying them.
    #[pyo3(signature = (metric, node=None, start=None, end=None, step=None, agg="avg", labels=None))]
    #[allow(clippy::too_many_arguments)]
    fn metrics(
        &self,
        py: Python<'_>,
        metric: String,
        node: Option<String>,
        start: Option<Bound<'_, PyAny>>,
        end: Option<Bound<'_, PyAny>>,
        step: Option<Bound<'_, PyAny>>,
        agg: &str,
        labels: Option<BTreeMap<String, String>>,
    ) -> PyResult<Py<PyAny>> {
        let query = MetricsQuery {
            metric,
            node,
            start: start.map(|v| query_time("start", &v)).transpose()?,
            end: end.map(|v| query_time("end", &v)).transpose()?,
            step: step.map(|v| query_step(&v)).transpose()?,
            agg: Some(aggregation(py, agg)?),
            labels: labels.unwrap_or_default(),
        };
        self.call(py, Subject::none(), |api| async move {
            api.query_metrics(&query).await
        })
    }

    /// The newest value of every metric series of ``node``: dicts with
    /// ``name``, ``labels``, ``timestamp_ms`` and ``value``.
    fn latest_metrics(&self, py: Python<'_>, node: String) -> PyResult<Py<PyAny>> {
        let subject = node.clone();
        self.call(py, Subject::node(&subject), |api| async move {
            api.latest_metrics(&node).await
        })
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("Client({})", repr(py, &self.url()))
    }
}

/// A query time: text as given (`"-1h"`), else Unix ms.
fn query_time(field: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    match value.extract::<String>() {
        Ok(text) => Ok(text),
        Err(_) => time_ms(field, value).map(|ms| ms.to_string()),
    }
}

/// A query step: text as given (`"5m"`), else milliseconds.
fn query_step(value: &Bound<'_, PyAny>) -> PyResult<String> {
    match value.extract::<String>() {
        Ok(text) => Ok(text),
        Err(_) => duration_ms("step", value).map(|ms| ms.to_string()),
    }
}

/// The aggregation named `agg`.
fn aggregation(py: Python<'_>, agg: &str) -> PyResult<MetricAggregation> {
    Ok(match agg {
        "avg" => MetricAggregation::Avg,
        "min" => MetricAggregation::Min,
        "max" => MetricAggregation::Max,
        "sum" => MetricAggregation::Sum,
        "count" => MetricAggregation::Count,
        other => {
            return Err(invalid_argument(
                py,
                "agg",
                format!(
                    "unknown aggregation {other:?}; use \"avg\", \"min\", \"max\", \"sum\" or \"count\""
                ),
            ));
        }
    })
}

/// Registers the client classes.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Client>()?;
    crate::client_types::register(m)
}

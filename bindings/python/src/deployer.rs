//! `pilot.Deployer`: deploys app directories on this machine through the
//! core engine, with the embedded supervisor and the built-in proxy, as a
//! Pilot agent does.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use pilot_agent::NodeEngine;
use pilot_core::engine::{self, EngineOptions, NewRelease, service_name};
use pilot_core::source::SourceSpec;
use pilot_core::{SecretValue, ServiceManager};
use pilot_nix::{NixOptions, RuntimeKind, Toolchain};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::config::Config;
use crate::convert::{json_to_py, repr};
use crate::deployment::{Deployment, ProjectStatus, url};
use crate::errors::{ErrorKind, core_error, invalid_argument, new_error, not_found, raise};
use crate::events::PyEvents;
use crate::lifecycle::{Inner, Slot, close_slot, shut_down, track};
use crate::runtime::wait;

/// Deploys apps on this machine, in this process: the deploy engine of a
/// Pilot agent with its embedded supervisor and built-in traffic proxy.
///
/// ``data_dir`` holds releases, state and logs (created when missing).
/// ``runtime`` is ``"host"`` (the host's own toolchains, checked against the
/// config's versions), ``"auto"`` (Nix when it can build here: ``nix``
/// runs and the pinned nixpkgs is in its store, overridden or downloadable;
/// the host's otherwise) or ``"nix"`` (each release's generated flake, with
/// ``nix_offline``, ``nix_overrides`` — ``{input: flake_ref}`` — and
/// ``nix_config`` — extra ``nix.conf`` lines — for every Nix call). Public
/// ports listen on ``public_ip``.
///
/// Apps keep running, and their public ports keep serving, between calls
/// for as long as the deployer is open. :meth:`close` (or leaving a
/// ``with`` block, or the interpreter exiting) stops everything; a new
/// deployer on the same ``data_dir`` starts the live releases again.
/// A deploy cannot be interrupted from Python (Ctrl-C is handled when it
/// ends): it ends by itself within the config's health check and watch
/// timings.
#[pyclass(module = "pilot", frozen)]
pub(crate) struct Deployer {
    inner: Arc<Slot>,
    data_dir: PathBuf,
    runtime: String,
    recovery: serde_json::Value,
}

impl Deployer {
    fn inner(&self, py: Python<'_>) -> PyResult<Arc<Inner>> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                new_error(
                    py,
                    ErrorKind::Deploy,
                    format!(
                        "the deployer of {} is closed; create a new Deployer",
                        self.data_dir.display()
                    ),
                )
            })
    }

    /// Runs a deployment of `project`, sending its events to `progress`.
    fn run<F, Fut>(
        &self,
        py: Python<'_>,
        project: &str,
        progress: Option<Py<PyAny>>,
        check: bool,
        start: F,
    ) -> PyResult<Deployment>
    where
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: Future<Output = pilot_core::Result<engine::Deployment>> + Send,
    {
        let inner = self.inner(py)?;
        let registration = progress.map(|callback| inner.events.add(project, callback));
        let future = start(inner.clone());
        let outcome = wait(py, future);
        let callback_error = registration.and_then(|r| inner.events.remove(project, r));
        let record = outcome?.map_err(|e| core_error(py, e))?;
        if let Some(error) = callback_error {
            return Err(error);
        }
        let deployment = Deployment::new(&record, &inner.host);
        if check && let Err(error) = record.succeeded() {
            return Err(raise(
                py,
                ErrorKind::DeploymentFailed,
                error.to_string(),
                |kw| {
                    kw.set_item("project", deployment.project())?;
                    kw.set_item("state", deployment.state())?;
                    kw.set_item("reason", deployment.reason().unwrap_or_default())?;
                    kw.set_item("deployment", Py::new(py, deployment.clone())?)
                },
            ));
        }
        Ok(deployment)
    }
}

#[pymethods]
impl Deployer {
    /// Opens the deployer of ``data_dir`` and recovers what a previous one
    /// left: interrupted deployments are reverted, live releases started.
    #[new]
    #[pyo3(signature = (data_dir, *, public_ip="127.0.0.1", runtime="host", nix_offline=false, nix_overrides=None, nix_config=None))]
    fn new(
        py: Python<'_>,
        data_dir: PathBuf,
        public_ip: &str,
        runtime: &str,
        nix_offline: bool,
        nix_overrides: Option<BTreeMap<String, String>>,
        nix_config: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let public_ip: IpAddr = public_ip.parse().map_err(|_| {
            invalid_argument(
                py,
                "public_ip",
                format!("public_ip {public_ip:?} is not an IP address; use e.g. \"127.0.0.1\" or \"0.0.0.0\""),
            )
        })?;
        let kind = runtime
            .parse::<RuntimeKind>()
            .map_err(|message| invalid_argument(py, "runtime", message))?;
        let nix = NixOptions {
            offline: nix_offline,
            overrides: nix_overrides.unwrap_or_default(),
            config: nix_config.unwrap_or_default(),
            ..NixOptions::default()
        };
        let toolchain = Toolchain::choose(kind, nix);
        let runtime_name = toolchain.runtime.name().to_string();
        let host = if public_ip.is_unspecified() {
            if public_ip.is_ipv4() {
                "127.0.0.1"
            } else {
                "::1"
            }
            .to_string()
        } else {
            public_ip.to_string()
        };
        let events = Arc::new(PyEvents::default());
        let opened = wait(py, {
            let events = events.clone();
            let data_dir = data_dir.clone();
            async move {
                let options = EngineOptions {
                    public_ip,
                    ..EngineOptions::default()
                };
                let node = NodeEngine::open(&data_dir, toolchain, options, events).await?;
                match node.engine.recover().await {
                    Ok(report) => Ok((node, report)),
                    Err(error) => {
                        node.close().await;
                        Err(error)
                    }
                }
            }
        })?;
        let (node, report) = opened.map_err(|e| core_error(py, e))?;
        let NodeEngine {
            engine,
            supervisor,
            proxy,
        } = node;
        let inner = Arc::new(Mutex::new(Some(Arc::new(Inner {
            engine,
            supervisor,
            proxy,
            events,
            host,
        }))));
        track(&inner);
        Ok(Deployer {
            inner,
            data_dir,
            runtime: runtime_name,
            recovery: serde_json::to_value(&report).unwrap_or_default(),
        })
    }

    /// The data directory.
    #[getter]
    fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// The runtime releases run with: ``"host"`` or ``"nix"`` (what
    /// ``"auto"`` chose).
    #[getter]
    fn runtime(&self) -> &str {
        &self.runtime
    }

    /// What opening recovered, as a dict of lists: ``reverted``,
    /// ``completed``, ``restarted``, ``orphans_removed``, ``problems``.
    #[getter]
    fn recovery<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.recovery)
    }

    /// Deploys the app in ``app`` (a directory holding
    /// ``config.vpspilot.json``, or a ``.zip``/``.tar.gz`` of one) as a new
    /// generation of ``project`` (default: derived from the file name) and
    /// returns its :class:`Deployment` once traffic is switched and the
    /// watch window passed.
    ///
    /// ``progress`` is called with one dict per event (``{"event":
    /// "step_started", "step": "build", ...}``) while the deployment runs,
    /// possibly from another thread; it must not call Pilot, and an
    /// exception it raises is re-raised when the deployment ends. ``config`` replaces the app's own
    /// config; ``secrets`` fill its ``{{NAME}}`` placeholders. With
    /// ``check`` (the default) a deployment that fails or is rolled back
    /// raises :class:`DeploymentFailed`; without, it is returned.
    #[pyo3(signature = (app, project=None, *, progress=None, config=None, secrets=None, check=true))]
    #[allow(clippy::too_many_arguments)]
    fn deploy(
        &self,
        py: Python<'_>,
        app: PathBuf,
        project: Option<String>,
        progress: Option<Py<PyAny>>,
        config: Option<PyRef<'_, Config>>,
        secrets: Option<BTreeMap<String, String>>,
        check: bool,
    ) -> PyResult<Deployment> {
        let source = if app.is_dir() {
            SourceSpec::Dir { path: app.clone() }
        } else if app.is_file() {
            SourceSpec::Archive { path: app.clone() }
        } else {
            return Err(not_found(
                py,
                "app",
                app.display().to_string(),
                format!(
                    "app {} does not exist; give an app directory or an archive of one",
                    app.display()
                ),
            ));
        };
        let project = match project {
            Some(project) => project,
            None => default_project(&app).ok_or_else(|| {
                invalid_argument(
                    py,
                    "project",
                    format!(
                        "cannot derive a project name from {}; pass project=\"my-app\"",
                        app.display()
                    ),
                )
            })?,
        };
        let mut request = NewRelease::new(project.clone(), source);
        request.config = config.map(|c| c.inner.clone());
        request.secrets = secrets
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name, SecretValue::new(value)))
            .collect();
        self.run(py, &project, progress, check, |inner| async move {
            inner.engine.deploy(request).await
        })
    }

    /// Rolls ``project`` back to a kept ``generation`` (default: the one
    /// before the live one) without rebuilding; same conventions as
    /// :meth:`deploy`.
    #[pyo3(signature = (project, generation=None, *, progress=None, check=true))]
    fn rollback(
        &self,
        py: Python<'_>,
        project: String,
        generation: Option<u64>,
        progress: Option<Py<PyAny>>,
        check: bool,
    ) -> PyResult<Deployment> {
        let name = project.clone();
        self.run(py, &name, progress, check, |inner| async move {
            inner.engine.rollback(&project, generation).await
        })
    }

    /// Where ``project`` stands: live and kept generations, public URL,
    /// and whether its live release runs.
    fn status(&self, py: Python<'_>, project: &str) -> PyResult<ProjectStatus> {
        let inner = self.inner(py)?;
        let state = inner
            .engine
            .project(project)
            .map_err(|e| core_error(py, e))?;
        let service = match state.live {
            Some(live) => {
                let name = service_name(project, live.generation);
                let services = inner.supervisor.clone();
                // A live release whose service is gone shows as not running.
                wait(py, async move { services.status(&name).await })?.ok()
            }
            None => None,
        };
        Ok(ProjectStatus::new(&state, service.as_ref(), &inner.host))
    }

    /// Every deployment of ``project``, oldest first.
    fn deployments(&self, py: Python<'_>, project: &str) -> PyResult<Vec<Deployment>> {
        let inner = self.inner(py)?;
        let records = inner
            .engine
            .deployments(project)
            .map_err(|e| core_error(py, e))?;
        Ok(records
            .iter()
            .map(|d| Deployment::new(d, &inner.host))
            .collect())
    }

    /// The projects deployed in this data directory.
    fn projects(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let inner = self.inner(py)?;
        inner
            .engine
            .layout()
            .projects()
            .map_err(|e| core_error(py, e))
    }

    /// The public URL of ``project``.
    fn url(&self, py: Python<'_>, project: &str) -> PyResult<String> {
        let inner = self.inner(py)?;
        let addr = inner
            .engine
            .public_addr(project)
            .map_err(|e| core_error(py, e))?;
        Ok(url(&inner.host, addr.port()))
    }

    /// The last ``lines`` output lines of ``project``'s live release (secrets masked).
    #[pyo3(signature = (project, lines=100))]
    fn logs(&self, py: Python<'_>, project: String, lines: usize) -> PyResult<Vec<String>> {
        let inner = self.inner(py)?;
        wait(py, async move { inner.engine.logs(&project, lines).await })?
            .map_err(|e| core_error(py, e))
    }

    /// Stops ``project``'s live release (its URL refuses connections until
    /// :meth:`start`).
    fn stop(&self, py: Python<'_>, project: String) -> PyResult<()> {
        let inner = self.inner(py)?;
        wait(py, async move { inner.engine.stop(&project).await })?.map_err(|e| core_error(py, e))
    }

    /// Starts ``project``'s live release again after :meth:`stop`.
    fn start(&self, py: Python<'_>, project: String) -> PyResult<()> {
        let inner = self.inner(py)?;
        wait(py, async move { inner.engine.start(&project).await })?.map_err(|e| core_error(py, e))
    }

    /// Stops and starts ``project``'s live release.
    fn restart(&self, py: Python<'_>, project: String) -> PyResult<()> {
        let inner = self.inner(py)?;
        wait(py, async move { inner.engine.restart(&project).await })?
            .map_err(|e| core_error(py, e))
    }

    /// Stops every app and closes every public port. Idempotent; other
    /// calls raise :class:`DeployError` afterwards.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match taken {
            Some(inner) => wait(py, shut_down(inner))?.map_err(|e| core_error(py, e)),
            None => Ok(()),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Deployer({}, runtime={})",
            repr(py, &self.data_dir.display().to_string()),
            repr(py, &self.runtime)
        )
    }
}

impl Drop for Deployer {
    fn drop(&mut self) {
        Python::attach(|py| close_slot(py, &self.inner));
    }
}

/// A project name from an app's directory or archive name: lowercase
/// letters, digits and '-'.
fn default_project(app: &Path) -> Option<String> {
    let absolute = std::path::absolute(app).ok()?;
    let name = absolute.file_name()?.to_str()?;
    let stem = [".tar.gz", ".tgz", ".zip"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name);
    let mut slug = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    let slug = &slug[..slug.len().min(63)];
    let slug = slug.trim_end_matches('-');
    (!slug.is_empty()).then(|| slug.to_string())
}

/// Registers the deployer classes.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Deployer>()?;
    m.add_class::<Deployment>()?;
    m.add_class::<crate::deployment::Step>()?;
    m.add_class::<crate::deployment::Generation>()?;
    m.add_class::<ProjectStatus>()?;
    let close_all = wrap_pyfunction!(crate::lifecycle::close_all, m)?;
    m.py()
        .import("atexit")?
        .call_method1("register", (close_all,))?;
    Ok(())
}

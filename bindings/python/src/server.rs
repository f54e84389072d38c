//! `pilot.Server`: a Pilot server (and a local agent) running in this process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use pilot_agent::{AgentHandle, RuntimeKind};
use pilot_server::client::Client as ApiClient;
use pilot_server::server::{FIRST_ADMIN, RunningServer, ServerOptions, start};
use pilot_server::up::{UpOptions, up};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::client::Client;
use crate::convert::repr;
use crate::errors::{ErrorKind, invalid_argument, new_error};
use crate::runtime::wait;

/// What a started server holds until it is closed.
struct Running {
    server: RunningServer,
    /// The API's base URL.
    url: String,
    agent: Option<AgentHandle>,
    /// A session token of the `admin` user.
    admin_token: String,
}

type Slot = Mutex<Option<Running>>;

/// Every server not yet dropped, closed when the interpreter exits.
static OPEN: Mutex<Vec<Weak<Slot>>> = Mutex::new(Vec::new());

/// A Pilot server running in this process, with the API on ``listen`` and
/// the agent listener on ``agent_listen`` (port 0: any free port), its
/// databases and keys in ``data_dir``.
///
/// With ``local_agent`` (the default) an agent runs in-process too, as
/// node ``local`` (as ``pilot up`` does), with the host's toolchains
/// (``runtime="host"``), Nix (``"nix"``) or Nix when installed
/// (``"auto"``). :meth:`close` (or leaving a ``with`` block, or the
/// interpreter exiting) stops the apps of node ``local``, the agent and
/// the server.
#[pyclass(module = "pilot", frozen)]
pub(crate) struct Server {
    slot: Arc<Slot>,
    url: String,
    admin_password: Option<String>,
    data_dir: PathBuf,
}

impl Server {
    fn running_token(&self, py: Python<'_>) -> PyResult<String> {
        self.slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|running| running.admin_token.clone())
            .ok_or_else(|| {
                new_error(
                    py,
                    ErrorKind::Pilot,
                    format!(
                        "the server of {} is closed; start a new pilot.Server",
                        self.data_dir.display()
                    ),
                )
            })
    }
}

#[pymethods]
impl Server {
    /// Starts the server (and the local agent, waiting until it is online).
    #[new]
    #[pyo3(signature = (data_dir, *, listen="127.0.0.1:0", agent_listen="127.0.0.1:0", admin_password=None, local_agent=true, runtime="host"))]
    fn new(
        py: Python<'_>,
        data_dir: PathBuf,
        listen: &str,
        agent_listen: &str,
        admin_password: Option<String>,
        local_agent: bool,
        runtime: &str,
    ) -> PyResult<Self> {
        let mut options = ServerOptions::new(&data_dir);
        options.http_listen = address(py, "listen", listen)?;
        options.agent_listen = address(py, "agent_listen", agent_listen)?;
        options.admin_password = admin_password.clone();
        let runtime = runtime
            .parse::<RuntimeKind>()
            .map_err(|message| invalid_argument(py, "runtime", message))?;
        let started = wait(py, async move {
            if local_agent {
                let mut up_options = UpOptions::new(None);
                up_options.server = options;
                up_options.runtime = runtime;
                let up = up(up_options, |_| {}).await?;
                Ok(Running {
                    url: up.server.url(),
                    server: up.server,
                    agent: Some(up.agent),
                    admin_token: up.admin_token,
                })
            } else {
                let server = start(options).await?;
                let admin_token = admin_session(&server).await?;
                Ok::<_, pilot_server::Error>(Running {
                    url: server.url(),
                    server,
                    agent: None,
                    admin_token,
                })
            }
        })?;
        let running = started.map_err(|e| {
            new_error(
                py,
                ErrorKind::Pilot,
                format!(
                    "cannot start the pilot server in {}: {e}",
                    data_dir.display()
                ),
            )
        })?;
        let url = running.server.url();
        let admin_password =
            admin_password.or_else(|| running.server.initial_admin_password().map(str::to_string));
        let slot = Arc::new(Mutex::new(Some(running)));
        track(&slot);
        Ok(Server {
            slot,
            url,
            admin_password,
            data_dir,
        })
    }

    /// The API's base URL, e.g. ``http://127.0.0.1:41234``.
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// The ``admin`` user's password: the one given, or the one generated
    /// when this start created the user; ``None`` when an earlier start
    /// did (use :meth:`client`, which needs no password).
    #[getter]
    fn admin_password(&self) -> Option<&str> {
        self.admin_password.as_deref()
    }

    /// The data directory.
    #[getter]
    fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// A :class:`Client` of this server, logged in as ``admin``.
    fn client(&self, py: Python<'_>) -> PyResult<Client> {
        let token = self.running_token(py)?;
        let api = ApiClient::new(&self.url).map_err(|e| {
            crate::client_errors::client_error(py, e, crate::client_errors::Subject::none())
        })?;
        Ok(Client::from_api(api.with_token(token)))
    }

    /// Stops the apps of node ``local``, the local agent and the server.
    /// Idempotent; :meth:`client` raises afterwards.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        close_slot(py, &self.slot)
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
        format!("Server({})", repr(py, &self.url))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        Python::attach(|py| {
            if let Err(e) = close_slot(py, &self.slot) {
                e.write_unraisable(py, None);
            }
        });
    }
}

/// A listen address argument.
fn address(py: Python<'_>, field: &str, text: &str) -> PyResult<SocketAddr> {
    text.parse().map_err(|_| {
        invalid_argument(
            py,
            field,
            format!("{field} {text:?} is not an address; use e.g. \"127.0.0.1:0\" (any free port)"),
        )
    })
}

/// A session of the first admin, issued by the server itself.
async fn admin_session(server: &RunningServer) -> pilot_server::Result<String> {
    let state = server.state();
    let missing = || pilot_server::Error::LocalAgent {
        reason: format!(
            "the {FIRST_ADMIN} user is missing; log in with pilot.Client(url).login(...) instead"
        ),
    };
    let admin = state.store.user(FIRST_ADMIN).await?.ok_or_else(missing)?;
    let session = pilot_server::api::issue_session(state, admin)
        .await
        .map_err(|e| pilot_server::Error::LocalAgent {
            reason: format!("cannot issue an admin session: {e}"),
        })?;
    Ok(session.token)
}

/// Adds a server to the registry [`close_all`] reads.
fn track(slot: &Arc<Slot>) {
    let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    open.retain(|slot| slot.strong_count() > 0);
    open.push(Arc::downgrade(slot));
}

/// Shuts down the server in `slot` if it runs: stops the apps of the local
/// node (so none outlives the process), then the agent and the server.
/// Goes on past failures and raises the first.
fn close_slot(py: Python<'_>, slot: &Slot) -> PyResult<()> {
    let taken = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    let Some(running) = taken else {
        return Ok(());
    };
    let failure = wait(py, async move {
        let mut failure = None;
        if let Some(agent) = running.agent {
            if let Err(e) = stop_apps(&running.url, &running.admin_token).await {
                failure = Some(format!("cannot stop the apps of node local: {e}"));
            }
            if let Err(e) = agent.shutdown().await {
                failure.get_or_insert(format!("the local agent did not stop cleanly: {e}"));
            }
        }
        running.server.shutdown().await;
        failure
    })?;
    match failure {
        Some(message) => Err(new_error(py, ErrorKind::Pilot, message)),
        None => Ok(()),
    }
}

/// Stops every project on the server's nodes; goes on past a project that
/// cannot be stopped and returns the first error.
async fn stop_apps(url: &str, token: &str) -> pilot_server::client::Result<()> {
    let api = ApiClient::new(url)?.with_token(token);
    let mut first_error = None;
    for project in api.projects().await? {
        if let Err(e) = api.stop(&project.name).await {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Closes every server still open; registered with `atexit`.
#[pyfunction]
pub(crate) fn close_all_servers(py: Python<'_>) {
    let slots: Vec<Arc<Slot>> =
        std::mem::take(&mut *OPEN.lock().unwrap_or_else(PoisonError::into_inner))
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
    for slot in slots {
        if let Err(e) = close_slot(py, &slot) {
            e.write_unraisable(py, None);
        }
    }
}

/// Registers the server class.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Server>()?;
    let close_all = wrap_pyfunction!(close_all_servers, m)?;
    m.py()
        .import("atexit")?
        .call_method1("register", (close_all,))?;
    Ok(())
}

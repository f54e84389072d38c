//! [`ProxyDaemon`]: a [`Proxy`] behind a Unix control socket, with its route
//! table saved to disk so a restarted daemon serves the same routes.

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;

use super::control::{
    self, ErrorKind, PROTOCOL_VERSION, Request, RequestLine, Response, ResponseLine,
};
use super::{Proxy, ProxyError, ProxyOptions};
use crate::error::{IoContext, Result};
use crate::fsutil;
use crate::router::{Route, Router};

/// Version of the state file's format.
const STATE_VERSION: u32 = 1;

/// Pause after a failed accept on the control socket, so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// A long-lived proxy process: serves the routes and takes orders from
/// [`ProxyClient`](super::ProxyClient)s on a Unix socket (mode 0600).
///
/// Routes live in the daemon, not in its clients: an agent that restarts or
/// dies does not interrupt traffic. Every change is saved to the state file
/// and restored on start. A saved route whose public address cannot be bound
/// again is logged and left out.
#[derive(Debug)]
pub struct ProxyDaemon {
    proxy: Arc<Proxy>,
    state_file: PathBuf,
    /// Serialises route changes with their save, so the file follows the table.
    changes: tokio::sync::Mutex<()>,
}

/// The state file's content.
#[derive(Debug, Serialize, Deserialize)]
struct SavedRoutes {
    version: u32,
    routes: Vec<Route>,
}

/// Just the version of a request line, read before the rest.
#[derive(Debug, Deserialize)]
struct Versioned {
    version: u32,
}

/// Removes the control socket file when the daemon stops.
struct SocketFile<'a>(&'a Path);

impl Drop for SocketFile<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
    }
}

impl ProxyDaemon {
    /// Serves routes and the control socket until `shutdown` completes, with
    /// the default [`ProxyOptions`].
    pub async fn run(
        socket: &Path,
        state_file: &Path,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        Self::run_with_options(socket, state_file, ProxyOptions::default(), shutdown).await
    }

    /// [`ProxyDaemon::run`] with explicit proxy options. On return every
    /// public port is closed and the socket file removed; the state file stays.
    pub async fn run_with_options(
        socket: &Path,
        state_file: &Path,
        options: ProxyOptions,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let listener = bind_control(socket)?;
        let _socket_file = SocketFile(socket);
        let daemon = Arc::new(ProxyDaemon {
            proxy: Proxy::with_options(options),
            state_file: state_file.to_path_buf(),
            changes: tokio::sync::Mutex::new(()),
        });
        let restored = daemon.restore().await?;
        tracing::info!(socket = %socket.display(), state = %state_file.display(), restored, "proxy daemon ready");
        daemon.serve(&listener, shutdown).await;
        daemon.proxy.close_all().await;
        tracing::info!(socket = %socket.display(), "proxy daemon stopped");
        Ok(())
    }

    /// Sets every saved route again; returns how many are live.
    async fn restore(&self) -> Result<usize> {
        let Some(saved) = fsutil::read_json::<SavedRoutes>(&self.state_file)? else {
            return Ok(0);
        };
        let mut live = 0;
        for route in &saved.routes {
            match self.proxy.set_route(route).await {
                Ok(()) => live += 1,
                Err(error) => {
                    tracing::error!(project = %route.project, %error, "saved route not restored");
                }
            }
        }
        Ok(live)
    }

    async fn save(&self) -> Result<()> {
        let saved = SavedRoutes {
            version: STATE_VERSION,
            routes: self.proxy.routes().await?,
        };
        let path = self.state_file.clone();
        tokio::task::spawn_blocking(move || fsutil::write_json_atomic(&path, &saved))
            .await
            .map_err(|e| ProxyError::Daemon {
                message: format!(
                    "saving routes to {} stopped: {e}",
                    self.state_file.display()
                ),
            })?
    }

    async fn serve(self: &Arc<Self>, listener: &UnixListener, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut handlers = JoinSet::new();
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        handlers.spawn(Arc::clone(self).serve_connection(stream));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "control socket accept failed; retrying shortly");
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    }
                },
                Some(_) = handlers.join_next(), if !handlers.is_empty() => {}
            }
        }
        handlers.shutdown().await;
    }

    /// Answers request lines on one control connection until it closes.
    async fn serve_connection(self: Arc<Self>, stream: UnixStream) {
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        let mut line = Vec::new();
        loop {
            let response = match control::read_line(&mut reader, &mut line).await {
                Ok(true) => self.answer(&line).await,
                Ok(false) => return,
                Err(error) => Response::failure(ErrorKind::BadRequest, error.to_string()),
            };
            let stop = matches!(
                response,
                Response::Error {
                    kind: ErrorKind::BadRequest,
                    ..
                }
            );
            let reply = ResponseLine {
                version: PROTOCOL_VERSION,
                response,
            };
            let written = match control::to_line(&reply) {
                Ok(bytes) => write.write_all(&bytes).await,
                Err(error) => Err(io::Error::other(error)),
            };
            if let Err(error) = written {
                tracing::debug!(%error, "control client went away");
                return;
            }
            if stop {
                return;
            }
        }
    }

    async fn answer(&self, line: &[u8]) -> Response {
        let bad = |e: serde_json::Error| {
            Response::failure(
                ErrorKind::BadRequest,
                format!("cannot parse the request: {e}"),
            )
        };
        let version = match serde_json::from_slice::<Versioned>(line) {
            Ok(versioned) => versioned.version,
            Err(error) => return bad(error),
        };
        if version != PROTOCOL_VERSION {
            return Response::failure(
                ErrorKind::Version,
                format!(
                    "the daemon speaks protocol version {PROTOCOL_VERSION}, the request uses {version}"
                ),
            );
        }
        match serde_json::from_slice::<RequestLine>(line) {
            Ok(request) => self
                .handle(request.request)
                .await
                .unwrap_or_else(|error| Response::from_error(&error)),
            Err(error) => bad(error),
        }
    }

    async fn handle(&self, request: Request) -> Result<Response> {
        match request {
            Request::Ping => Ok(Response::Pong),
            Request::SetRoute { route } => {
                let _changes = self.changes.lock().await;
                self.proxy.set_route(&route).await?;
                self.save().await?;
                Ok(Response::Done)
            }
            Request::Drain {
                project,
                upstream,
                timeout_ms,
            } => {
                let timeout = Duration::from_millis(timeout_ms);
                let report = self.proxy.drain(&project, upstream, timeout).await?;
                Ok(Response::Drained { report })
            }
            Request::RemoveRoute { project } => {
                let _changes = self.changes.lock().await;
                self.proxy.remove_route(&project).await?;
                self.save().await?;
                Ok(Response::Done)
            }
            Request::Routes => Ok(Response::Routes {
                routes: self.proxy.routes().await?,
            }),
        }
    }
}

/// Creates the control socket (mode 0600), replacing a stale one left by a
/// daemon that died, refusing when a live daemon still answers on it.
fn bind_control(socket: &Path) -> Result<UnixListener> {
    let fail = |cause| ProxyError::ControlSocket {
        socket: socket.to_path_buf(),
        cause,
    };
    if let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).ctx("create directory", dir)?;
    }
    match std::fs::symlink_metadata(socket) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(socket).is_ok() {
                return Err(ProxyError::AlreadyRunning {
                    socket: socket.to_path_buf(),
                }
                .into());
            }
            std::fs::remove_file(socket).map_err(fail)?;
        }
        Ok(_) => {
            let source = io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the path exists and is not a socket",
            );
            return Err(fail(source).into());
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(fail(error).into()),
    }
    let listener = UnixListener::bind(socket).map_err(fail)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    Ok(listener)
}

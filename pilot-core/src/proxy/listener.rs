//! Public listeners: binding a project's public address and accepting
//! connections on it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::ProxyError;
use super::conn;
use super::route::ProjectRoute;

/// Pending connections the kernel queues per listener.
const BACKLOG: u32 = 1024;
/// Pause after an accept error that is not about one connection (e.g. out of
/// file descriptors), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Binds `addr` with `SO_REUSEADDR` and starts listening.
pub(crate) fn bind(addr: SocketAddr) -> Result<TcpListener, ProxyError> {
    let fail = |cause| ProxyError::Bind { addr, cause };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(fail)?;
    socket.set_reuseaddr(true).map_err(fail)?;
    socket.bind(addr).map_err(fail)?;
    socket.listen(BACKLOG).map_err(fail)
}

/// The accept loop of a bound public address.
#[derive(Debug)]
pub(crate) struct Listening {
    public: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Listening {
    /// Starts accepting on `listener` for `route`, on the caller's runtime or
    /// on one of the route's workers.
    pub(crate) fn start(
        public: SocketAddr,
        listener: TcpListener,
        route: Arc<ProjectRoute>,
    ) -> Result<Self, ProxyError> {
        let stop = CancellationToken::new();
        let task = match route.workers.clone() {
            None => tokio::spawn(accept_loop(listener, route, stop.clone(), None)),
            Some(workers) => workers
                .listen(listener, route, stop.clone())
                .map_err(|cause| ProxyError::Bind {
                    addr: public,
                    cause,
                })?,
        };
        Ok(Listening { public, stop, task })
    }

    /// Asks the accept loop to stop without waiting for it.
    pub(crate) fn signal_stop(&self) {
        self.stop.cancel();
    }

    /// Stops accepting; when this returns the address is free again.
    pub(crate) async fn stop(self) {
        self.stop.cancel();
        if let Err(error) = self.task.await {
            // A worker runtime that already shut down dropped the loop and its socket.
            tracing::debug!(public = %self.public, %error, "accept loop ended abnormally");
        }
    }
}

/// Accepts connections until `stop`. `home` is the index of the worker the
/// loop runs on, which deals the connections over all workers; `None` serves
/// them on the current runtime.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    route: Arc<ProjectRoute>,
    stop: CancellationToken,
    home: Option<usize>,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                route.count_accepted();
                let guard = route.current().register();
                match (&route.workers, home) {
                    (Some(workers), Some(home)) => workers.dispatch(home, stream, guard, &route),
                    _ => {
                        tokio::spawn(conn::serve(stream, guard, Arc::clone(&route)));
                    }
                }
            }
            Err(error) if is_per_connection(&error) => {}
            Err(error) => {
                tracing::warn!(project = %route.project, %error, "accept failed; retrying shortly");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
}

/// Accept errors that concern only the connection being accepted.
fn is_per_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | Interrupted
    )
}

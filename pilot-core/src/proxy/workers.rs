//! Dedicated I/O threads for proxied connections.
//!
//! Each worker is a thread running a single-threaded tokio runtime (nginx's
//! worker model): a connection lives on one thread from accept to close, so
//! forwarding a request never wakes another thread. Each public socket's
//! accept loop runs on one worker, which deals new connections round-robin
//! over all workers.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::route::ProjectRoute;
use super::upstream::ConnGuard;
use super::{conn, listener};

/// A pool of single-threaded runtimes; stops its threads when dropped.
#[derive(Debug)]
pub(crate) struct Workers {
    handles: Vec<Handle>,
    /// The worker that gets the next connection.
    next: AtomicUsize,
    /// The worker that gets the next accept loop.
    next_home: AtomicUsize,
    stop: CancellationToken,
}

impl Workers {
    /// Starts `count` worker threads (at least one).
    pub(crate) fn start(count: usize) -> io::Result<Workers> {
        let stop = CancellationToken::new();
        let mut handles = Vec::with_capacity(count);
        for index in 0..count.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            handles.push(runtime.handle().clone());
            let stopped = stop.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("pilot-proxy-{index}"))
                .spawn(move || runtime.block_on(stopped.cancelled()));
            if let Err(error) = spawned {
                stop.cancel();
                return Err(error);
            }
        }
        Ok(Workers {
            handles,
            next: AtomicUsize::new(0),
            next_home: AtomicUsize::new(0),
            stop,
        })
    }

    /// Runs the accept loop of `listener` on a worker until `stop`.
    pub(crate) fn listen(
        &self,
        listener: TcpListener,
        route: Arc<ProjectRoute>,
        stop: CancellationToken,
    ) -> io::Result<JoinHandle<()>> {
        let home = self.next_home.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        let listener = listener.into_std()?;
        Ok(self.handles[home].spawn(async move {
            match TcpListener::from_std(listener) {
                Ok(listener) => listener::accept_loop(listener, route, stop, Some(home)).await,
                Err(error) => {
                    tracing::error!(project = %route.project, %error, "worker cannot listen");
                }
            }
        }))
    }

    /// Serves a connection accepted on worker `home` on the next worker in turn.
    pub(crate) fn dispatch(
        &self,
        home: usize,
        stream: TcpStream,
        guard: ConnGuard,
        route: &Arc<ProjectRoute>,
    ) {
        let route = Arc::clone(route);
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        if index == home {
            tokio::spawn(conn::serve(stream, guard, route));
            return;
        }
        // Move the socket to the other worker's event loop.
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(project = %route.project, %error, "cannot hand a connection to a worker");
                return;
            }
        };
        self.handles[index].spawn(async move {
            match TcpStream::from_std(stream) {
                Ok(stream) => conn::serve(stream, guard, route).await,
                Err(error) => {
                    tracing::warn!(project = %route.project, %error, "worker cannot take over a connection");
                }
            }
        });
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Each thread leaves block_on and drops its runtime, closing its connections.
        self.stop.cancel();
    }
}

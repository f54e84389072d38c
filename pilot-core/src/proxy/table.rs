//! [`Proxy`]: the in-process route table and its [`Router`] implementation.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::net::TcpListener;

use super::listener::{self, Listening};
use super::route::{ProjectRoute, ProxyStats};
use super::workers::Workers;
use super::{ProxyError, ProxyOptions};
use crate::error::Result;
use crate::router::{DrainReport, Route, Router};

/// The built-in TCP proxy, running inside the current process.
///
/// Each project has one public listener; every accepted connection goes to
/// the project's upstream of that moment and stays there until either side
/// closes it, it is drained away, or the route is removed.
#[derive(Debug)]
pub struct Proxy {
    options: ProxyOptions,
    /// Serialises route changes so listeners are bound and stopped in order.
    changes: tokio::sync::Mutex<()>,
    projects: Mutex<BTreeMap<String, Entry>>,
    /// Started with the first route when `options.workers` > 0.
    workers: OnceLock<Arc<Workers>>,
}

#[derive(Debug)]
struct Entry {
    public: SocketAddr,
    route: Arc<ProjectRoute>,
    listening: Option<Listening>,
}

impl Proxy {
    /// A proxy with the default [`ProxyOptions`].
    pub fn new() -> Arc<Proxy> {
        Proxy::with_options(ProxyOptions::default())
    }

    /// A proxy with the given options.
    pub fn with_options(options: ProxyOptions) -> Arc<Proxy> {
        Arc::new(Proxy {
            options,
            changes: tokio::sync::Mutex::new(()),
            projects: Mutex::new(BTreeMap::new()),
            workers: OnceLock::new(),
        })
    }

    /// Connection counters of `project`; `None` when it has no route.
    pub fn stats(&self, project: &str) -> Option<ProxyStats> {
        self.table().get(project).map(|entry| entry.route.stats())
    }

    /// Stops every listener and closes every connection, keeping nothing.
    /// When this returns all public ports are free.
    pub async fn close_all(&self) {
        let _changes = self.changes.lock().await;
        let entries = std::mem::take(&mut *self.table());
        for entry in entries.into_values() {
            entry.close().await;
        }
    }

    fn table(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.projects.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The worker pool, started on first use; `None` when connections run
    /// on the caller's runtime.
    fn workers(&self) -> Result<Option<Arc<Workers>>, ProxyError> {
        let count = self.options.workers;
        if count == 0 {
            return Ok(None);
        }
        if let Some(workers) = self.workers.get() {
            return Ok(Some(Arc::clone(workers)));
        }
        let started =
            Workers::start(count).map_err(|cause| ProxyError::Workers { count, cause })?;
        Ok(Some(Arc::clone(
            self.workers.get_or_init(|| Arc::new(started)),
        )))
    }

    fn add(&self, route: &Route) -> Result<()> {
        let workers = self.workers()?;
        let listener = listener::bind(route.public)?;
        let project = ProjectRoute::new(&route.project, route.upstream, self.options, workers);
        let listening = Listening::start(route.public, listener, Arc::clone(&project))?;
        self.table().insert(
            route.project.clone(),
            Entry {
                public: route.public,
                route: project,
                listening: Some(listening),
            },
        );
        Ok(())
    }

    /// Moves a route to a new public address; the upstream switch happens
    /// only once the new address is bound.
    async fn rebind(&self, route: &Route, old_public: SocketAddr) -> Result<()> {
        let listener = match listener::bind(route.public) {
            Ok(listener) => listener,
            Err(error) if holds_port(old_public, route.public, &error) => {
                self.rebind_same_port(route, old_public).await?
            }
            Err(error) => return Err(error.into()),
        };
        let old = {
            let mut table = self.table();
            let Some(entry) = table.get_mut(&route.project) else {
                return Ok(());
            };
            match Listening::start(route.public, listener, Arc::clone(&entry.route)) {
                Ok(listening) => {
                    entry.route.switch_to(route.upstream);
                    entry.public = route.public;
                    entry.listening.replace(listening)
                }
                Err(error) => {
                    if entry.listening.is_none() {
                        lose(&mut table, &route.project, old_public);
                    }
                    return Err(error.into());
                }
            }
        };
        if let Some(old) = old {
            old.stop().await;
        }
        Ok(())
    }

    /// The old listener holds the new address's port (e.g. 0.0.0.0:80 to
    /// 127.0.0.1:80): release it, bind, and put the old one back on failure.
    async fn rebind_same_port(&self, route: &Route, old_public: SocketAddr) -> Result<TcpListener> {
        let old = self
            .table()
            .get_mut(&route.project)
            .and_then(|entry| entry.listening.take());
        if let Some(old) = old {
            old.stop().await;
        }
        let error = match listener::bind(route.public) {
            Ok(listener) => return Ok(listener),
            Err(error) => error,
        };
        let restored = listener::bind(old_public);
        let mut table = self.table();
        let listening = match (restored, table.get_mut(&route.project)) {
            (Ok(listener), Some(entry)) => {
                Listening::start(old_public, listener, Arc::clone(&entry.route)).ok()
            }
            (_, _) => None,
        };
        match (listening, table.get_mut(&route.project)) {
            (Some(listening), Some(entry)) => entry.listening = Some(listening),
            (_, _) => lose(&mut table, &route.project, old_public),
        }
        Err(error.into())
    }
}

impl Entry {
    async fn close(self) {
        if let Some(listening) = self.listening {
            listening.stop().await;
        }
        self.route.close_connections();
    }
}

/// Drops a route that has no listener left, closing its connections.
fn lose(table: &mut BTreeMap<String, Entry>, project: &str, public: SocketAddr) {
    if let Some(entry) = table.remove(project) {
        entry.route.close_connections();
    }
    tracing::error!(project, %public, "route lost: its public address could not be bound again");
}

/// Whether a bind of `new` failed only because `old`, the same route's
/// current listener, holds its port.
fn holds_port(old: SocketAddr, new: SocketAddr, error: &ProxyError) -> bool {
    let in_use = matches!(error, ProxyError::Bind { cause: source, .. } if source.kind() == std::io::ErrorKind::AddrInUse);
    in_use && old.port() == new.port()
}

#[async_trait]
impl Router for Proxy {
    fn name(&self) -> &'static str {
        "proxy"
    }

    async fn set_route(&self, route: &Route) -> Result<()> {
        let _changes = self.changes.lock().await;
        let existing = self
            .table()
            .get(&route.project)
            .map(|entry| (entry.public, Arc::clone(&entry.route)));
        match existing {
            None => self.add(route)?,
            Some((public, project)) if public == route.public => project.switch_to(route.upstream),
            Some((public, _)) => self.rebind(route, public).await?,
        }
        tracing::info!(project = %route.project, public = %route.public, upstream = %route.upstream, "route set");
        Ok(())
    }

    async fn drain(
        &self,
        project: &str,
        upstream: SocketAddr,
        timeout: Duration,
    ) -> Result<DrainReport> {
        let route = self
            .table()
            .get(project)
            .map(|entry| Arc::clone(&entry.route));
        let Some(tracked) = route.and_then(|route| route.upstream(upstream)) else {
            return Ok(DrainReport::default());
        };
        let report = tracked.drain(timeout).await;
        tracing::info!(project, %upstream, finished = report.finished, cut = report.cut, "drained");
        Ok(report)
    }

    async fn remove_route(&self, project: &str) -> Result<()> {
        let _changes = self.changes.lock().await;
        let entry = self.table().remove(project);
        if let Some(entry) = entry {
            entry.close().await;
            tracing::info!(project, "route removed");
        }
        Ok(())
    }

    async fn routes(&self) -> Result<Vec<Route>> {
        Ok(self
            .table()
            .iter()
            .map(|(project, entry)| Route {
                project: project.clone(),
                public: entry.public,
                upstream: entry.route.current().addr(),
            })
            .collect())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        for entry in self.table().values() {
            if let Some(listening) = &entry.listening {
                listening.signal_stop();
            }
            entry.route.close_connections();
        }
    }
}

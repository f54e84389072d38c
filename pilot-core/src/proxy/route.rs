//! The live state of one project's route: its current upstream, the
//! upstreams that still have connections, and counters.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::ProxyOptions;
use super::upstream::Upstream;
use super::workers::Workers;

/// Connection counters of one project, as returned by [`Proxy::stats`](super::Proxy::stats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyStats {
    /// The upstream receiving new connections.
    pub upstream: SocketAddr,
    /// Open connections per upstream (the current one and any still draining).
    pub open: Vec<UpstreamStats>,
    /// Connections accepted on the public port since the route was created.
    pub accepted: u64,
    /// Connections closed because no upstream answered within the connect retry window.
    pub connect_failures: u64,
}

/// Open connections to one upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamStats {
    /// The upstream.
    pub upstream: SocketAddr,
    /// Connections open to it right now.
    pub open: u64,
}

/// Shared by the accept loops and connections of one project.
#[derive(Debug)]
pub(crate) struct ProjectRoute {
    pub(crate) project: Arc<str>,
    pub(crate) options: ProxyOptions,
    /// Where connections run; `None` for the accepting runtime.
    pub(crate) workers: Option<Arc<Workers>>,
    current: ArcSwap<Upstream>,
    upstreams: Mutex<HashMap<SocketAddr, Arc<Upstream>>>,
    /// Cancelled when the route is removed: closes every connection.
    closing: CancellationToken,
    accepted: AtomicU64,
    connect_failures: AtomicU64,
}

impl ProjectRoute {
    /// A route of `project` sending new connections to `upstream`.
    pub(crate) fn new(
        project: &str,
        upstream: SocketAddr,
        options: ProxyOptions,
        workers: Option<Arc<Workers>>,
    ) -> Arc<Self> {
        let closing = CancellationToken::new();
        let first = Upstream::new(upstream, &closing);
        Arc::new(ProjectRoute {
            project: Arc::from(project),
            options,
            workers,
            current: ArcSwap::new(Arc::clone(&first)),
            upstreams: Mutex::new(HashMap::from([(upstream, first)])),
            closing,
            accepted: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
        })
    }

    /// The upstream new connections go to.
    pub(crate) fn current(&self) -> Arc<Upstream> {
        self.current.load_full()
    }

    /// Sends every connection accepted from now on to `addr`.
    pub(crate) fn switch_to(&self, addr: SocketAddr) {
        let mut upstreams = self
            .upstreams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let previous = self.current.load().addr();
        if previous == addr {
            return;
        }
        let next = Arc::clone(
            upstreams
                .entry(addr)
                .or_insert_with(|| Upstream::new(addr, &self.closing)),
        );
        self.current.store(next);
        // Keep the previous upstream even when idle: an accept that loaded it
        // just before the switch may still register a connection on it.
        upstreams.retain(|a, u| *a == addr || *a == previous || u.open() > 0);
    }

    /// The tracked upstream at `addr`, if the route has one.
    pub(crate) fn upstream(&self, addr: SocketAddr) -> Option<Arc<Upstream>> {
        let upstreams = self
            .upstreams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        upstreams.get(&addr).cloned()
    }

    /// Counts an accepted connection.
    pub(crate) fn count_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection whose upstream never answered.
    pub(crate) fn count_connect_failure(&self) {
        self.connect_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Closes every connection of the route.
    pub(crate) fn close_connections(&self) {
        self.closing.cancel();
    }

    /// A snapshot of the counters.
    pub(crate) fn stats(&self) -> ProxyStats {
        let upstreams = self
            .upstreams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let current = self.current.load().addr();
        let mut open: Vec<UpstreamStats> = upstreams
            .values()
            .filter(|u| u.addr() == current || u.open() > 0)
            .map(|u| UpstreamStats {
                upstream: u.addr(),
                open: u.open(),
            })
            .collect();
        open.sort_by_key(|u| u.upstream);
        ProxyStats {
            upstream: current,
            open,
            accepted: self.accepted.load(Ordering::Relaxed),
            connect_failures: self.connect_failures.load(Ordering::Relaxed),
        }
    }
}

//! The [`Router`] trait: which upstream a project's stable public port sends
//! new connections to.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One project's route: its public listen address and the upstream that
/// receives new connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The project.
    pub project: String,
    /// Where clients connect, e.g. 0.0.0.0:8080.
    pub public: SocketAddr,
    /// The release currently receiving new connections, e.g. 127.0.0.1:41233.
    pub upstream: SocketAddr,
}

/// What a drain achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainReport {
    /// Connections to the old upstream that finished on their own.
    pub finished: u64,
    /// Connections still open at the deadline, closed by the router.
    pub cut: u64,
}

/// Points a project's public port at an upstream.
#[async_trait]
pub trait Router: Send + Sync {
    /// Short name for logs, e.g. "proxy".
    fn name(&self) -> &'static str;

    /// Creates or changes a route. When this returns, every new connection to
    /// `route.public` goes to `route.upstream`; connections already open stay
    /// where they are.
    async fn set_route(&self, route: &Route) -> Result<()>;

    /// Waits until no connection of `project` to `upstream` is open, or until
    /// `timeout`, after which the remaining ones are closed.
    async fn drain(
        &self,
        project: &str,
        upstream: SocketAddr,
        timeout: Duration,
    ) -> Result<DrainReport>;

    /// Removes a project's route and stops listening on its public port.
    async fn remove_route(&self, project: &str) -> Result<()>;

    /// Every current route.
    async fn routes(&self) -> Result<Vec<Route>>;
}

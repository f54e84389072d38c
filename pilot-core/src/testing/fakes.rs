//! Fakes of every trait. They keep everything in memory, record what they
//! were asked, and can be told to fail.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::builder::{BuildContext, Builder};
use crate::config::AppConfig;
use crate::error::{Error, Result};
use crate::metrics::{MetricBatch, MetricsSink};
use crate::router::{DrainReport, Route, Router};
use crate::runtime::{Runtime, Toolchain};
use crate::service::{LogFollow, ServiceManager, ServiceSpec, ServiceState, ServiceStatus};
use crate::supervisor::SupervisorError;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A runtime that resolves instantly to a fixed toolchain, or fails with
/// [`Error::RuntimeMissing`] when told to.
#[derive(Debug, Default)]
pub struct FakeRuntime {
    /// When set, `prepare` fails as if this language were missing.
    pub missing: Mutex<Option<String>>,
    /// Release directories `prepare` was called for.
    pub prepared: Mutex<Vec<std::path::PathBuf>>,
}

#[async_trait]
impl Runtime for FakeRuntime {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn prepare(&self, release_dir: &Path, _config: &AppConfig) -> Result<Toolchain> {
        lock(&self.prepared).push(release_dir.to_path_buf());
        if let Some(language) = lock(&self.missing).clone() {
            return Err(Error::RuntimeMissing {
                language,
                wanted: "any".into(),
                found: "the fake runtime was told it is missing".into(),
            });
        }
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), "/usr/bin:/bin".into());
        Ok(Toolchain {
            env,
            description: "fake toolchain".into(),
        })
    }
}

/// A builder that records calls and succeeds unless told to fail.
#[derive(Debug, Default)]
pub struct FakeBuilder {
    /// When true, `build` fails.
    pub fail_build: Mutex<bool>,
    /// Release directories built.
    pub built: Mutex<Vec<std::path::PathBuf>>,
}

#[async_trait]
impl Builder for FakeBuilder {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn build(&self, ctx: &BuildContext<'_>) -> Result<()> {
        lock(&self.built).push(ctx.release_dir.to_path_buf());
        if *lock(&self.fail_build) {
            return Err(Error::CommandFailed {
                phase: "build",
                command: "fake build".into(),
                status: "exit code 1".into(),
                log: ctx.log_file.to_path_buf(),
            });
        }
        Ok(())
    }

    async fn test(&self, _ctx: &BuildContext<'_>) -> Result<()> {
        Ok(())
    }
}

/// A service manager that runs nothing: services change state in memory.
#[derive(Debug, Default)]
pub struct FakeServiceManager {
    services: Mutex<BTreeMap<String, (ServiceSpec, ServiceStatus)>>,
    /// Every call, e.g. "start shop-g1".
    pub calls: Mutex<Vec<String>>,
}

impl FakeServiceManager {
    /// A new, empty manager.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks a running service as exited, as if its process died.
    pub fn kill(&self, name: &str, reason: &str) {
        if let Some((_, status)) = lock(&self.services).get_mut(name) {
            status.state = ServiceState::Exited {
                reason: reason.into(),
            };
            status.pid = None;
            status.last_exit = Some(reason.into());
        }
    }

    fn record(&self, call: String) {
        lock(&self.calls).push(call);
    }

    fn unknown(name: &str) -> Error {
        Error::Supervisor(SupervisorError::UnknownService {
            name: name.to_string(),
        })
    }
}

#[async_trait]
impl ServiceManager for FakeServiceManager {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn install(&self, spec: &ServiceSpec) -> Result<()> {
        self.record(format!("install {}", spec.name));
        let mut services = lock(&self.services);
        let status = services
            .get(&spec.name)
            .map(|(_, s)| s.clone())
            .unwrap_or(ServiceStatus {
                name: spec.name.clone(),
                state: ServiceState::Stopped,
                pid: None,
                started_at: None,
                restarts: 0,
                last_exit: None,
            });
        services.insert(spec.name.clone(), (spec.clone(), status));
        Ok(())
    }

    async fn start(&self, name: &str) -> Result<()> {
        self.record(format!("start {name}"));
        let mut services = lock(&self.services);
        let (_, status) = services.get_mut(name).ok_or_else(|| Self::unknown(name))?;
        if !status.is_running() {
            status.state = ServiceState::Running;
            status.pid = Some(10_000 + status.restarts);
            status.started_at = Some(SystemTime::now());
        }
        Ok(())
    }

    async fn stop(&self, name: &str) -> Result<()> {
        self.record(format!("stop {name}"));
        let mut services = lock(&self.services);
        let (_, status) = services.get_mut(name).ok_or_else(|| Self::unknown(name))?;
        status.state = ServiceState::Stopped;
        status.pid = None;
        Ok(())
    }

    async fn remove(&self, name: &str) -> Result<()> {
        self.record(format!("remove {name}"));
        lock(&self.services).remove(name);
        Ok(())
    }

    async fn status(&self, name: &str) -> Result<ServiceStatus> {
        lock(&self.services)
            .get(name)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| Self::unknown(name))
    }

    async fn list(&self) -> Result<Vec<ServiceStatus>> {
        Ok(lock(&self.services)
            .values()
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn logs(&self, name: &str, _lines: usize) -> Result<Vec<String>> {
        self.status(name).await.map(|_| Vec::new())
    }

    async fn follow(&self, name: &str) -> Result<LogFollow> {
        self.status(name).await?;
        let (_tx, rx) = mpsc::channel(1);
        Ok(rx)
    }
}

/// A router that only records routes.
#[derive(Debug, Default)]
pub struct FakeRouter {
    routes: Mutex<BTreeMap<String, Route>>,
    /// Every drain request: (project, upstream, timeout).
    pub drains: Mutex<Vec<(String, SocketAddr, Duration)>>,
}

#[async_trait]
impl Router for FakeRouter {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn set_route(&self, route: &Route) -> Result<()> {
        lock(&self.routes).insert(route.project.clone(), route.clone());
        Ok(())
    }

    async fn drain(
        &self,
        project: &str,
        upstream: SocketAddr,
        timeout: Duration,
    ) -> Result<DrainReport> {
        lock(&self.drains).push((project.to_string(), upstream, timeout));
        Ok(DrainReport::default())
    }

    async fn remove_route(&self, project: &str) -> Result<()> {
        lock(&self.routes).remove(project);
        Ok(())
    }

    async fn routes(&self) -> Result<Vec<Route>> {
        Ok(lock(&self.routes).values().cloned().collect())
    }
}

/// A metrics sink that keeps every batch.
#[derive(Debug, Default)]
pub struct FakeMetricsSink {
    /// Every batch accepted.
    pub batches: Mutex<Vec<MetricBatch>>,
}

#[async_trait]
impl MetricsSink for FakeMetricsSink {
    async fn accept(&self, batch: MetricBatch) -> Result<()> {
        lock(&self.batches).push(batch);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fake_services_follow_the_trait_contract() {
        let m = FakeServiceManager::new();
        let spec = ServiceSpec {
            name: "a".into(),
            command: "true".into(),
            cwd: "/".into(),
            env: BTreeMap::new(),
            log_file: "/dev/null".into(),
            restart: Default::default(),
            stop_timeout: Duration::from_secs(1),
            redact: vec![],
            memory_limit: None,
            cpu_limit: None,
        };
        assert!(m.start("a").await.is_err());
        m.install(&spec).await.unwrap();
        m.start("a").await.unwrap();
        assert!(m.status("a").await.unwrap().is_running());
        m.kill("a", "signal 9");
        assert_eq!(
            m.status("a").await.unwrap().last_exit.as_deref(),
            Some("signal 9")
        );
        m.remove("a").await.unwrap();
        m.remove("a").await.unwrap();
        assert!(m.list().await.unwrap().is_empty());
    }
}

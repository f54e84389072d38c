//! Starting and stopping an agent: [`Agent::start`], [`AgentHandle`], [`run`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use pilot_metrics::{
    Collector, CollectorOptions, ManagedServices, PrometheusEndpoint, PrometheusSink, SystemInfo,
};
use pilot_nix::Toolchain;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::collect::Collection;
use crate::commands::{Dispatcher, ProgressRoutes};
use crate::error::{Error, Result};
use crate::link::{self, LinkSettings, SessionContext};
use crate::node_engine::NodeEngine;
use crate::options::AgentOptions;
use crate::outbox::{MAX_QUEUED_OUTPUT, Outbox};
use crate::spool::MetricSpool;
use crate::status::{AgentStatus, Counters};

/// The node agent. See [`Agent::start`].
#[derive(Debug)]
pub struct Agent;

impl Agent {
    /// Starts an agent on the current tokio runtime: opens the deploy
    /// engine of `options.data_dir` and recovers interrupted deployments,
    /// opens the metrics spool, binds the Prometheus endpoint if asked, then
    /// spawns the metrics collection and the link to the server (which
    /// connects, and reconnects, in the background).
    ///
    /// Fails when something local is wrong (bad options, data dir in use by
    /// another agent, Prometheus address taken); connection problems are
    /// retried and show in [`AgentHandle::status`].
    pub async fn start(options: AgentOptions) -> Result<AgentHandle> {
        options.validate()?;
        let agent_dir = options.agent_dir();
        let uploads_dir = agent_dir.join("uploads");
        std::fs::create_dir_all(&uploads_dir)
            .map_err(|e| Error::io("create directory", &uploads_dir, e))?;
        let counters = Arc::new(Counters::default());
        let outbox = Arc::new(Outbox::new(MAX_QUEUED_OUTPUT, counters.clone()));
        let spool = Arc::new(MetricSpool::open(
            agent_dir.join("metrics"),
            options.metrics_buffer_bytes,
        )?);
        let collector = Collector::new(CollectorOptions::default())?;
        let stop = CancellationToken::new();
        // Until start succeeds, a failure stops what was spawned.
        let started = stop.clone().drop_guard();
        let prometheus = serve_prometheus(options.metrics_listen, &counters, &stop).await?;
        let node_file = agent_dir.join("node");
        let (hello_name, system) = describe_node(&options, &node_file);

        let progress = Arc::new(ProgressRoutes::new(outbox.clone()));
        let mut engine_options = options.engine.clone();
        engine_options.public_ip = options.public_ip;
        let toolchain = Toolchain::choose(options.runtime, options.nix.clone());
        tracing::info!(
            runtime = toolchain.runtime.name(),
            "toolchain: {}",
            toolchain.why
        );
        let toolchain_line = format!("{} ({})", toolchain.runtime.name(), toolchain.why);
        let node_engine = NodeEngine::open(
            &options.data_dir,
            toolchain,
            engine_options,
            progress.clone(),
        )
        .await?;
        match node_engine.engine.recover().await {
            Ok(report) => tracing::info!(?report, "deploy engine recovered"),
            Err(error) => {
                node_engine.close().await;
                return Err(error.into());
            }
        }
        let dispatcher = Arc::new(Dispatcher::new(
            node_engine.engine.clone(),
            outbox.clone(),
            progress,
            counters.clone(),
            uploads_dir,
        ));

        let (processes_tx, processes_rx) = watch::channel(None);
        let collection = Collection {
            collector,
            services: Arc::new(ManagedServices::new(node_engine.supervisor.clone())),
            spool: spool.clone(),
            prometheus,
            processes: processes_tx,
            counters: counters.clone(),
            fallback_node: hello_name.clone(),
        };
        let collecting = tokio::spawn(collection.run(options.metrics_interval, stop.clone()));

        let settings = LinkSettings {
            server: options.server.clone(),
            tls: options.tls,
            token: options.token.clone(),
            hello_name,
            system,
            connect_timeout: options.connect_timeout,
            backoff_min: options.backoff_min,
            backoff_max: options.backoff_max,
            node_file,
        };
        let context = SessionContext {
            server: options.server.clone(),
            spool: spool.clone(),
            outbox,
            dispatcher: dispatcher.clone(),
            processes: processes_rx,
            counters: counters.clone(),
        };
        let linking = tokio::spawn(link::run(settings, context, stop.clone()));
        let running = Running {
            linking,
            collecting,
            dispatcher,
            node_engine,
            counters: counters.clone(),
            spool: spool.clone(),
            stop: stop.clone(),
        };
        started.disarm();
        Ok(AgentHandle {
            counters,
            spool,
            toolchain: toolchain_line,
            stop,
            task: Some(tokio::spawn(running.until_stopped())),
        })
    }
}

/// Binds the Prometheus endpoint when asked and serves it until `stop`;
/// returns the sink to render batches into.
async fn serve_prometheus(
    listen: Option<SocketAddr>,
    counters: &Counters,
    stop: &CancellationToken,
) -> Result<Option<PrometheusSink>> {
    let Some(addr) = listen else {
        return Ok(None);
    };
    let sink = PrometheusSink::default();
    let endpoint = PrometheusEndpoint::bind(addr, sink.clone()).await?;
    counters.set_metrics_addr(endpoint.local_addr()?);
    let stop = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = endpoint.serve() => {}
            () = stop.cancelled() => {}
        }
    });
    Ok(Some(sink))
}

/// The name for the hello (the one configured, else the one the server
/// gave last time, else the host name) and the system description.
fn describe_node(options: &AgentOptions, node_file: &Path) -> (String, serde_json::Value) {
    let system = SystemInfo::gather();
    let name = options
        .node_name
        .clone()
        .or_else(|| link::remembered_node(node_file))
        .or_else(|| system.as_ref().ok().map(|s| s.hostname.clone()))
        .unwrap_or_else(|| "node".to_owned());
    let system = match system.map(serde_json::to_value) {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => {
            tracing::warn!(%error, "could not encode this system's description");
            serde_json::Value::Null
        }
        Err(error) => {
            tracing::warn!(%error, "could not describe this system for the server");
            serde_json::Value::Null
        }
    };
    (name, system)
}

/// The tasks of a started agent.
struct Running {
    linking: JoinHandle<Result<()>>,
    collecting: JoinHandle<()>,
    dispatcher: Arc<Dispatcher>,
    node_engine: NodeEngine,
    counters: Arc<Counters>,
    spool: Arc<MetricSpool>,
    stop: CancellationToken,
}

impl Running {
    /// Waits for the link to end (stop requested, or refused for good),
    /// then stops everything else and returns the final status.
    async fn until_stopped(self) -> Result<AgentStatus> {
        let linked = self
            .linking
            .await
            .map_err(|_| Error::TaskPanicked { task: "link" })
            .and_then(|result| result);
        self.stop.cancel();
        let collected = self
            .collecting
            .await
            .map_err(|_| Error::TaskPanicked { task: "metrics" });
        self.dispatcher.shutdown().await;
        self.node_engine.close().await;
        tracing::info!("agent stopped");
        linked?;
        collected?;
        Ok(self.counters.snapshot(self.spool.figures()))
    }
}

/// A running agent. Dropping it stops the agent in the background; prefer
/// [`AgentHandle::shutdown`], which waits until everything stopped.
#[derive(Debug)]
pub struct AgentHandle {
    counters: Arc<Counters>,
    spool: Arc<MetricSpool>,
    toolchain: String,
    stop: CancellationToken,
    task: Option<JoinHandle<Result<AgentStatus>>>,
}

impl AgentHandle {
    /// The toolchain deploys use and why, e.g. `host (auto: nix is not
    /// installed; the host's toolchains are used)`.
    pub fn toolchain(&self) -> &str {
        &self.toolchain
    }

    /// The node name the server welcomed this agent with, once connected.
    pub fn node(&self) -> Option<String> {
        self.counters.node()
    }

    /// The address of the Prometheus `/metrics` endpoint, when one was asked for.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.counters.metrics_addr()
    }

    /// The link's and the metrics spool's figures right now.
    pub fn status(&self) -> AgentStatus {
        self.counters.snapshot(self.spool.figures())
    }

    /// Stops the agent: the link closes, running commands are aborted (an
    /// interrupted deploy is reverted at the next start), public ports are
    /// closed and the supervisor lets go of the apps, which keep running
    /// for the next start to adopt. Returns the final status, or the error
    /// the agent had already stopped with.
    pub async fn shutdown(mut self) -> Result<AgentStatus> {
        self.stop.cancel();
        self.join().await
    }

    /// Waits until the agent stops on its own (the server refused it, or
    /// speaks another protocol version) and returns why.
    pub async fn wait(mut self) -> Result<AgentStatus> {
        self.join().await
    }

    async fn join(&mut self) -> Result<AgentStatus> {
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|_| Error::TaskPanicked { task: "agent" })?,
            None => Ok(self.status()),
        }
    }
}

impl Drop for AgentHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Runs an agent until `shutdown` completes or the server refuses it for
/// good; what the `pilot-agent` binary does.
pub async fn run(options: AgentOptions, shutdown: impl Future<Output = ()>) -> Result<()> {
    let handle = Agent::start(options).await?;
    let stop = handle.stop.clone();
    let stopped = handle.wait();
    tokio::pin!(stopped, shutdown);
    tokio::select! {
        result = &mut stopped => result.map(drop),
        () = &mut shutdown => {
            stop.cancel();
            stopped.await.map(drop)
        }
    }
}

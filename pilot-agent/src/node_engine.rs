//! [`NodeEngine`]: a node's deploy engine, opened from a data directory and
//! a [`Toolchain`]. The agent, `pilot up`, the Python `Deployer` and the
//! benchmarks all open it this way, so a node deploys the same wherever it
//! runs.
//!
//! ```no_run
//! use std::sync::Arc;
//! use pilot_agent::NodeEngine;
//! use pilot_core::EngineOptions;
//! use pilot_core::engine::NoEvents;
//! use pilot_nix::{NixOptions, RuntimeKind, Toolchain};
//!
//! # async fn demo() -> pilot_core::Result<()> {
//! let toolchain = Toolchain::choose(RuntimeKind::Auto, NixOptions::default());
//! let node = NodeEngine::open("./pilot-data/node", toolchain, EngineOptions::default(), Arc::new(NoEvents)).await?;
//! node.engine.recover().await?;
//! // ... node.engine.deploy(...) ...
//! node.close().await;
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::Arc;

use pilot_core::engine::EventSink;
use pilot_core::proxy::Proxy;
use pilot_core::supervisor::Supervisor;
use pilot_core::{Engine, EngineOptions, EngineParts, MemorySecretStore, NodeLayout};
use pilot_nix::Toolchain;

/// A node's deploy engine and the parts its owner closes: the node layout at
/// the data dir, the embedded supervisor, the in-process proxy, an in-memory
/// secret store (secrets come with each deploy) and the chosen toolchain.
pub struct NodeEngine {
    /// The deploy engine.
    pub engine: Arc<Engine>,
    /// Its supervisor (detached on close: services keep running).
    pub supervisor: Arc<Supervisor>,
    /// Its proxy (closed on close: public ports are freed).
    pub proxy: Arc<Proxy>,
}

impl NodeEngine {
    /// Opens the engine of `data_dir` with `toolchain`, sending progress to
    /// `events`. Call [`Engine::recover`] next to finish what a previous
    /// engine on the same directory left.
    pub async fn open(
        data_dir: impl AsRef<Path>,
        toolchain: Toolchain,
        options: EngineOptions,
        events: Arc<dyn EventSink>,
    ) -> pilot_core::Result<NodeEngine> {
        let layout = NodeLayout::new(data_dir.as_ref());
        let supervisor = Supervisor::open(layout.supervisor_dir()).await?;
        let proxy = Proxy::new();
        tracing::info!(
            runtime = toolchain.runtime.name(),
            builder = toolchain.builder.name(),
            "deploy engine ready"
        );
        let engine = Engine::new(
            EngineParts {
                layout,
                runtime: toolchain.runtime,
                builder: toolchain.builder,
                services: supervisor.clone(),
                router: proxy.clone(),
                secrets: Arc::new(MemorySecretStore::new()),
                events,
            },
            options,
        );
        Ok(NodeEngine {
            engine: Arc::new(engine),
            supervisor,
            proxy,
        })
    }

    /// Frees the public ports and lets go of the services (they keep
    /// running; the next open adopts them).
    pub async fn close(&self) {
        self.proxy.close_all().await;
        self.supervisor.detach().await;
    }
}

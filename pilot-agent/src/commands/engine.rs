//! The node's deploy engine, assembled as `examples/embed_deploy.rs` does:
//! the layout at the data dir, the embedded supervisor, the in-process proxy,
//! an in-memory secret store (secrets come with each deploy), and Nix when
//! it is installed.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use pilot_core::builder::BuildContext;
use pilot_core::config::AppType;
use pilot_core::engine::EventSink;
use pilot_core::proxy::Proxy;
use pilot_core::supervisor::Supervisor;
use pilot_core::{
    Builder, CommandsBuilder, Engine, EngineParts, HostRuntime, MemorySecretStore, NodeLayout,
    Runtime,
};
use pilot_nix::{FlakeBuilder, NixOptions, NixRuntime};

use crate::error::Result;
use crate::options::{AgentOptions, RuntimeChoice};

/// The engine and the parts the agent closes itself on shutdown.
pub(crate) struct NodeEngine {
    /// The deploy engine.
    pub engine: Arc<Engine>,
    /// Its supervisor (detached on shutdown: services keep running).
    pub supervisor: Arc<Supervisor>,
    /// Its proxy (closed on shutdown: public ports are freed).
    pub proxy: Arc<Proxy>,
}

impl NodeEngine {
    /// Assembles the engine of `options.data_dir`, sending progress to `events`.
    pub async fn open(options: &AgentOptions, events: Arc<dyn EventSink>) -> Result<NodeEngine> {
        let layout = NodeLayout::new(&options.data_dir);
        let supervisor = Supervisor::open(layout.supervisor_dir()).await?;
        let proxy = Proxy::new();
        let (runtime, builder) = toolchain(&options.runtime);
        tracing::info!(
            runtime = runtime.name(),
            builder = builder.name(),
            "deploy engine ready"
        );
        let mut engine_options = options.engine.clone();
        engine_options.public_ip = options.public_ip;
        let engine = Engine::new(
            EngineParts {
                layout,
                runtime,
                builder,
                services: supervisor.clone(),
                router: proxy.clone(),
                secrets: Arc::new(MemorySecretStore::new()),
                events,
            },
            engine_options,
        );
        Ok(NodeEngine {
            engine: Arc::new(engine),
            supervisor,
            proxy,
        })
    }

    /// Frees the public ports and lets go of the services (they keep
    /// running; the next start adopts them).
    pub async fn close(&self) {
        self.proxy.close_all().await;
        self.supervisor.detach().await;
    }
}

/// The runtime and builder for `choice`.
fn toolchain(choice: &RuntimeChoice) -> (Arc<dyn Runtime>, Arc<dyn Builder>) {
    let nix = |options: NixOptions| -> (Arc<dyn Runtime>, Arc<dyn Builder>) {
        (
            Arc::new(NixRuntime::new(options.clone())),
            Arc::new(NixAppBuilder {
                flake: FlakeBuilder::new(options),
            }),
        )
    };
    match choice {
        RuntimeChoice::Auto if nix_installed() => nix(NixOptions::default()),
        RuntimeChoice::Nix(options) => nix(options.clone()),
        RuntimeChoice::Auto | RuntimeChoice::Host => {
            (Arc::new(HostRuntime::new()), Arc::new(CommandsBuilder))
        }
    }
}

/// Whether `nix` is an executable file in a directory of `PATH`.
pub(crate) fn nix_installed() -> bool {
    std::env::var_os("PATH").is_some_and(|path| on_path("nix", &path))
}

/// Whether `program` is an executable file in one of `path`'s directories.
fn on_path(program: &str, path: &std::ffi::OsStr) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path).any(|dir| {
        let candidate = Path::new(&dir).join(program);
        candidate
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// With Nix, template apps get their toolchain from the runtime and run
/// their config's commands; `custom` apps are built from their own flake
/// by [`FlakeBuilder`] first.
#[derive(Debug, Clone)]
struct NixAppBuilder {
    flake: FlakeBuilder,
}

#[async_trait]
impl Builder for NixAppBuilder {
    fn name(&self) -> &'static str {
        "commands, flake for custom apps"
    }

    async fn build(&self, ctx: &BuildContext<'_>) -> pilot_core::Result<()> {
        if ctx.config.app_type == AppType::Custom {
            self.flake.build(ctx).await
        } else {
            CommandsBuilder.build(ctx).await
        }
    }

    async fn test(&self, ctx: &BuildContext<'_>) -> pilot_core::Result<()> {
        CommandsBuilder.test(ctx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn nix_is_found_only_as_an_executable_on_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let empty = tempfile::tempdir().unwrap();
        let path = std::env::join_paths([empty.path(), dir.path()]).unwrap();
        assert!(!on_path("nix", &path));
        let nix = dir.path().join("nix");
        std::fs::write(&nix, "#!/bin/sh\n").unwrap();
        assert!(!on_path("nix", &path), "not executable yet");
        std::fs::set_permissions(&nix, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(on_path("nix", &path));
    }

    #[test]
    fn the_runtime_follows_the_choice() {
        let (runtime, builder) = toolchain(&RuntimeChoice::Host);
        assert_eq!((runtime.name(), builder.name()), ("host", "commands"));
        let (runtime, builder) = toolchain(&RuntimeChoice::Nix(NixOptions::default()));
        assert_eq!(runtime.name(), "nix");
        assert_eq!(builder.name(), "commands, flake for custom apps");
    }
}

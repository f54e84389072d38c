//! The one place that decides which toolchains a node's deploys use:
//! [`RuntimeKind`] (what a user chooses: `auto`, `host` or `nix`) and
//! [`Toolchain`] (the [`Runtime`] and [`Builder`] that choice gives).
//!
//! ```
//! use pilot_nix::{NixOptions, RuntimeKind, Toolchain};
//!
//! let kind: RuntimeKind = "host".parse().unwrap();
//! let toolchain = Toolchain::choose(kind, NixOptions::default());
//! assert_eq!(toolchain.runtime.name(), "host");
//! assert!("docker".parse::<RuntimeKind>().unwrap_err().contains("auto, host or nix"));
//! ```

use std::ffi::OsStr;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use pilot_core::builder::BuildContext;
use pilot_core::config::AppType;
use pilot_core::{Builder, CommandsBuilder, HostRuntime, Runtime};

use crate::builder::FlakeBuilder;
use crate::nix::NixOptions;
use crate::readiness;
use crate::runtime::NixRuntime;

/// Which toolchains deploys use, as a user chooses them (`--runtime`, the
/// Python `runtime=` argument).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum RuntimeKind {
    /// Nix when it can build here (`nix` runs and the pinned nixpkgs is in
    /// the store, overridden or downloadable), the host's toolchains
    /// otherwise.
    #[default]
    Auto,
    /// The host's own toolchains, checked against the config's versions.
    Host,
    /// Each release's generated flake (`custom` apps build their own flake).
    Nix,
}

impl RuntimeKind {
    /// Every choice, in the order they are documented.
    pub const ALL: [RuntimeKind; 3] = [RuntimeKind::Auto, RuntimeKind::Host, RuntimeKind::Nix];

    /// The choice's name, as typed: `auto`, `host` or `nix`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeKind::Auto => "auto",
            RuntimeKind::Host => "host",
            RuntimeKind::Nix => "nix",
        }
    }

    /// `Host` or `Nix`, with why in one sentence: a fixed choice is kept;
    /// `Auto` is Nix only when Nix, as `nix` calls it, can build here now
    /// (see [`readiness::check`]), which takes at most a few seconds.
    pub fn resolve(self, nix: &NixOptions) -> (RuntimeKind, String) {
        match self {
            RuntimeKind::Auto if !nix_installed_as(nix) => (
                RuntimeKind::Host,
                format!(
                    "auto: {} is not installed; the host's toolchains are used",
                    nix.program.display()
                ),
            ),
            RuntimeKind::Auto => {
                let found = readiness::check(nix);
                if found.ready {
                    (RuntimeKind::Nix, format!("auto: {}", found.reason))
                } else {
                    (
                        RuntimeKind::Host,
                        format!(
                            "auto: {}; the host's toolchains are used (--runtime nix insists on Nix)",
                            found.reason
                        ),
                    )
                }
            }
            chosen => (chosen, format!("chosen with --runtime {chosen}")),
        }
    }
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuntimeKind {
    /// A sentence naming the unknown value and the choices.
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuntimeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown runtime {s:?}; use auto, host or nix"))
    }
}

/// The runtime and builder of a node's deploys.
#[derive(Clone)]
pub struct Toolchain {
    /// Where commands run.
    pub runtime: Arc<dyn Runtime>,
    /// How releases are built.
    pub builder: Arc<dyn Builder>,
    /// Why this toolchain, in one sentence (for the log and `pilot up`).
    pub why: String,
}

impl fmt::Debug for Toolchain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Toolchain")
            .field("runtime", &self.runtime.name())
            .field("builder", &self.builder.name())
            .finish()
    }
}

impl Toolchain {
    /// The toolchain `kind` gives on this machine; `nix` configures every
    /// Nix call when the choice is (or resolves to) Nix.
    pub fn choose(kind: RuntimeKind, nix: NixOptions) -> Toolchain {
        let (resolved, why) = kind.resolve(&nix);
        let toolchain = match resolved {
            RuntimeKind::Nix => Toolchain::nix(nix),
            _ => Toolchain::host(),
        };
        Toolchain { why, ..toolchain }
    }

    /// The host's toolchains with the config's commands.
    pub fn host() -> Toolchain {
        Toolchain {
            runtime: Arc::new(HostRuntime::new()),
            builder: Arc::new(CommandsBuilder),
            why: "the host's toolchains".to_string(),
        }
    }

    /// Nix: template apps run their config's commands in the release's dev
    /// shell; `custom` apps are built from their own flake first.
    pub fn nix(options: NixOptions) -> Toolchain {
        Toolchain {
            runtime: Arc::new(NixRuntime::new(options.clone())),
            builder: Arc::new(NixAppBuilder {
                flake: FlakeBuilder::new(options),
            }),
            why: "Nix".to_string(),
        }
    }
}

/// Whether `nix` is an executable file in a directory of `PATH`.
pub fn nix_installed() -> bool {
    std::env::var_os("PATH").is_some_and(|path| on_path("nix", &path))
}

/// Whether the `nix` of `options` exists: a path as given, a bare name on
/// `PATH`.
fn nix_installed_as(options: &NixOptions) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let program = &options.program;
    if program.components().count() > 1 {
        return program
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    }
    std::env::var_os("PATH").is_some_and(|path| on_path(&program.to_string_lossy(), &path))
}

/// Whether `program` is an executable file in one of `path`'s directories.
fn on_path(program: &str, path: &OsStr) -> bool {
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
    fn the_toolchain_follows_the_choice() {
        let host = Toolchain::choose(RuntimeKind::Host, NixOptions::default());
        assert_eq!(
            (host.runtime.name(), host.builder.name()),
            ("host", "commands")
        );
        let nix = Toolchain::choose(RuntimeKind::Nix, NixOptions::default());
        assert_eq!(nix.runtime.name(), "nix");
        assert_eq!(nix.builder.name(), "commands, flake for custom apps");
        let auto = Toolchain::choose(RuntimeKind::Auto, NixOptions::default());
        let expected = if readiness::check(&NixOptions::default()).ready && nix_installed() {
            "nix"
        } else {
            "host"
        };
        assert_eq!(auto.runtime.name(), expected, "{}", auto.why);
        assert!(auto.why.starts_with("auto: "), "{}", auto.why);
    }

    #[test]
    fn choices_parse_from_their_names_and_nothing_else() {
        for kind in RuntimeKind::ALL {
            assert_eq!(kind.as_str().parse::<RuntimeKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        let err = "Nix".parse::<RuntimeKind>().unwrap_err();
        assert_eq!(err, "unknown runtime \"Nix\"; use auto, host or nix");
        let nix = NixOptions::default();
        assert_eq!(RuntimeKind::Host.resolve(&nix).0, RuntimeKind::Host);
        assert_eq!(RuntimeKind::Nix.resolve(&nix).0, RuntimeKind::Nix);
        assert_ne!(RuntimeKind::Auto.resolve(&nix).0, RuntimeKind::Auto);
    }

    #[test]
    fn auto_without_nix_says_so_and_uses_the_host() {
        let nix = NixOptions {
            program: "/nonexistent/bin/nix".into(),
            ..NixOptions::default()
        };
        let (kind, why) = RuntimeKind::Auto.resolve(&nix);
        assert_eq!(kind, RuntimeKind::Host);
        assert!(
            why.contains("/nonexistent/bin/nix is not installed"),
            "{why}"
        );
    }
}

//! # pilot-nix
//!
//! Nix support for Pilot: users write a small `config.vpspilot.json`, never
//! Nix, and get a pinned, reproducible toolchain.
//!
//! - [`catalog`]: which Nix package provides each supported runtime version
//!   (series from one pinned nixpkgs revision, exact patch releases from
//!   community flakes), read from one data file;
//! - [`flake`]: askama templates that turn a config into a `flake.nix`, with
//!   every value escaped by [`escape::nix_string`];
//! - [`NixRuntime`] (a [`pilot_core::Runtime`]): realises the flake's dev
//!   shell once per release and runs every later command with its environment;
//! - [`FlakeBuilder`] (a [`pilot_core::Builder`]): `nix build` with streamed
//!   logs, a GC root per release and summarised errors, then the build commands;
//! - [`toolchain`]: [`RuntimeKind`] (`auto`, `host`, `nix`) and the
//!   [`Toolchain`] (runtime + builder) a node's deploys use, chosen in one place;
//! - [`host`]: the NixOS host module for a node whose data lives on a volume.
//!
//! ```
//! use pilot_nix::{Catalog, render_flake};
//!
//! let config = pilot_core::config::parse(r#"{
//!     "name": "hello", "type": "python",
//!     "runtime": {"python": "3.11.7"},
//!     "start": {"command": "exec python3 app.py"}
//! }"#).unwrap();
//! let flake = render_flake(&config, Catalog::builtin()).unwrap();
//! assert!(flake.text.contains(r#"inputs.nixpkgs-python.packages.${system}."3.11.7""#));
//! assert_eq!(pilot_nix::escape::nix_string("a\"${b}"), r#""a\"\${b}""#);
//! ```

pub mod builder;
pub mod catalog;
pub mod error;
pub mod escape;
pub mod flake;
pub mod host;
pub mod nix;
pub mod readiness;
pub mod release_flake;
pub mod runtime;
pub mod toolchain;

pub use builder::FlakeBuilder;
pub use catalog::Catalog;
pub use error::{Error, Result};
pub use flake::{RenderedFlake, render_flake};
pub use nix::{NixFailure, NixOptions};
pub use release_flake::ReleaseFlake;
pub use runtime::NixRuntime;
pub use toolchain::{RuntimeKind, Toolchain};

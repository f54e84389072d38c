//! pilot-nix's integration tests, one binary: flake snapshots and the
//! templates, the host module and injection safety against real Nix, the
//! Nix runtime and builder, and the engine deploying with Nix.

mod support;

mod engine_nix;
mod flake_snapshots;
mod host_module;
mod injection;
mod nix_runtime;
mod nix_templates;

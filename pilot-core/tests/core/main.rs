//! pilot-core's integration tests, one binary: config parsing and schema,
//! the engine on real components (lifecycle, secrets, traffic, crash
//! safety), the agent link protocol, the proxy, the sources and the
//! embedded supervisor.

mod common;
mod proxy_support;

mod config_errors;
mod config_schema;
mod config_valid;
mod engine_crash;
mod engine_lifecycle;
mod engine_secrets;
mod engine_traffic;
mod protocol;
mod protocol_tls;
mod proxy;
mod proxy_daemon;
mod source_archive;
mod source_dir;
mod source_git;
mod supervisor;

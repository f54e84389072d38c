//! # pilot-core
//!
//! The deploy engine of Pilot and everything it needs that runs on any Linux
//! machine without Nix or systemd: the `config.vpspilot.json` model, the five
//! traits ([`Runtime`], [`Builder`], [`ServiceManager`], [`MetricsSink`],
//! [`SecretStore`]) with their embedded implementations, the traffic
//! [`Router`] with the built-in TCP proxy, git and archive sources, health
//! checks, and the journaled blue-green engine.

pub mod builder;
pub mod command;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod error;
pub mod fsutil;
pub mod health;
pub mod layout;
pub mod metrics;
pub mod output;
pub mod protocol;
pub mod proxy;
pub mod redact;
pub mod router;
pub mod runtime;
pub mod secrets;
pub mod service;
pub mod source;
pub mod supervisor;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod time;

pub use builder::{Builder, CommandsBuilder};
pub use config::AppConfig;
pub use engine::{Deployment, Engine, EngineOptions, EngineParts, NewRelease};
pub use error::{Error, Result};
pub use layout::{NodeLayout, ReleaseName};
pub use metrics::{MetricBatch, MetricsSink, ProcessSummary, Sample, TopProcesses};
pub use redact::Redactor;
pub use router::{Route, Router};
pub use runtime::{HostRuntime, Runtime, Toolchain};
pub use secrets::{MemorySecretStore, SecretScope, SecretStore, SecretValue};
pub use service::{ServiceManager, ServiceSpec, ServiceStatus};
pub use supervisor::{Supervisor, SupervisorOptions};

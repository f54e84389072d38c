//! # pilot-server
//!
//! The Pilot server library behind the `pilot` binary: the agent listener
//! ([`hub`]), the deploy orchestration ([`deploy`]), the REST API and
//! WebSocket ([`api`]), and the typed API client ([`client`]) the CLI and
//! the Python bindings use.

pub mod api;
pub mod cli;
pub mod client;
pub mod deploy;
pub mod error;
pub mod events;
pub mod hub;
pub mod node_link;
pub mod server;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod up;

pub use error::{Error, Result};
pub use events::{EventBus, ServerEvent};
pub use node_link::{CommandRun, CommandUpdate, LinkError, NodeLink};

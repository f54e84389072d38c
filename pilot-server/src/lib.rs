//! # pilot-server
//!
//! The Pilot server library behind the `pilot` binary: the agent listener
//! ([`hub`]), the deploy orchestration ([`deploy`]), the REST API and
//! WebSocket ([`api`]), and the typed API client ([`client`]) the CLI and
//! the Python bindings use.
//!
//! Three module trees, each behind what it needs: the server ([`hub`],
//! [`deploy`], [`api`], [`server`]) always; the client ([`client`]) and
//! `pilot up` ([`up`]) with the feature `client`; the command line
//! (`cli`, and the `pilot` binary) with the feature `cli` (the default,
//! which includes `client`). The wire types of the REST API and the
//! WebSocket are in [`api::types`], shared by all three.

pub mod api;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "client")]
pub mod client;
pub mod deploy;
pub mod error;
pub mod events;
pub mod hub;
pub mod node_link;
pub mod server;
#[cfg(feature = "test-util")]
pub mod testing;
#[cfg(feature = "client")]
pub mod up;
mod web;

pub use error::{Error, Result};
pub use events::{EventBus, ServerEvent};
pub use node_link::{CommandRun, CommandUpdate, LinkError, NodeLink};

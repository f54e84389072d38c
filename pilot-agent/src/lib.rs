//! # pilot-agent
//!
//! The Pilot node agent, as a library and the thin `pilot-agent` binary.
//! An agent keeps one connection to the server (TCP, TLS pinned by
//! fingerprint when the server is remote), reconnecting with jittered
//! backoff; runs the server's commands (deploy, rollback, start, stop,
//! restart, logs, remove) through the core deploy engine; and ships host and
//! per-app metrics, spooled on disk so an outage loses none of them.
//!
//! - [`Agent::start`] spawns everything on the current tokio runtime and
//!   returns an [`AgentHandle`] ([`status`](AgentHandle::status),
//!   [`shutdown`](AgentHandle::shutdown)); [`run`] is what the binary does.
//! - [`MetricSpool`] is the on-disk metrics buffer: bounded by bytes (the
//!   oldest batches are dropped and counted), sequence numbers that survive
//!   restarts, batches removed when the server acknowledges them.
//! - [`NodeEngine`] opens a node's deploy engine from a data dir and a
//!   [`Toolchain`]; the agent, `pilot up`, Python and the benchmarks use it.
//! - The crate also ships `pilot-proxy`, the built-in TCP proxy as its own process.
//!
//! ```no_run
//! use std::time::Duration;
//! use pilot_agent::{Agent, AgentOptions, ServerTls};
//! use pilot_core::protocol::NodeToken;
//!
//! # async fn demo() -> pilot_agent::Result<()> {
//! let token: NodeToken = "pilot_nt_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
//!     .parse()
//!     .expect("token");
//! let mut options = AgentOptions::new("./pilot-data/node", "127.0.0.1:55001", token);
//! options.tls = ServerTls::Off; // the server is on this machine
//! options.metrics_listen = Some("127.0.0.1:9101".parse().expect("address"));
//! let agent = Agent::start(options).await?;
//! tokio::time::sleep(Duration::from_secs(1)).await;
//! println!("connected: {}, node {:?}", agent.status().connected, agent.node());
//! let last = agent.shutdown().await?;
//! println!("{} metric batches sent", last.batches_sent);
//! # Ok(()) }
//! ```
//!
//! The spool alone, e.g. to inspect what waits for the server:
//!
//! ```
//! use pilot_agent::MetricSpool;
//! use pilot_core::MetricBatch;
//!
//! let dir = tempfile::tempdir().expect("temp dir");
//! let spool = MetricSpool::open(dir.path(), 64 * 1024 * 1024)?;
//! let seq = spool.append(&MetricBatch { node: "web-1".into(), samples: vec![] })?;
//! assert_eq!(spool.pending()?.len(), 1);
//! spool.ack(seq); // the server stored it
//! assert_eq!(spool.figures().batches, 0);
//! # Ok::<(), pilot_agent::Error>(())
//! ```

mod agent;
mod collect;
mod commands;
pub mod error;
mod link;
pub mod node_engine;
pub mod options;
mod outbox;
pub mod spool;
pub mod startup;
mod status;

pub use agent::{Agent, AgentHandle, run};
pub use error::{Error, Result};
pub use node_engine::NodeEngine;
pub use options::{AgentOptions, ServerTls};
pub use pilot_nix::{NixOptions, RuntimeKind, Toolchain};
pub use spool::{MetricSpool, SpoolFigures};
pub use status::AgentStatus;

//! The built-in TCP proxy that gives each project a stable public port.
//!
//! A project's public address is bound once; every accepted connection is
//! forwarded to the project's upstream (the live release's own port) of that
//! moment. [`Router::set_route`](crate::Router::set_route) switches the
//! upstream atomically, and [`Router::drain`](crate::Router::drain) waits for
//! the old upstream's connections before the engine stops it.
//!
//! The proxy runs in-process ([`Proxy`]) or as its own long-lived process
//! ([`ProxyDaemon`], driven through [`ProxyClient`]) so that restarting the
//! agent does not drop traffic.
//!
//! ```no_run
//! use pilot_core::proxy::Proxy;
//! use pilot_core::{Route, Router};
//! # async fn demo() -> pilot_core::Result<()> {
//! let proxy = Proxy::new();
//! let mut route = Route {
//!     project: "shop".into(),
//!     public: "0.0.0.0:8080".parse().unwrap(),
//!     upstream: "127.0.0.1:41233".parse().unwrap(),
//! };
//! proxy.set_route(&route).await?;
//! // A new release is healthy on another port: switch, then drain the old one.
//! let old = route.upstream;
//! route.upstream = "127.0.0.1:41234".parse().unwrap();
//! proxy.set_route(&route).await?;
//! let report = proxy.drain("shop", old, std::time::Duration::from_secs(30)).await?;
//! println!("{} finished, {} cut", report.finished, report.cut);
//! # Ok(()) }
//! ```

mod client;
mod conn;
mod control;
mod daemon;
mod error;
mod listener;
mod options;
mod route;
mod table;
mod upstream;
mod workers;

pub use client::ProxyClient;
pub use daemon::ProxyDaemon;
pub use error::ProxyError;
pub use options::{ProxyOptions, workers_per_core};
pub use route::{ProxyStats, UpstreamStats};
pub use table::Proxy;

//! # pilot-store
//!
//! Durable state for the Pilot server.
//!
//! - [`Database`]: an SQLite file in WAL mode (the embedded default) or a
//!   PostgreSQL server (scale-out), migrated on open. Both run the same SQL.
//! - [`SqlStore`]: the server's [`records`] (users, nodes, projects,
//!   deployments, audit log, settings), read and changed with its methods.
//! - [`secrets`]: [`SqlSecretStore`], the encrypted `pilot_core::SecretStore`.
//! - [`timeseries`]: [`TimeseriesStore`], the compressed metrics engine that
//!   implements `pilot_core::MetricsSink`.
//!
//! The SQL of these tables lives here only: other crates call the stores'
//! methods.
//!
//! ```
//! use pilot_core::{MetricBatch, MetricsSink, Sample, SecretScope, SecretStore, SecretValue};
//! use pilot_store::records::Role;
//! use pilot_store::timeseries::{RangeQuery, SeriesSelector, TimeseriesOptions};
//! use pilot_store::{Database, MasterKey, SqlSecretStore, SqlStore, SqliteDurability, TimeseriesStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let db = Database::open_sqlite(&dir.path().join("pilot.db"), SqliteDurability::Full).await?;
//!
//! let store = SqlStore::new(db.clone());
//! store.create_user("ada", "correct horse battery", Role::Admin).await?;
//! assert!(store.verify_password("ada", "correct horse battery").await?.is_some());
//!
//! let secrets = SqlSecretStore::with_key(db.clone(), MasterKey::generate());
//! secrets.set(&SecretScope::project("shop"), "DB_PASSWORD", SecretValue::new("s3cret")).await?;
//! let env = secrets.resolve("shop", Some("node-1")).await?;
//! assert_eq!(env["DB_PASSWORD"].expose(), "s3cret");
//!
//! let metrics = TimeseriesStore::open(db, TimeseriesOptions::default()).await?;
//! let sample = |t: i64, v: f64| Sample {
//!     name: "cpu_usage_percent".into(),
//!     labels: Default::default(),
//!     timestamp_ms: t,
//!     value: v,
//! };
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
//! let batch = MetricBatch { node: "node-1".into(), samples: vec![sample(now, 12.5), sample(now + 10_000, 14.0)] };
//! metrics.accept(batch).await?;
//! let cpu = SeriesSelector::metric("cpu_usage_percent").on_node("node-1");
//! let result = metrics.query(&RangeQuery::raw(cpu, now, now + 60_000)).await?;
//! assert_eq!(result[0].points.len(), 2);
//! # Ok(())
//! # }
//! ```

mod checkpoint;
pub mod db;
pub mod error;
pub mod records;
pub mod secrets;
pub mod timeseries;

// The unit tests use the integration tests' database helpers, whose paths
// name the crate.
#[cfg(test)]
extern crate self as pilot_store;
#[cfg(test)]
#[path = "../tests/store/common.rs"]
mod common;

pub use db::{Backend, Database, SqliteDurability};
pub use error::{Error, Result};
pub use records::SqlStore;
pub use secrets::{MasterKey, SqlSecretStore};
pub use timeseries::{TimeseriesOptions, TimeseriesStore};

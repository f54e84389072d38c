//! # pilot-store
//!
//! Durable state for the Pilot server.
//!
//! - [`Database`]: an SQLite file in WAL mode (the embedded default) or a
//!   PostgreSQL server (scale-out), migrated on open. Both run the same SQL.
//! - [`ops`]: users, nodes, projects, deployments, audit log, alerts and
//!   settings, each behind a trait and implemented by [`SqlStore`].
//! - [`secrets`]: [`SqlSecretStore`], the encrypted `pilot_core::SecretStore`.
//! - [`timeseries`]: [`TimeseriesStore`], the compressed metrics engine that
//!   implements `pilot_core::MetricsSink`.
//!
//! ```
//! use pilot_core::{MetricBatch, MetricsSink, Sample, SecretScope, SecretStore, SecretValue};
//! use pilot_store::ops::{Role, UserStore};
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
pub mod ops;
pub mod secrets;
pub mod timeseries;

pub use db::{Backend, Database, SqliteDurability};
pub use error::{Error, Result};
pub use ops::SqlStore;
pub use secrets::{MasterKey, SqlSecretStore};
pub use timeseries::{TimeseriesOptions, TimeseriesStore};

//! PostgreSQL over TLS, against the cluster of `scripts/setup/postgres.sh`,
//! which serves a certificate signed by its own CA and lets the role
//! `pilot_tls` connect over TLS only: a store that opens as `pilot_tls`
//! talks to the server encrypted.
//!
//! Outside CI the tests are skipped (with a message) when PostgreSQL cannot
//! be started; with `CI=true` they fail.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pilot_core::testing::{run_setup, setup_script, unavailable};
use pilot_core::{MetricBatch, MetricsSink, Sample};
use pilot_store::records::Role;
use pilot_store::timeseries::{RangeQuery, SeriesSelector, TimeseriesOptions, TimeseriesStore};
use pilot_store::{Database, Error, SqlStore};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// The cluster's admin URL and the path of its CA certificate.
fn cluster() -> Option<(String, PathBuf)> {
    let script = setup_script("postgres.sh");
    let found =
        run_setup(&script, &["start"]).zip(run_setup(&script, &["ca-file"]).map(PathBuf::from));
    if found.is_none() {
        unavailable("PostgreSQL with TLS", &format!("run {}", script.display()));
    }
    found
}

/// A database owned by `pilot_tls`, dropped with the guard.
struct TlsDb {
    admin_url: String,
    name: String,
    /// `127.0.0.1:<port>/<name>`.
    address: String,
}

impl TlsDb {
    async fn create(admin_url: &str) -> Self {
        let mut bytes = [0u8; 8];
        rand::fill(&mut bytes);
        let name = format!("pilot_tls_test_{}", hex::encode(bytes));
        let mut admin = PgConnection::connect(admin_url).await.expect("connect");
        let sql = format!("CREATE DATABASE \"{name}\" OWNER pilot_tls");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .expect("create database");
        let host = admin_url
            .split_once('@')
            .and_then(|(_, rest)| rest.split_once('/'))
            .map(|(host, _)| host.to_string())
            .expect("admin url has host and path");
        TlsDb {
            admin_url: admin_url.to_string(),
            address: format!("{host}/{name}"),
            name,
        }
    }

    /// The URL of this database for `pilot_tls` at `host` with URL parameters.
    fn url(&self, host: &str, params: &str) -> String {
        let address = self.address.replacen("127.0.0.1", host, 1);
        format!("postgres://pilot_tls@{address}?{params}")
    }
}

impl Drop for TlsDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Own thread and runtime: Drop may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Stores and reads back a user and a metric.
async fn use_store(db: &Database) {
    let store = SqlStore::new(db.clone());
    store
        .create_user("ada", "correct horse battery", Role::Admin)
        .await
        .unwrap();
    assert!(
        store
            .verify_password("ada", "correct horse battery")
            .await
            .unwrap()
            .is_some()
    );
    let metrics = TimeseriesStore::open(db.clone(), TimeseriesOptions::default())
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let sample = Sample {
        name: "cpu".into(),
        labels: BTreeMap::new(),
        timestamp_ms: now,
        value: 12.5,
    };
    metrics
        .accept(MetricBatch {
            node: "n1".into(),
            samples: vec![sample],
        })
        .await
        .unwrap();
    let got = metrics
        .query(&RangeQuery::raw(
            SeriesSelector::metric("cpu"),
            now,
            now + 1,
        ))
        .await
        .unwrap();
    assert_eq!(got[0].points[0].value, 12.5);
}

fn connect_error(result: Result<Database, Error>) -> String {
    match result {
        Ok(_) => panic!("the connection was expected to fail"),
        Err(e @ Error::Connect { .. }) => e.to_string(),
        Err(other) => panic!("expected a connection error, got {other}"),
    }
}

#[tokio::test]
async fn require_mode_encrypts_the_connection() {
    let Some((admin, _ca)) = cluster() else {
        return;
    };
    let target = TlsDb::create(&admin).await;
    let db = Database::open(&target.url("127.0.0.1", "sslmode=require"))
        .await
        .unwrap();
    use_store(&db).await;
    db.close().await;
    // The role may not connect without TLS: the store above was encrypted.
    let text = connect_error(Database::open(&target.url("127.0.0.1", "sslmode=disable")).await);
    assert!(text.contains("no encryption"), "{text}");
}

#[tokio::test]
async fn verify_full_checks_the_server_certificate() {
    let Some((admin, ca)) = cluster() else {
        return;
    };
    let target = TlsDb::create(&admin).await;
    let with_ca = format!("sslmode=verify-full&sslrootcert={}", ca.display());
    for host in ["localhost", "127.0.0.1"] {
        let db = Database::open(&target.url(host, &with_ca)).await.unwrap();
        if host == "localhost" {
            use_store(&db).await;
        }
        db.close().await;
    }
    // Without the CA, the self-signed chain is not trusted.
    let text = connect_error(Database::open(&target.url("localhost", "sslmode=verify-full")).await);
    assert!(text.contains("cannot open database"), "{text}");
    // verify-ca with the CA accepts the chain too.
    let with_ca = format!("sslmode=verify-ca&sslrootcert={}", ca.display());
    let db = Database::open(&target.url("127.0.0.1", &with_ca))
        .await
        .unwrap();
    db.close().await;
}

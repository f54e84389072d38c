//! Test databases: an SQLite file in a temp dir, or a fresh database on the
//! PostgreSQL cluster started by `scripts/setup/postgres.sh` (or the one in
//! `PILOT_TEST_POSTGRES_URL`). Every database is removed when dropped.
//!
//! When PostgreSQL cannot be made available, tests that need it fail under
//! `CI=true` and are skipped with a message otherwise.
//!
//! The crate's unit tests use this module too (as `crate::common`).

#![allow(dead_code)]

use std::sync::OnceLock;

use pilot_core::testing::{run_setup, setup_script, unavailable};
use pilot_store::{Database, SqliteDurability};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// A database for one test.
pub struct TestDb {
    /// The migrated database.
    pub db: Database,
    /// Its URL (to reopen it, or to hand to a child process).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg_drop.take() else {
            return;
        };
        // Runs on its own thread and runtime: Drop may run inside a runtime
        // (whose connections cannot be driven from here) or while unwinding.
        // FORCE ends this test's open connections.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test runtime");
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

/// A fresh SQLite database in a temp dir.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pilot.db");
    let db = Database::open_sqlite(&path, SqliteDurability::Full)
        .await
        .expect("open sqlite");
    TestDb {
        db,
        url: format!("sqlite://{}", path.display()),
        _dir: Some(dir),
        pg_drop: None,
    }
}

/// The admin URL of the test cluster, starting it when needed.
fn postgres_admin_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("PILOT_TEST_POSTGRES_URL") {
            return Some(url);
        }
        run_setup(&setup_script("postgres.sh"), &[]).filter(|url| !url.is_empty())
    })
    .clone()
}

/// A fresh PostgreSQL database; `None` (with a message) when PostgreSQL is
/// unavailable outside CI. Panics under `CI=true` when unavailable.
pub async fn postgres() -> Option<TestDb> {
    let Some(admin_url) = postgres_admin_url() else {
        let hint = format!("run {}", setup_script("postgres.sh").display());
        unavailable("PostgreSQL", &hint);
        return None;
    };
    let mut bytes = [0u8; 8];
    rand::fill(&mut bytes);
    let name = format!("pilot_test_{}", hex::encode(bytes));
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("connect to the test cluster");
    let sql = format!("CREATE DATABASE \"{name}\"");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .expect("database url has a path");
    let url = format!("{base}/{name}");
    let db = Database::open(&url).await.expect("open postgres");
    Some(TestDb {
        db,
        url,
        _dir: None,
        pg_drop: Some((admin_url, name)),
    })
}

/// Runs the given async test functions on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let t = $crate::common::sqlite().await;
                    super::$name(&t.db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(t) = $crate::common::postgres().await else { return };
                    super::$name(&t.db).await;
                }
            )*
        }
    };
}

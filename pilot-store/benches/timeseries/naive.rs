//! The seeds' naive timeseries schema: one table per metric, one row per
//! sample (`timestamp | node_id | value`), with the index a per-node range
//! query needs. Rows go in with multi-row INSERTs, one transaction per batch
//! (the best case for this schema).

use std::path::Path;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, QueryBuilder};

/// Rows per INSERT statement.
const ROWS_PER_STATEMENT: usize = 500;

pub(crate) enum Naive {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One row: table index, timestamp, node, value.
pub(crate) type Row<'a> = (usize, i64, &'a str, f64);

macro_rules! on_naive {
    ($naive:expr, $pool:ident => $body:expr) => {
        match $naive {
            Naive::Sqlite($pool) => $body,
            Naive::Postgres($pool) => $body,
        }
    };
}

impl Naive {
    pub(crate) async fn sqlite(path: &Path) -> Self {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .expect("open naive sqlite");
        Naive::Sqlite(pool)
    }

    pub(crate) async fn postgres(url: &str) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(url)
            .await
            .expect("open naive postgres");
        Naive::Postgres(pool)
    }

    pub(crate) async fn create_tables(&self, tables: &[String]) {
        let (int, real) = match self {
            Naive::Sqlite(_) => ("INTEGER", "REAL"),
            Naive::Postgres(_) => ("BIGINT", "DOUBLE PRECISION"),
        };
        for t in tables {
            let create = format!(
                "CREATE TABLE {t} (timestamp {int} NOT NULL, node_id TEXT NOT NULL, value {real} NOT NULL)"
            );
            let index = format!("CREATE INDEX {t}_node_time ON {t} (node_id, timestamp)");
            on_naive!(self, pool => {
                sqlx::query(AssertSqlSafe(create)).execute(pool).await.expect("create table");
                sqlx::query(AssertSqlSafe(index)).execute(pool).await.expect("create index");
            });
        }
    }

    /// Inserts rows in one transaction.
    pub(crate) async fn insert(&self, tables: &[String], rows: &[Row<'_>]) {
        on_naive!(self, pool => {
            let mut tx = pool.begin().await.expect("begin");
            for (t, table) in tables.iter().enumerate() {
                let mine: Vec<&Row<'_>> = rows.iter().filter(|r| r.0 == t).collect();
                for part in mine.chunks(ROWS_PER_STATEMENT) {
                    let mut qb = QueryBuilder::new(format!("INSERT INTO {table} (timestamp, node_id, value) "));
                    qb.push_values(part, |mut b, r| {
                        b.push_bind(r.1).push_bind(r.2).push_bind(r.3);
                    });
                    qb.build().execute(&mut *tx).await.expect("insert");
                }
            }
            tx.commit().await.expect("commit");
        })
    }

    /// Inserts rows in one transaction, one INSERT statement per row (as the
    /// seeds' servers store each received metric).
    pub(crate) async fn insert_row_by_row(&self, tables: &[String], rows: &[Row<'_>]) {
        let sql: Vec<String> = tables
            .iter()
            .map(|t| format!("INSERT INTO {t} (timestamp, node_id, value) VALUES ($1, $2, $3)"))
            .collect();
        on_naive!(self, pool => {
            let mut tx = pool.begin().await.expect("begin");
            for r in rows {
                sqlx::query(AssertSqlSafe(sql[r.0].clone()))
                    .bind(r.1)
                    .bind(r.2)
                    .bind(r.3)
                    .execute(&mut *tx)
                    .await
                    .expect("insert");
            }
            tx.commit().await.expect("commit");
        })
    }

    /// Average per step over a time range of one node.
    pub(crate) async fn query_avg(
        &self,
        table: &str,
        node: &str,
        from: i64,
        to: i64,
        step: i64,
    ) -> Vec<(i64, f64)> {
        let sql = format!(
            "SELECT (timestamp / $1) * $1 AS t, AVG(value) FROM {table} \
             WHERE node_id = $2 AND timestamp >= $3 AND timestamp < $4 GROUP BY t ORDER BY t"
        );
        on_naive!(self, pool => sqlx::query_as(AssertSqlSafe(sql))
            .bind(step)
            .bind(node)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
            .expect("naive query"))
    }

    /// Bytes the tables and their indexes use.
    pub(crate) async fn size(&self, tables: &[String]) -> u64 {
        let mut total = 0i64;
        match self {
            Naive::Sqlite(pool) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await
                    .expect("checkpoint");
                for t in tables {
                    let (bytes,): (Option<i64>,) = sqlx::query_as(
                        "SELECT SUM(pgsize) FROM dbstat WHERE name IN \
                         (SELECT name FROM sqlite_master WHERE tbl_name = $1)",
                    )
                    .bind(t)
                    .fetch_one(pool)
                    .await
                    .expect("dbstat");
                    total += bytes.unwrap_or(0);
                }
            }
            Naive::Postgres(pool) => {
                for t in tables {
                    sqlx::query(AssertSqlSafe(format!("VACUUM {t}")))
                        .execute(pool)
                        .await
                        .expect("vacuum");
                    let (bytes,): (i64,) =
                        sqlx::query_as("SELECT pg_total_relation_size($1::regclass)")
                            .bind(t)
                            .fetch_one(pool)
                            .await
                            .expect("size");
                    total += bytes;
                }
            }
        }
        total as u64
    }

    pub(crate) async fn close(&self) {
        on_naive!(self, pool => pool.close().await)
    }
}

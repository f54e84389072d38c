//! The database handle: an SQLite file (embedded default) or a PostgreSQL
//! server (scale-out), migrated on open. Every store in this crate runs the
//! same SQL on both; an internal `on_pool!` macro picks the driver.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use crate::checkpoint::Checkpointer;
use crate::error::{DbContext, Error, Result};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in WAL mode.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// The connection pool of one driver.
#[derive(Clone)]
pub(crate) enum Pool {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Runs the same code against whichever pool a [`Database`] holds. The body is
/// compiled once per driver, so `query_as::<_, Row>` resolves for each.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db.pool() {
            $crate::db::Pool::Sqlite($pool) => $body,
            $crate::db::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A migrated database, cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    location: Arc<str>,
    /// SQLite: the WAL checkpoint task, stopped with the last clone.
    _checkpointer: Option<Arc<Checkpointer>>,
    /// Opened with [`Database::open_sqlite_read_only`].
    read_only: bool,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .field("location", &self.location)
            .finish()
    }
}

/// How an SQLite database commits. `Full` survives power loss; `Normal` (in
/// WAL mode) survives a crash of the process but may lose the last commits
/// on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteDurability {
    /// `synchronous = FULL`: every commit is fsynced.
    #[default]
    Full,
    /// `synchronous = NORMAL`: the WAL is fsynced at checkpoints only.
    Normal,
}

impl Database {
    /// Opens (creating if needed) and migrates the database at `url`:
    /// `sqlite://<path>` / `sqlite:<path>` or `postgres://...` / `postgresql://...`.
    pub async fn open(url: &str) -> Result<Self> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Self::open_sqlite(Path::new(path), SqliteDurability::Full).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::open_postgres(url).await
        } else {
            Err(Error::UnsupportedUrl {
                url: without_password(url),
            })
        }
    }

    /// Opens (creating if needed) and migrates an SQLite file in WAL mode.
    pub async fn open_sqlite(path: &Path, durability: SqliteDurability) -> Result<Self> {
        let location: Arc<str> = format!("sqlite://{}", path.display()).into();
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                SqliteDurability::Full => SqliteSynchronous::Full,
                SqliteDurability::Normal => SqliteSynchronous::Normal,
            })
            .auto_vacuum(SqliteAutoVacuum::Incremental)
            .foreign_keys(true)
            // Checkpoints run in the background (see `checkpoint`).
            .pragma("wal_autocheckpoint", "0")
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| Error::Connect {
                location: location.to_string(),
                cause: source,
            })?;
        SQLITE_MIGRATIONS
            .run(&pool)
            .await
            .map_err(|cause| Error::Migrate {
                location: location.to_string(),
                cause,
            })?;
        let checkpointer = Checkpointer::start(pool.clone(), location.to_string());
        Ok(Database {
            pool: Pool::Sqlite(pool),
            location,
            _checkpointer: Some(Arc::new(checkpointer)),
            read_only: false,
        })
    }

    /// Opens an existing SQLite file for reading only. Nothing is ever
    /// written to it: no migration, no checkpoint, no pragma that changes
    /// the file, and SQLite refuses writes on its connections. A server may
    /// keep writing the file meanwhile; reads see its commits.
    ///
    /// The file must have been migrated by this version of Pilot: with any
    /// other schema version this fails with [`Error::SchemaVersion`].
    pub async fn open_sqlite_read_only(path: &Path) -> Result<Self> {
        let location: Arc<str> = format!("sqlite://{}", path.display()).into();
        let connect_error = |cause| Error::Connect {
            location: location.to_string(),
            cause,
        };
        if !path.is_file() {
            return Err(connect_error(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file; a read-only open does not create one",
            ))));
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        let expected = SQLITE_MIGRATIONS
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        let found = applied_version(&pool).await?;
        if found != expected {
            pool.close().await;
            return Err(Error::SchemaVersion {
                location: location.to_string(),
                found,
                expected,
            });
        }
        Ok(Database {
            pool: Pool::Sqlite(pool),
            location,
            _checkpointer: None,
            read_only: true,
        })
    }

    /// Connects to and migrates a PostgreSQL database.
    ///
    /// TLS (rustls) is chosen by the URL's `sslmode` parameter: `disable`,
    /// `allow`, `prefer` (the default: TLS when the server offers it),
    /// `require` (TLS, any certificate), `verify-ca` (the certificate must
    /// chain to a trusted CA) or `verify-full` (and name the host). Trusted
    /// CAs are the Mozilla roots, or the PEM file given as `sslrootcert`:
    /// `postgres://pilot@db.example/pilot?sslmode=verify-full&sslrootcert=/etc/pilot/db-ca.pem`.
    pub async fn open_postgres(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url).map_err(|cause| Error::Connect {
            location: without_password(url),
            cause,
        })?;
        let location: Arc<str> = format!(
            "postgres://{}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        )
        .into();
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| Error::Connect {
                location: location.to_string(),
                cause: source,
            })?;
        POSTGRES_MIGRATIONS
            .run(&pool)
            .await
            .map_err(|cause| Error::Migrate {
                location: location.to_string(),
                cause,
            })?;
        Ok(Database {
            pool: Pool::Postgres(pool),
            location,
            _checkpointer: None,
            read_only: false,
        })
    }

    /// Whether this handle was opened read-only (and refuses writes).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Fails with [`Error::ReadOnly`] on a read-only handle; `action` says
    /// what was asked, e.g. "write samples".
    pub(crate) fn ensure_writable(&self, action: &'static str) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly {
                action,
                location: self.location.to_string(),
            });
        }
        Ok(())
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Where the database is, without any password (for messages).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Closes every connection; later calls on any clone fail.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }

    /// Bytes the given tables use on disk, indexes included. SQLite counts
    /// the pages of each table and its indexes; PostgreSQL reports
    /// `pg_total_relation_size` (heap, TOAST and indexes) after a `VACUUM`.
    pub async fn tables_size(&self, tables: &[&str]) -> Result<u64> {
        let mut total = 0i64;
        match &self.pool {
            Pool::Sqlite(pool) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await
                    .db("checkpoint the sqlite wal")?;
                for table in tables {
                    let (bytes,): (Option<i64>,) = sqlx::query_as(
                        "SELECT SUM(pgsize) FROM dbstat WHERE name = $1 \
                         OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = $1)",
                    )
                    .bind(table)
                    .fetch_one(pool)
                    .await
                    .db("measure table size")?;
                    total += bytes.unwrap_or(0);
                }
            }
            Pool::Postgres(pool) => {
                for table in tables {
                    // The name is quoted as an identifier, so it cannot inject SQL.
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "VACUUM {}",
                        quote_ident(table)
                    )))
                    .execute(pool)
                    .await
                    .db("vacuum table")?;
                    let (bytes,): (i64,) =
                        sqlx::query_as("SELECT pg_total_relation_size($1::regclass)")
                            .bind(table)
                            .fetch_one(pool)
                            .await
                            .db("measure table size")?;
                    total += bytes;
                }
            }
        }
        Ok(u64::try_from(total).unwrap_or(0))
    }

    /// Gives free pages back to the file system (SQLite `incremental_vacuum`);
    /// a no-op on PostgreSQL, whose autovacuum does this.
    pub async fn reclaim_space(&self) -> Result<()> {
        if let Pool::Sqlite(pool) = &self.pool {
            sqlx::query("PRAGMA incremental_vacuum")
                .execute(pool)
                .await
                .db("reclaim free sqlite pages")?;
        }
        Ok(())
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Splits a large payload into the `payload` and `tail` columns of the
    /// timeseries tables: on PostgreSQL, whole TOAST chunks and the rest
    /// (see migration 0005); on SQLite, everything and nothing.
    pub(crate) fn toast_split<'a>(&self, payload: &'a [u8]) -> (&'a [u8], &'a [u8]) {
        match self.pool {
            Pool::Sqlite(_) => (payload, &[]),
            Pool::Postgres(_) => payload.split_at(payload.len() - payload.len() % TOAST_CHUNK),
        }
    }
}

/// The newest migration applied to an SQLite database (0 when it has none:
/// not a Pilot database, or an empty file).
async fn applied_version(pool: &SqlitePool) -> Result<i64> {
    let (has_table,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(pool)
    .await
    .db("read the schema version")?;
    if !has_table {
        return Ok(0);
    }
    let (version,): (i64,) =
        sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await
            .db("read the schema version")?;
    Ok(version)
}

/// Bytes of a PostgreSQL TOAST chunk with the default 8 KB pages.
const TOAST_CHUNK: usize = 1996;

/// Joins what [`Database::toast_split`] split.
pub(crate) fn toast_join(mut payload: Vec<u8>, tail: Vec<u8>) -> Vec<u8> {
    if payload.is_empty() {
        return tail;
    }
    payload.extend_from_slice(&tail);
    payload
}

/// Quotes an SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Removes the password from a `scheme://user:password@host/...` URL.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}

pub(crate) use pilot_core::time::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_removed_from_urls() {
        assert_eq!(
            without_password("postgres://pilot:hunter2@db.example:5432/pilot"),
            "postgres://pilot@db.example:5432/pilot"
        );
        assert_eq!(without_password("mysql://db/x"), "mysql://db/x");
    }

    #[tokio::test]
    async fn unknown_schemes_are_refused() {
        let err = Database::open("mysql://root:pw@localhost/pilot")
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unsupported database url"), "{text}");
        assert!(!text.contains("pw"), "{text}");
    }
}

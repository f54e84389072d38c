//! [`SqlSecretStore`]: the `pilot_core::SecretStore` on an SQL database, with
//! every value sealed by AES-256-GCM under the [`MasterKey`].
//!
//! Each row holds a random 96-bit nonce, the ciphertext and the fingerprint of
//! the key that sealed it. The project, node and name are the associated data,
//! so bytes moved to another row do not decrypt. Rotation re-encrypts every
//! row in one transaction; with a key file it is crash safe: the new key is
//! written to `<file>.next` first, the rows are re-encrypted, then the file is
//! renamed over the old one, and [`SqlSecretStore::open`] finishes or discards
//! a rotation that was interrupted.

mod cipher;
mod key;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use pilot_core::{SecretScope, SecretStore, SecretValue};

pub use key::{MASTER_KEY_ENV, MasterKey};

use crate::db::{Backend, Database, now_ms, on_pool};
use crate::error::{DbContext, Error, Result};
use cipher::SecretRow;

/// Secrets encrypted at rest in the `secrets` table.
#[derive(Debug)]
pub struct SqlSecretStore {
    db: Database,
    key: RwLock<Arc<MasterKey>>,
    key_file: Option<PathBuf>,
}

#[derive(sqlx::FromRow)]
struct SecretRecord {
    project: String,
    node: String,
    name: String,
    key_id: String,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl SecretRecord {
    fn row(&self) -> SecretRow<'_> {
        SecretRow {
            project: &self.project,
            node: &self.node,
            name: &self.name,
        }
    }

    fn decrypt(&self, key: &MasterKey) -> Result<SecretValue> {
        cipher::open(key, self.row(), &self.key_id, &self.nonce, &self.ciphertext)
    }
}

/// `SELECT` of every secret column followed by the given clause.
macro_rules! select_secret {
    ($tail:literal) => {
        concat!(
            "SELECT project, node, name, key_id, nonce, ciphertext FROM secrets ",
            $tail
        )
    };
}

/// The `node` column of a scope: `""` for project-wide values.
fn node_column(scope: &SecretScope) -> &str {
    scope.node.as_deref().unwrap_or("")
}

/// The path a new key is staged at during rotation.
fn staged_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

impl SqlSecretStore {
    /// A store using the given key.
    pub fn with_key(db: Database, key: MasterKey) -> Self {
        SqlSecretStore {
            db,
            key: RwLock::new(Arc::new(key)),
            key_file: None,
        }
    }

    /// A store whose key comes from [`MASTER_KEY_ENV`] when set, otherwise
    /// from `key_file`, created (mode 0600) on first start. An interrupted
    /// rotation of the key file is finished or discarded here.
    pub async fn open(db: Database, key_file: &Path) -> Result<Self> {
        if let Some(key) = MasterKey::from_env(MASTER_KEY_ENV)? {
            return Ok(Self::with_key(db, key));
        }
        let staged = staged_path(key_file);
        let mut key = MasterKey::load_or_create(key_file)?;
        if staged.exists() {
            let next = MasterKey::load(&staged)?;
            let store = Self::with_key(db.clone(), key.clone());
            if store.rows_with_key(next.id()).await? > 0 {
                std::fs::rename(&staged, key_file)
                    .map_err(|e| Error::io("finish master key rotation", key_file, e))?;
                key::sync_dir(&key::parent_dir(key_file))?;
                key = next;
            } else {
                std::fs::remove_file(&staged)
                    .map_err(|e| Error::io("discard unfinished master key", &staged, e))?;
            }
        }
        Ok(SqlSecretStore {
            db,
            key: RwLock::new(Arc::new(key)),
            key_file: Some(key_file.to_path_buf()),
        })
    }

    /// Fingerprint of the key in use.
    pub fn key_id(&self) -> String {
        self.current_key().id().to_string()
    }

    fn current_key(&self) -> Arc<MasterKey> {
        self.key.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn rows_with_key(&self, key_id: &str) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM secrets WHERE key_id = $1",
        )
        .bind(key_id)
        .fetch_one(pool)
        .await)
        .db("count secrets by key")?;
        Ok(n)
    }

    /// Re-encrypts every secret under `new_key` in one transaction, then uses
    /// it. Any row that does not decrypt under the current key aborts the
    /// rotation with nothing changed. Returns the number of secrets.
    pub async fn rotate_key(&self, new_key: MasterKey) -> Result<usize> {
        let old = self.current_key();
        let (begin, select) = match self.db.backend() {
            Backend::Sqlite => ("BEGIN IMMEDIATE", select_secret!("")),
            Backend::Postgres => ("BEGIN", select_secret!("FOR UPDATE")),
        };
        let update = "UPDATE secrets SET key_id = $1, nonce = $2, ciphertext = $3, updated_ms = $4 \
                      WHERE project = $5 AND node = $6 AND name = $7";
        let count = on_pool!(self.db, pool => {
            let mut tx = pool.begin_with(begin).await.db("begin key rotation")?;
            let rows = sqlx::query_as::<_, SecretRecord>(select)
                .fetch_all(&mut *tx)
                .await
                .db("read secrets for rotation")?;
            let now = now_ms();
            for record in &rows {
                let value = record.decrypt(&old)?;
                let (nonce, ciphertext) = cipher::seal(&new_key, record.row(), &value)?;
                sqlx::query(update)
                    .bind(new_key.id())
                    .bind(nonce)
                    .bind(ciphertext)
                    .bind(now)
                    .bind(&record.project)
                    .bind(&record.node)
                    .bind(&record.name)
                    .execute(&mut *tx)
                    .await
                    .db("re-encrypt secret")?;
            }
            tx.commit().await.db("commit key rotation")?;
            rows.len()
        });
        *self.key.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(new_key);
        Ok(count)
    }

    /// Rotates to a new random key kept in the key file this store was
    /// opened with (crash safe, see the module docs).
    pub async fn rotate_key_file(&self) -> Result<usize> {
        let Some(key_file) = &self.key_file else {
            return Err(Error::invalid(
                "master key",
                format!(
                    "it came from {MASTER_KEY_ENV}, not a key file; call rotate_key with a new \
                     key and put that key in {MASTER_KEY_ENV}"
                ),
            ));
        };
        let staged = staged_path(key_file);
        let _ = std::fs::remove_file(&staged);
        let new_key = MasterKey::generate();
        new_key.write_new_file(&staged)?;
        let count = match self.rotate_key(new_key).await {
            Ok(count) => count,
            Err(e) => {
                let _ = std::fs::remove_file(&staged);
                return Err(e);
            }
        };
        std::fs::rename(&staged, key_file)
            .map_err(|e| Error::io("install rotated master key", key_file, e))?;
        key::sync_dir(&key::parent_dir(key_file))?;
        Ok(count)
    }

    async fn set_inner(&self, scope: &SecretScope, name: &str, value: &SecretValue) -> Result<()> {
        if name.is_empty() {
            return Err(Error::invalid("secret name", "it must not be empty"));
        }
        let key = self.current_key();
        let row = SecretRow {
            project: &scope.project,
            node: node_column(scope),
            name,
        };
        let (nonce, ciphertext) = cipher::seal(&key, row, value)?;
        on_pool!(self.db, pool => sqlx::query(
            "INSERT INTO secrets (project, node, name, key_id, nonce, ciphertext, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (project, node, name) DO UPDATE SET \
             key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
             updated_ms = excluded.updated_ms",
        )
        .bind(row.project)
        .bind(row.node)
        .bind(name)
        .bind(key.id())
        .bind(nonce)
        .bind(ciphertext)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))
        .db("write secret")?;
        Ok(())
    }

    async fn get_inner(&self, scope: &SecretScope, name: &str) -> Result<Option<SecretValue>> {
        let sql = select_secret!("WHERE project = $1 AND node = $2 AND name = $3");
        let record = on_pool!(self.db, pool => sqlx::query_as::<_, SecretRecord>(sql)
            .bind(&scope.project)
            .bind(node_column(scope))
            .bind(name)
            .fetch_optional(pool)
            .await)
        .db("read secret")?;
        let key = self.current_key();
        record.map(|r| r.decrypt(&key)).transpose()
    }

    async fn names_inner(&self, scope: &SecretScope) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self.db, pool => sqlx::query_as(
            "SELECT name FROM secrets WHERE project = $1 AND node = $2 ORDER BY name",
        )
        .bind(&scope.project)
        .bind(node_column(scope))
        .fetch_all(pool)
        .await)
        .db("list secrets")?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    async fn delete_inner(&self, scope: &SecretScope, name: &str) -> Result<()> {
        on_pool!(self.db, pool => sqlx::query(
            "DELETE FROM secrets WHERE project = $1 AND node = $2 AND name = $3",
        )
        .bind(&scope.project)
        .bind(node_column(scope))
        .bind(name)
        .execute(pool)
        .await
        .map(|_| ()))
        .db("delete secret")?;
        Ok(())
    }

    async fn resolve_inner(
        &self,
        project: &str,
        node: Option<&str>,
    ) -> Result<BTreeMap<String, SecretValue>> {
        let sql = select_secret!("WHERE project = $1 AND (node = '' OR node = $2)");
        let mut records = on_pool!(self.db, pool => sqlx::query_as::<_, SecretRecord>(sql)
            .bind(project)
            .bind(node.unwrap_or(""))
            .fetch_all(pool)
            .await)
        .db("resolve secrets")?;
        // Project-wide values first, so a node's override replaces them.
        records.sort_by_key(|r| !r.node.is_empty());
        let key = self.current_key();
        let mut out = BTreeMap::new();
        for record in &records {
            out.insert(record.name.clone(), record.decrypt(&key)?);
        }
        Ok(out)
    }
}

/// Secret-store errors as core errors; the text names rows, never values.
fn to_core(e: Error) -> pilot_core::Error {
    match e {
        Error::Core(core) => core,
        other => pilot_core::Error::SecretStore {
            reason: other.to_string(),
        },
    }
}

#[async_trait]
impl SecretStore for SqlSecretStore {
    async fn set(
        &self,
        scope: &SecretScope,
        name: &str,
        value: SecretValue,
    ) -> pilot_core::Result<()> {
        self.set_inner(scope, name, &value).await.map_err(to_core)
    }

    async fn delete(&self, scope: &SecretScope, name: &str) -> pilot_core::Result<()> {
        self.delete_inner(scope, name).await.map_err(to_core)
    }

    async fn names(&self, scope: &SecretScope) -> pilot_core::Result<Vec<String>> {
        self.names_inner(scope).await.map_err(to_core)
    }

    async fn get(
        &self,
        scope: &SecretScope,
        name: &str,
    ) -> pilot_core::Result<Option<SecretValue>> {
        self.get_inner(scope, name).await.map_err(to_core)
    }

    async fn resolve(
        &self,
        project: &str,
        node: Option<&str>,
    ) -> pilot_core::Result<BTreeMap<String, SecretValue>> {
        self.resolve_inner(project, node).await.map_err(to_core)
    }
}

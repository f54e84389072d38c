//! Server settings: a key/value table.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::SqlStore;
use crate::db::{now_ms, on_pool};
use crate::error::{DbContext, Error, Result};

/// Key/value settings of the server.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The value of a setting.
    async fn setting(&self, key: &str) -> Result<Option<String>>;

    /// Sets a setting, replacing any previous value.
    async fn set_setting(&self, key: &str, value: &str) -> Result<()>;

    /// Every setting, by key.
    async fn settings(&self) -> Result<BTreeMap<String, String>>;

    /// Removes a setting; a no-op when absent.
    async fn delete_setting(&self, key: &str) -> Result<()>;
}

#[async_trait]
impl SettingsStore for SqlStore {
    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = on_pool!(self.db, pool => sqlx::query_as(
            "SELECT value FROM settings WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(pool)
        .await)
        .db("read setting")?;
        Ok(row.map(|(v,)| v))
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        if key.is_empty() {
            return Err(Error::invalid("setting key", "it must not be empty"));
        }
        on_pool!(self.db, pool => sqlx::query(
            "INSERT INTO settings (key, value, updated_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
        )
        .bind(key)
        .bind(value)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))
        .db("write setting")?;
        Ok(())
    }

    async fn settings(&self) -> Result<BTreeMap<String, String>> {
        let rows: Vec<(String, String)> = on_pool!(self.db, pool => sqlx::query_as(
            "SELECT key, value FROM settings ORDER BY key",
        )
        .fetch_all(pool)
        .await)
        .db("list settings")?;
        Ok(rows.into_iter().collect())
    }

    async fn delete_setting(&self, key: &str) -> Result<()> {
        on_pool!(self.db, pool => sqlx::query("DELETE FROM settings WHERE key = $1")
            .bind(key)
            .execute(pool)
            .await
            .map(|_| ()))
        .db("delete setting")?;
        Ok(())
    }
}

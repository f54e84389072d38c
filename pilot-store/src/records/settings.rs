//! Server settings: a key/value table.

use std::collections::BTreeMap;

use super::SqlStore;
use crate::db::{now_ms, on_pool};
use crate::error::{DbContext, Error, Result};

/// Key/value settings of the server.
impl SqlStore {
    /// The value of a setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = on_pool!(self.db, pool => sqlx::query_as(
            "SELECT value FROM settings WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(pool)
        .await)
        .db("read setting")?;
        Ok(row.map(|(v,)| v))
    }

    /// Sets a setting, replacing any previous value.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
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

    /// Every setting, by key.
    pub async fn settings(&self) -> Result<BTreeMap<String, String>> {
        let rows: Vec<(String, String)> = on_pool!(self.db, pool => sqlx::query_as(
            "SELECT key, value FROM settings ORDER BY key",
        )
        .fetch_all(pool)
        .await)
        .db("list settings")?;
        Ok(rows.into_iter().collect())
    }

    /// Removes a setting; a no-op when absent.
    pub async fn delete_setting(&self, key: &str) -> Result<()> {
        on_pool!(self.db, pool => sqlx::query("DELETE FROM settings WHERE key = $1")
            .bind(key)
            .execute(pool)
            .await
            .map(|_| ()))
        .db("delete setting")?;
        Ok(())
    }
}

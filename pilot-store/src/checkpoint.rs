//! WAL checkpoints of an SQLite database off the write path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the WAL
//! size limit, so one writer in a thousand waits for pages to be copied into
//! the database file and flushed. [`Database::open_sqlite`](crate::Database::open_sqlite)
//! turns it off and starts a [`Checkpointer`] instead: a task that runs a
//! passive checkpoint (it never blocks writers or readers) every
//! [`INTERVAL`] on a connection of its own, until the last clone of the
//! database is dropped or the pool is closed. When the last connection
//! closes, SQLite checkpoints what is left by itself.

use std::time::Duration;

use sqlx::sqlite::SqlitePool;
use tokio::sync::oneshot;

/// How often the WAL is checkpointed.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// Stops the checkpoint task when dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    _stop: oneshot::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing `pool` every [`INTERVAL`] (on the current tokio
    /// runtime).
    pub(crate) fn start(pool: SqlitePool, location: String) -> Self {
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(run(pool, location, stopped));
        Checkpointer { _stop: stop }
    }
}

async fn run(pool: SqlitePool, location: String, mut stopped: oneshot::Receiver<()>) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + INTERVAL, INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = tick.tick() => {}
        }
        if pool.is_closed() {
            break;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                break;
            }
            tracing::warn!(database = %location, error = %e, "sqlite wal checkpoint failed; retrying");
        }
    }
}

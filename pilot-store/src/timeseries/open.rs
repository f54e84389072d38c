//! Opening the store: the series registry, the head replayed into memory
//! (or only scanned when it is larger than the memory limit), and the
//! latest value of every series.

use std::sync::Mutex;

use std::collections::BTreeMap;

use super::head::{self, HeadSample};
use super::series::SeriesInfo;
use super::spill;
use super::write::{INSERT_HEAD, head_row};
use super::{State, TimeseriesOptions, TimeseriesStore, codec};
use crate::db::{Database, on_pool, toast_join};
use crate::error::{DbContext, Error, Result};

#[derive(sqlx::FromRow)]
struct SeriesRow {
    id: i64,
    node: String,
    name: String,
    labels: String,
    last_ms: Option<i64>,
    last_bits: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct LastChunkRow {
    series_id: i64,
    start_ms: i64,
    payload: Vec<u8>,
    tail: Vec<u8>,
}

impl TimeseriesStore {
    /// Opens the store: loads the series and replays the head into memory.
    /// On a database opened read-only ([`Database::open_sqlite_read_only`])
    /// nothing is written: writes and compactions fail with
    /// [`Error::ReadOnly`](crate::Error::ReadOnly).
    pub async fn open(db: Database, options: TimeseriesOptions) -> Result<Self> {
        options.validate()?;
        let mut state = State::default();
        let rows = on_pool!(db, pool => sqlx::query_as::<_, SeriesRow>(
            "SELECT id, node, name, labels, last_ms, last_bits FROM ts_series",
        )
        .fetch_all(pool)
        .await)
        .db("load series")?;
        for row in rows {
            let labels = crate::records::from_json("ts_series", &row.id.to_string(), &row.labels)?;
            if let (Some(ts), Some(bits)) = (row.last_ms, row.last_bits) {
                state
                    .latest
                    .insert(row.id, (ts, f64::from_bits(bits as u64)));
            }
            state.registry.insert(SeriesInfo {
                id: row.id,
                node: row.node,
                name: row.name,
                labels,
            });
        }
        let (legacy_head, head_samples): (bool, i64) = on_pool!(db, pool => sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM ts_head WHERE node IS NULL), \
             CAST(COALESCE(SUM(samples), 0) AS BIGINT) FROM ts_head",
        )
        .fetch_one(pool)
        .await)
        .db("size the head")?;
        if legacy_head {
            // Rows of earlier versions: they held the whole head in memory.
            // A read-only handle reads them as they are; nothing compacts.
            spill::load_rows(&db, &mut state.head, options.window_ms).await?;
            if !db.is_read_only() {
                rewrite_head(&db, &mut state, options.window_ms).await?;
            }
        } else if head_samples as u64 > options.head_memory_samples as u64 {
            state.head.spill();
            spill::scan_spilled(&db, &mut state.head, &mut state.latest, options.window_ms).await?;
        } else {
            spill::load_rows(&db, &mut state.head, options.window_ms).await?;
        }
        let (legacy,): (bool,) = on_pool!(db, pool => sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM ts_chunks WHERE tier = 0)",
        )
        .fetch_one(pool)
        .await)
        .db("look for raw chunks")?;
        state.legacy_raw = legacy;
        if legacy {
            load_legacy_latest(&db, &mut state).await?;
        }
        for id in state.registry.ids() {
            if let Some(last) = state.head.last(id) {
                let entry = state.latest.entry(id).or_insert(last);
                if last.0 >= entry.0 {
                    *entry = last;
                }
            }
        }
        Ok(TimeseriesStore {
            db,
            options,
            state: Mutex::new(state),
            writer: tokio::sync::Mutex::new(()),
            compaction: tokio::sync::Mutex::new(()),
            view: tokio::sync::RwLock::new(()),
        })
    }
}

/// Rewrites a head of an earlier version as one row per node and window
/// (what compaction and a spilled head expect), from the replayed samples,
/// in one transaction.
async fn rewrite_head(db: &Database, state: &mut State, window_ms: i64) -> Result<()> {
    let mut by_node: BTreeMap<&str, Vec<HeadSample>> = BTreeMap::new();
    for s in state.head.all() {
        let node = state
            .registry
            .node_of(s.series)
            .ok_or_else(|| Error::CorruptHead {
                id: 0,
                reason: format!("series {} of a head row is not registered", s.series),
            })?;
        by_node.entry(node).or_default().push(s);
    }
    on_pool!(db, pool => {
        let mut tx = pool.begin().await.db("begin rewriting the head")?;
        sqlx::query("DELETE FROM ts_head")
            .execute(&mut *tx)
            .await
            .db("rewrite the head")?;
        for (node, samples) in &by_node {
            for row in head::by_window(samples, window_ms) {
                let (min_ts, max_ts, count, payload) = head_row(&row);
                sqlx::query(INSERT_HEAD)
                    .bind(*node)
                    .bind(min_ts)
                    .bind(max_ts)
                    .bind(count)
                    .bind(payload)
                    .execute(&mut *tx)
                    .await
                    .db("rewrite the head")?;
            }
        }
        tx.commit().await.db("commit the rewritten head")?;
        Ok(())
    })
}

/// Latest values from the newest raw chunk of each series, for series
/// compacted by an earlier version (which did not record them).
async fn load_legacy_latest(db: &Database, state: &mut State) -> Result<()> {
    let last_chunks = on_pool!(db, pool => sqlx::query_as::<_, LastChunkRow>(
        "SELECT c.series_id, c.start_ms, c.payload, c.tail FROM ts_chunks c \
         WHERE c.tier = 0 AND c.start_ms = \
         (SELECT MAX(d.start_ms) FROM ts_chunks d WHERE d.series_id = c.series_id AND d.tier = 0)",
    )
    .fetch_all(pool)
    .await)
    .db("load latest chunks")?;
    for row in last_chunks {
        let payload = toast_join(row.payload, row.tail);
        let raw = codec::decode_raw(&payload).map_err(|reason| Error::CorruptChunk {
            series: row.series_id,
            tier_ms: 0,
            start_ms: row.start_ms,
            reason,
        })?;
        if let (Some(&ts), Some(&v)) = (raw.ts.last(), raw.values.last()) {
            let entry = state.latest.entry(row.series_id).or_insert((ts, v));
            if ts >= entry.0 {
                *entry = (ts, v);
            }
        }
    }
    Ok(())
}

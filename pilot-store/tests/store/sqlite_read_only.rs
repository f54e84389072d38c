//! An SQLite timeseries store opened read-only: it reads what a writer
//! stored (chunks and head, also while the writer runs), refuses writes
//! with a clear error, never changes the file, and never migrates.

use std::path::Path;

use pilot_core::{MetricBatch, Sample};
use pilot_store::timeseries::{
    RangeQuery, SeriesSelector, Tier, TimeseriesOptions, TimeseriesStore,
};
use pilot_store::{Database, Error, SqliteDurability};
use sqlx::Connection;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// A window boundary for the one-hour windows used here.
const T0: i64 = 1_700_006_400_000;

fn options() -> TimeseriesOptions {
    TimeseriesOptions {
        window_ms: HOUR,
        grace_ms: MIN,
        tiers: vec![Tier::new(10 * MIN, 400 * 24 * HOUR)],
        auto_compact_samples: 0,
        ..TimeseriesOptions::default()
    }
}

/// `count` 10-second samples of `cpu` on node-a from `from`.
fn batch(from: i64, count: i64) -> MetricBatch {
    MetricBatch {
        node: "node-a".into(),
        samples: (0..count)
            .map(|i| Sample {
                name: "cpu".into(),
                labels: Default::default(),
                timestamp_ms: from + i * 10_000,
                value: (i % 97) as f64 / 4.0,
            })
            .collect(),
    }
}

fn all_cpu() -> RangeQuery {
    RangeQuery::raw(SeriesSelector::metric("cpu"), i64::MIN, i64::MAX)
}

async fn points(store: &TimeseriesStore) -> Vec<(i64, f64)> {
    let result = store.query(&all_cpu()).await.unwrap();
    assert_eq!(result.len(), 1, "one cpu series");
    result[0]
        .points
        .iter()
        .map(|p| (p.timestamp_ms, p.value))
        .collect()
}

/// A writable store with two compacted hours and half an hour in the head.
async fn written(path: &Path) -> (Database, TimeseriesStore) {
    let db = Database::open_sqlite(path, SqliteDurability::Full)
        .await
        .unwrap();
    let store = TimeseriesStore::open(db.clone(), options()).await.unwrap();
    store.write(&batch(T0, 2 * 360 + 180)).await.unwrap();
    store.compact_at(T0 + 2 * HOUR + 2 * MIN).await.unwrap();
    (db, store)
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn reads_everything_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.db");
    let (db, store) = written(&path).await;
    let expected = points(&store).await;
    assert_eq!(expected.len(), 2 * 360 + 180);
    db.close().await;
    drop(store);
    let before = file_bytes(&path);
    let wal = dir.path().join("metrics.db-wal");
    // SQLite may create an empty write-ahead log next to the file for a
    // reader; what matters is that nothing is written into either.
    let wal_bytes = || {
        if wal.exists() {
            file_bytes(&wal)
        } else {
            Vec::new()
        }
    };
    let wal_before = wal_bytes();

    let ro = Database::open_sqlite_read_only(&path).await.unwrap();
    assert!(ro.is_read_only());
    let reader = TimeseriesStore::open(ro.clone(), options()).await.unwrap();
    assert_eq!(points(&reader).await, expected);
    let latest = reader.latest("node-a");
    assert_eq!(
        (latest[0].point.timestamp_ms, latest[0].point.value),
        *expected.last().unwrap()
    );

    let refused = reader.write(&batch(T0 + 3 * HOUR, 1)).await.unwrap_err();
    assert!(matches!(refused, Error::ReadOnly { .. }), "{refused}");
    let message = refused.to_string();
    assert!(
        message.contains("write samples") && message.contains("metrics.db"),
        "{message}"
    );
    let refused = reader.compact_at(T0 + 9 * HOUR).await.unwrap_err();
    assert!(matches!(refused, Error::ReadOnly { .. }), "{refused}");
    ro.close().await;

    assert!(file_bytes(&path) == before, "the database file changed");
    assert!(wal_bytes() == wal_before, "the write-ahead log changed");
}

#[tokio::test]
async fn sees_a_running_writer_and_its_later_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.db");
    let (_db, writer) = written(&path).await;

    let first = TimeseriesStore::open(
        Database::open_sqlite_read_only(&path).await.unwrap(),
        options(),
    )
    .await
    .unwrap();
    assert_eq!(points(&first).await, points(&writer).await);

    // The writer goes on: more head samples, then a compaction.
    writer.write(&batch(T0 + 9 * 1800, 90)).await.unwrap();
    writer.compact_at(T0 + 5 * HOUR).await.unwrap();
    let second = TimeseriesStore::open(
        Database::open_sqlite_read_only(&path).await.unwrap(),
        options(),
    )
    .await
    .unwrap();
    let now = points(&writer).await;
    assert_eq!(now.len(), 2 * 360 + 180 + 90);
    assert_eq!(points(&second).await, now);
}

#[tokio::test]
async fn reads_a_head_of_an_earlier_version_without_rewriting_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.db");
    let (db, store) = written(&path).await;
    let expected = points(&store).await;
    db.close().await;
    drop(store);
    // Head rows of earlier versions carry no node.
    let url = format!("sqlite://{}", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let legacy = sqlx::query("UPDATE ts_head SET node = NULL")
        .execute(&mut conn)
        .await
        .unwrap()
        .rows_affected();
    assert!(legacy > 0, "the store has head rows");
    conn.close().await.unwrap();

    let ro = Database::open_sqlite_read_only(&path).await.unwrap();
    let reader = TimeseriesStore::open(ro.clone(), options()).await.unwrap();
    assert_eq!(points(&reader).await, expected);
    ro.close().await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let (still,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM ts_head WHERE node IS NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_eq!(still as u64, legacy, "a read-only open rewrote the head");

    // A writable open rewrites them and reads the same.
    let db = Database::open_sqlite(&path, SqliteDurability::Full)
        .await
        .unwrap();
    let store = TimeseriesStore::open(db.clone(), options()).await.unwrap();
    assert_eq!(points(&store).await, expected);
    db.close().await;
}

#[tokio::test]
async fn never_migrates_nor_creates() {
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("missing.db");
    let error = Database::open_sqlite_read_only(&missing).await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error}");
    assert!(error.to_string().contains("missing.db"), "{error}");
    assert!(!missing.exists(), "a read-only open created the file");

    // An SQLite file that is not a Pilot database.
    let other = dir.path().join("other.db");
    let url = format!("sqlite://{}?mode=rwc", other.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE notes (body TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let error = Database::open_sqlite_read_only(&other).await.unwrap_err();
    let Error::SchemaVersion {
        found, expected, ..
    } = error
    else {
        panic!("not a schema version error: {error}");
    };
    assert_eq!(found, 0);
    assert!(expected > 0);

    // A Pilot database one migration behind: left as it is.
    let older = dir.path().join("older.db");
    let db = Database::open_sqlite(&older, SqliteDurability::Full)
        .await
        .unwrap();
    db.close().await;
    let url = format!("sqlite://{}", older.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let error = Database::open_sqlite_read_only(&older).await.unwrap_err();
    let message = error.to_string();
    let Error::SchemaVersion {
        found, expected, ..
    } = error
    else {
        panic!("not a schema version error: {message}");
    };
    assert_eq!(found, expected - 1);
    assert!(
        message.contains("older.db") && message.contains("not migrated"),
        "{message}"
    );
}

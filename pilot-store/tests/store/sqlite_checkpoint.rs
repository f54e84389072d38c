//! SQLite's write-ahead log is checkpointed by a background task, not by
//! the commit that fills it: a commit's pages reach the database file
//! itself within seconds without any further write.

use std::time::{Duration, Instant};

use pilot_store::{Database, SqlStore, SqliteDurability};

#[tokio::test]
async fn committed_pages_reach_the_database_file_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pilot.db");
    let db = Database::open_sqlite(&path, SqliteDurability::Full)
        .await
        .unwrap();
    let store = SqlStore::new(db.clone());
    store.set_setting("probe", "checkpointed").await.unwrap();

    // A copy of the database file alone (without its -wal) holds only what
    // a checkpoint moved there.
    let copy = dir.path().join("copy.db");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        std::fs::copy(&path, &copy).unwrap();
        let copied = Database::open_sqlite(&copy, SqliteDurability::Full)
            .await
            .unwrap();
        let value = SqlStore::new(copied.clone())
            .setting("probe")
            .await
            .unwrap();
        copied.close().await;
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("copy.db{suffix}")));
        }
        if value.as_deref() == Some("checkpointed") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the setting never reached the database file: no background checkpoint"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    db.close().await;
}

//! The encrypted secret store on SQLite and on PostgreSQL: overrides,
//! tamper detection (flipped byte, swapped rows, wrong key), key rotation.

use std::collections::BTreeMap;

use pilot_core::{SecretScope, SecretStore, SecretValue};
use pilot_store::{Database, MasterKey, SqlSecretStore};

async fn secrets_round_trip_and_overrides(db: &Database) {
    let store = SqlSecretStore::with_key(db.clone(), MasterKey::generate());
    let shop = SecretScope::project("shop");
    let n2 = SecretScope::node("shop", "n2");
    store
        .set(&shop, "DB", SecretValue::new("main"))
        .await
        .unwrap();
    store
        .set(&shop, "KEY", SecretValue::new("k1"))
        .await
        .unwrap();
    store
        .set(&shop, "KEY", SecretValue::new("k2"))
        .await
        .unwrap();
    store
        .set(&n2, "DB", SecretValue::new("replica"))
        .await
        .unwrap();
    assert_eq!(store.names(&shop).await.unwrap(), ["DB", "KEY"]);
    assert_eq!(store.names(&n2).await.unwrap(), ["DB"]);
    assert_eq!(
        store.get(&shop, "KEY").await.unwrap().unwrap().expose(),
        "k2"
    );
    assert!(store.get(&shop, "NONE").await.unwrap().is_none());
    let on_n1 = store.resolve("shop", Some("n1")).await.unwrap();
    let on_n2 = store.resolve("shop", Some("n2")).await.unwrap();
    assert_eq!(on_n1["DB"].expose(), "main");
    assert_eq!(on_n2["DB"].expose(), "replica");
    assert_eq!(on_n2["KEY"].expose(), "k2");
    assert_eq!(
        store.resolve("shop", None).await.unwrap()["DB"].expose(),
        "main"
    );
    store.delete(&n2, "DB").await.unwrap();
    store.delete(&n2, "DB").await.unwrap();
    assert_eq!(
        store.resolve("shop", Some("n2")).await.unwrap()["DB"].expose(),
        "main"
    );

    // Nothing readable is stored.
    for (_, ct) in stored_row(db.location(), None).await {
        let text = String::from_utf8_lossy(&ct);
        assert!(!text.contains("main") && !text.contains("k2"));
    }
}

/// The (nonce, ciphertext) of the shop project's secret `name`, or of every
/// secret when `name` is `None`, read over a separate connection (the store
/// exposes no raw SQL).
async fn stored_row(location: &str, name: Option<&str>) -> Vec<(Vec<u8>, Vec<u8>)> {
    use sqlx::Connection;
    const SQL: &str = "SELECT nonce, ciphertext FROM secrets \
                       WHERE $1 IS NULL OR (project = 'shop' AND node = '' AND name = $1)";
    if let Some(path) = location.strip_prefix("sqlite://") {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
            .await
            .unwrap();
        sqlx::query_as(SQL)
            .bind(name)
            .fetch_all(&mut c)
            .await
            .unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(location).await.unwrap();
        sqlx::query_as(SQL)
            .bind(name)
            .fetch_all(&mut c)
            .await
            .unwrap()
    }
}

/// Overwrites the stored bytes of the shop project's secret `name`.
async fn overwrite_row(location: &str, name: &str, nonce: &[u8], ciphertext: &[u8]) {
    use sqlx::Connection;
    const SQL: &str = "UPDATE secrets SET nonce = $1, ciphertext = $2 \
                       WHERE project = 'shop' AND node = '' AND name = $3";
    if let Some(path) = location.strip_prefix("sqlite://") {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
            .await
            .unwrap();
        sqlx::query(SQL)
            .bind(nonce)
            .bind(ciphertext)
            .bind(name)
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(location).await.unwrap();
        sqlx::query(SQL)
            .bind(nonce)
            .bind(ciphertext)
            .bind(name)
            .execute(&mut c)
            .await
            .unwrap();
    }
}

async fn secrets_detect_tampering(db: &Database) {
    let key = MasterKey::generate();
    let store = SqlSecretStore::with_key(db.clone(), key.clone());
    let shop = SecretScope::project("shop");
    store
        .set(&shop, "A", SecretValue::new("alpha-value"))
        .await
        .unwrap();
    store
        .set(&shop, "B", SecretValue::new("bravo-value"))
        .await
        .unwrap();
    store
        .set(
            &SecretScope::project("blog"),
            "A",
            SecretValue::new("blog-a"),
        )
        .await
        .unwrap();
    let location = db.location().to_string();

    // A flipped byte in the ciphertext, then in the nonce.
    let (nonce, mut ct) = stored_row(&location, Some("A")).await.remove(0);
    ct[3] ^= 0x01;
    overwrite_row(&location, "A", &nonce, &ct).await;
    let err = store.get(&shop, "A").await.unwrap_err().to_string();
    assert!(
        err.contains("secret A of project shop failed to decrypt"),
        "{err}"
    );
    assert!(!err.contains("alpha"), "{err}");
    ct[3] ^= 0x01;
    let mut bad_nonce = nonce.clone();
    bad_nonce[0] ^= 0x80;
    overwrite_row(&location, "A", &bad_nonce, &ct).await;
    assert!(store.get(&shop, "A").await.is_err());
    overwrite_row(&location, "A", &nonce, &ct).await;
    assert_eq!(
        store.get(&shop, "A").await.unwrap().unwrap().expose(),
        "alpha-value"
    );

    // Swapped rows: B's nonce and ciphertext under A's name.
    let (b_nonce, b_ct) = stored_row(&location, Some("B")).await.remove(0);
    overwrite_row(&location, "A", &b_nonce, &b_ct).await;
    let err = store.get(&shop, "A").await.unwrap_err().to_string();
    assert!(err.contains("altered or copied"), "{err}");
    assert!(!err.contains("bravo"), "{err}");
    let err = store.resolve("shop", None).await.unwrap_err().to_string();
    assert!(err.contains("failed to decrypt"), "{err}");
    // The blog project is untouched.
    let blog = SecretScope::project("blog");
    assert_eq!(
        store.get(&blog, "A").await.unwrap().unwrap().expose(),
        "blog-a"
    );

    // The wrong key.
    let other = SqlSecretStore::with_key(db.clone(), MasterKey::generate());
    let err = other.get(&blog, "A").await.unwrap_err().to_string();
    assert!(
        err.contains(&format!("encrypted with master key {}", key.id())),
        "{err}"
    );
    assert!(err.contains("PILOT_MASTER_KEY"), "{err}");
}

async fn secrets_rotation_keeps_every_value(db: &Database) {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("secrets/master.key");
    let store = SqlSecretStore::open(db.clone(), &key_file).await.unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let mut expected = BTreeMap::new();
    for i in 0..40 {
        let scope = if i % 4 == 0 {
            SecretScope::node(format!("p{}", i % 3), "n1")
        } else {
            SecretScope::project(format!("p{}", i % 3))
        };
        let value = format!("value-{i}-{}", "x".repeat(i));
        store
            .set(&scope, &format!("S{i}"), SecretValue::new(&value))
            .await
            .unwrap();
        expected.insert((scope, format!("S{i}")), value);
    }
    let before = store.key_id();
    assert_eq!(store.rotate_key_file().await.unwrap(), 40);
    assert_ne!(store.key_id(), before);
    for ((scope, name), value) in &expected {
        assert_eq!(
            store.get(scope, name).await.unwrap().unwrap().expose(),
            value
        );
    }
    // A restart reads the rotated key file.
    let reopened = SqlSecretStore::open(db.clone(), &key_file).await.unwrap();
    assert_eq!(reopened.key_id(), store.key_id());
    for ((scope, name), value) in &expected {
        assert_eq!(
            reopened.get(scope, name).await.unwrap().unwrap().expose(),
            value
        );
    }
    // In-memory rotation too, and a failed rotation changes nothing.
    let third = MasterKey::generate();
    assert_eq!(reopened.rotate_key(third.clone()).await.unwrap(), 40);
    assert_eq!(reopened.key_id(), third.id());
    let stale = SqlSecretStore::with_key(db.clone(), MasterKey::generate());
    assert!(stale.rotate_key(MasterKey::generate()).await.is_err());
    let check = SqlSecretStore::with_key(db.clone(), third);
    for ((scope, name), value) in &expected {
        assert_eq!(
            check.get(scope, name).await.unwrap().unwrap().expose(),
            value
        );
    }
}

async fn interrupted_rotation_is_finished_on_open(db: &Database) {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("master.key");
    let store = SqlSecretStore::open(db.clone(), &key_file).await.unwrap();
    let scope = SecretScope::project("shop");
    store
        .set(&scope, "DB", SecretValue::new("v"))
        .await
        .unwrap();

    // Crash after the key was staged but before the rows changed: discarded.
    let staged = dir.path().join("master.key.next");
    MasterKey::generate().write_new_file(&staged).unwrap();
    let reopened = SqlSecretStore::open(db.clone(), &key_file).await.unwrap();
    assert_eq!(reopened.key_id(), store.key_id());
    assert!(!staged.exists());

    // Crash after the rows were re-encrypted but before the rename: finished.
    let next = MasterKey::generate();
    next.write_new_file(&staged).unwrap();
    store.rotate_key(next.clone()).await.unwrap();
    let reopened = SqlSecretStore::open(db.clone(), &key_file).await.unwrap();
    assert_eq!(reopened.key_id(), next.id());
    assert!(!staged.exists());
    assert_eq!(
        reopened.get(&scope, "DB").await.unwrap().unwrap().expose(),
        "v"
    );
}

crate::on_both_backends!(
    secrets_round_trip_and_overrides,
    secrets_detect_tampering,
    secrets_rotation_keeps_every_value,
    interrupted_rotation_is_finished_on_open,
);

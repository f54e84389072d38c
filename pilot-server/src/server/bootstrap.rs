//! First-start work of a server: stores, the first admin, the agent
//! listener's TLS identity.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use pilot_core::protocol::{ProtocolError, SelfSignedCert, TlsIdentity};
use pilot_store::records::Role;
use pilot_store::{
    Database, SqlSecretStore, SqlStore, SqliteDurability, TimeseriesOptions, TimeseriesStore,
};

use super::{AgentTls, ServerOptions};
use crate::error::{Error, Result};

/// Name of the user created on first start.
pub const FIRST_ADMIN: &str = "admin";

/// The opened stores.
pub(super) struct Stores {
    pub store: SqlStore,
    pub secrets: Arc<SqlSecretStore>,
    pub metrics: Arc<TimeseriesStore>,
}

/// Opens the operational database (SQLite `pilot.db` or the PostgreSQL
/// URL), the secret store with its key file, and the metrics store (SQLite
/// `metrics.db`, or the same PostgreSQL database).
pub(super) async fn open_stores(options: &ServerOptions) -> Result<Stores> {
    let dir = &options.data_dir;
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "create the data directory",
        path: dir.clone(),
        cause: source,
    })?;
    let (db, metrics_db) = match &options.database_url {
        Some(url) => {
            let db = Database::open(url).await?;
            (db.clone(), db)
        }
        None => (
            Database::open_sqlite(&dir.join("pilot.db"), SqliteDurability::Full).await?,
            Database::open_sqlite(&dir.join("metrics.db"), SqliteDurability::Full).await?,
        ),
    };
    let secrets = SqlSecretStore::open(db.clone(), &dir.join("master.key")).await?;
    let metrics = TimeseriesStore::open(metrics_db, TimeseriesOptions::default()).await?;
    Ok(Stores {
        store: SqlStore::new(db),
        secrets: Arc::new(secrets),
        metrics: Arc::new(metrics),
    })
}

/// Creates the `admin` user when there is no user yet; returns the
/// password when it was generated here (to be shown once).
pub(super) async fn ensure_admin(
    store: &SqlStore,
    password: Option<&str>,
) -> Result<Option<String>> {
    if !store.users().await?.is_empty() {
        return Ok(None);
    }
    let generated = password.is_none().then(generate_password);
    let chosen = password.or(generated.as_deref()).unwrap_or_default();
    store.create_user(FIRST_ADMIN, chosen, Role::Admin).await?;
    Ok(generated)
}

/// 20 random characters from an alphabet without look-alikes.
fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..20)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The agent listener's certificate, if TLS is on.
pub(super) fn tls_identity(options: &ServerOptions) -> Result<Option<TlsIdentity>> {
    match &options.agent_tls {
        AgentTls::Off => Ok(None),
        AgentTls::Files { cert, key } => Ok(Some(TlsIdentity::from_pem_files(cert, key).map_err(
            |source| Error::Tls {
                path: cert.clone(),
                cause: source,
            },
        )?)),
        AgentTls::SelfSigned => self_signed(&options.data_dir.join("tls")).map(Some),
    }
}

/// Loads `<dir>/agent-cert.pem` and `agent-key.pem`, creating them (key
/// mode 0600) on first use so the fingerprint agents pinned stays valid.
fn self_signed(dir: &Path) -> Result<TlsIdentity> {
    let cert = dir.join("agent-cert.pem");
    let key = dir.join("agent-key.pem");
    let tls_error = |source: ProtocolError| Error::Tls {
        path: cert.clone(),
        cause: source,
    };
    if cert.exists() && key.exists() {
        return TlsIdentity::from_pem_files(&cert, &key).map_err(tls_error);
    }
    let mut names = vec!["localhost".to_string()];
    if let Some(host) = host_name() {
        names.push(host);
    }
    let generated = SelfSignedCert::generate(&names).map_err(tls_error)?;
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            cause: source,
        }
    };
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    pilot_core::fsutil::write_atomic(&key, generated.key_pem.as_bytes(), 0o600)
        .map_err(Error::Core)?;
    pilot_core::fsutil::write_atomic(&cert, generated.cert_pem.as_bytes(), 0o644)
        .map_err(Error::Core)?;
    generated.identity().map_err(tls_error)
}

/// This machine's host name, if it has a usable one.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// The address to tell agents: the bound one, with the host name instead
/// of an all-interfaces address.
pub(super) fn advertised(bound: SocketAddr) -> String {
    if bound.ip().is_unspecified() {
        let host = host_name().unwrap_or_else(|| "127.0.0.1".into());
        format!("{host}:{}", bound.port())
    } else {
        bound.to_string()
    }
}

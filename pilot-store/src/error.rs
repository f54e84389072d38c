//! The error type of pilot-store.
//!
//! Messages never contain a secret value, a password or a node token: they
//! name the row (project, node, secret name, user, table) and say what to do.

use std::path::PathBuf;

/// Result of fallible pilot-store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in pilot-store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A core operation failed.
    #[error(transparent)]
    Core(#[from] pilot_core::Error),

    /// The database URL is neither `sqlite:` nor `postgres://`.
    #[error(
        "unsupported database url {url:?}: use sqlite://<path> (embedded) or postgres://user@host/db"
    )]
    UnsupportedUrl {
        /// The URL, with any password removed.
        url: String,
    },

    /// Connecting to the database failed.
    #[error(
        "cannot open database {location}: {cause}; check the url, the server and its permissions"
    )]
    Connect {
        /// Where the database is (password removed).
        location: String,
        /// The driver error.
        cause: sqlx::Error,
    },

    /// Applying the schema migrations failed.
    #[error(
        "cannot migrate database {location}: {cause}; the database may belong to a newer Pilot"
    )]
    Migrate {
        /// Where the database is.
        location: String,
        /// The migration error.
        cause: sqlx::migrate::MigrateError,
    },

    /// A database opened read-only has another schema version than this
    /// build reads; a read-only open never migrates.
    #[error(
        "database {location} has schema version {found}, this Pilot reads version {expected}; \
         it was opened read-only, so it is not migrated: open it once with a writer (the server, \
         or MetricsStore.create) to upgrade it, or use the Pilot that wrote it"
    )]
    SchemaVersion {
        /// Where the database is.
        location: String,
        /// The newest migration applied to it (0: none, not a Pilot database).
        found: i64,
        /// The newest migration this build has.
        expected: i64,
    },

    /// A write to a database opened read-only.
    #[error("{action}: database {location} was opened read-only; open it for writing to change it")]
    ReadOnly {
        /// What was asked, e.g. "write samples".
        action: &'static str,
        /// Where the database is.
        location: String,
    },

    /// A statement failed.
    #[error(
        "database error while {action}: {cause}; check that the database is reachable and writable"
    )]
    Database {
        /// What was being done, e.g. "insert user".
        action: &'static str,
        /// The driver error.
        cause: sqlx::Error,
    },

    /// A row that should exist does not.
    #[error("{kind} {key:?} does not exist; list the existing ones and check the name")]
    NotFound {
        /// The kind of row, e.g. "user".
        kind: &'static str,
        /// Its key.
        key: String,
    },

    /// A row with the same unique key exists already.
    #[error("{kind} {key:?} already exists; pick another name or update the existing one")]
    AlreadyExists {
        /// The kind of row.
        kind: &'static str,
        /// Its key.
        key: String,
    },

    /// A value given to the store is not acceptable.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field, e.g. "username".
        field: &'static str,
        /// Why it is rejected and what is accepted.
        reason: String,
    },

    /// A stored row cannot be decoded (edited by hand or written by a newer Pilot).
    #[error("corrupt {table} row {key:?}: {reason}; restore it from a backup or delete it")]
    CorruptRow {
        /// The table.
        table: &'static str,
        /// The row's key.
        key: String,
        /// What is wrong.
        reason: String,
    },

    /// Hashing or verifying a password failed for a reason other than a wrong password.
    #[error("password hashing failed: {reason}")]
    PasswordHash {
        /// What the hasher reported (never the password).
        reason: String,
    },

    /// A file operation failed.
    #[error("{action} {path}: {cause}")]
    Io {
        /// What was being done, e.g. "read master key file".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },

    /// The master key file can be read by other users.
    #[error(
        "master key file {path} has mode {mode:o}, readable by other users; run `chmod 600 {path}`"
    )]
    KeyFileMode {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// The master key is not 32 bytes of hex.
    #[error(
        "master key from {origin} is not usable: {reason}; it must be 64 hex digits (32 bytes)"
    )]
    KeyFormat {
        /// Where the key came from: a file path or an environment variable.
        origin: String,
        /// What is wrong.
        reason: &'static str,
    },

    /// A secret was encrypted with another master key than the one loaded.
    #[error(
        "secret {name} of {scope} was encrypted with master key {stored_key} but the loaded key \
         is {loaded_key}; start with the key file or PILOT_MASTER_KEY that wrote it"
    )]
    WrongKey {
        /// Project (and node) of the secret.
        scope: String,
        /// The secret's name.
        name: String,
        /// Fingerprint of the key that encrypted it.
        stored_key: String,
        /// Fingerprint of the loaded key.
        loaded_key: String,
    },

    /// A stored secret failed authentication: altered, truncated or copied from another row.
    #[error(
        "secret {name} of {scope} failed to decrypt: its stored bytes were altered or copied \
         from another secret; set it again"
    )]
    Tampered {
        /// Project (and node) of the secret.
        scope: String,
        /// The secret's name.
        name: String,
    },

    /// A compressed timeseries chunk cannot be decoded.
    #[error(
        "corrupt timeseries chunk (series {series}, tier {tier_ms} ms, start {start_ms}): {reason}; \
         delete the chunk row to drop that window"
    )]
    CorruptChunk {
        /// The series id.
        series: i64,
        /// Bucket width of the tier in ms (0 for raw samples).
        tier_ms: i64,
        /// Start of the chunk's window, Unix ms.
        start_ms: i64,
        /// What is wrong.
        reason: String,
    },

    /// A block of raw timeseries samples cannot be decoded.
    #[error(
        "corrupt timeseries block (node {node}, window start {start_ms}): {reason}; delete that \
         ts_blocks row to drop the window's raw samples"
    )]
    CorruptBlock {
        /// The node whose samples the block holds.
        node: String,
        /// Start of the block's window, Unix ms.
        start_ms: i64,
        /// What is wrong.
        reason: String,
    },

    /// A batch was handed in together with others, and storing the group failed.
    #[error(
        "storing this batch together with others failed: {reason}; it was not stored, send it again"
    )]
    GroupWrite {
        /// Why the group's write failed.
        reason: String,
    },

    /// A head batch of the timeseries store cannot be decoded.
    #[error("corrupt timeseries head batch {id}: {reason}; delete that ts_head row to drop it")]
    CorruptHead {
        /// The head row id.
        id: i64,
        /// What is wrong.
        reason: String,
    },

    /// The async runtime shut down before background work finished.
    #[error(
        "the runtime is shutting down; {action} did not finish and will run again on the next start"
    )]
    Shutdown {
        /// The interrupted work.
        action: &'static str,
    },

    /// Timeseries options are inconsistent.
    #[error("invalid timeseries option {field}: {reason}")]
    Options {
        /// The option.
        field: &'static str,
        /// What is wrong and what is accepted.
        reason: String,
    },
}

impl Error {
    /// Builds an [`Error::Io`].
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            cause: source,
        }
    }

    /// Builds an [`Error::Invalid`].
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Adds the action to driver errors.
pub(crate) trait DbContext<T> {
    /// Maps a driver error to [`Error::Database`].
    fn db(self, action: &'static str) -> Result<T>;

    /// Like [`DbContext::db`], but a unique-key violation becomes [`Error::AlreadyExists`].
    fn db_unique(self, action: &'static str, kind: &'static str, key: &str) -> Result<T>;
}

impl<T> DbContext<T> for std::result::Result<T, sqlx::Error> {
    fn db(self, action: &'static str) -> Result<T> {
        self.map_err(|cause| Error::Database { action, cause })
    }

    fn db_unique(self, action: &'static str, kind: &'static str, key: &str) -> Result<T> {
        self.map_err(|source| match &source {
            sqlx::Error::Database(e) if e.is_unique_violation() => Error::AlreadyExists {
                kind,
                key: key.to_string(),
            },
            _ => Error::Database {
                action,
                cause: source,
            },
        })
    }
}

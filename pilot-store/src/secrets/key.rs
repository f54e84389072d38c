//! The master key that encrypts every secret: 32 random bytes kept in a key
//! file of mode 0600 (created on first start) or given in an environment
//! variable, identified in the database by a fingerprint.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The environment variable that can carry the master key (64 hex digits).
pub const MASTER_KEY_ENV: &str = "PILOT_MASTER_KEY";

/// A 256-bit AES key. `Debug` shows its fingerprint only; the bytes are
/// wiped from memory when it is dropped.
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
    id: String,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish()
    }
}

impl MasterKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::fill(&mut bytes[..]);
        Self::from_bytes(bytes)
    }

    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Self {
        let mut h = Sha256::new();
        h.update(b"pilot-master-key-id\0");
        h.update(&bytes[..]);
        let id = hex::encode(&h.finalize()[..8]);
        MasterKey { bytes, id }
    }

    /// Parses 64 hex digits (surrounding whitespace ignored). `origin` names
    /// where the text came from, for the error message.
    pub fn from_hex(origin: &str, text: &str) -> Result<Self> {
        let text = text.trim();
        let format = |reason| Error::KeyFormat {
            origin: origin.to_string(),
            reason,
        };
        if text.len() != 64 {
            return Err(format("it has the wrong length"));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text, &mut bytes[..])
            .map_err(|_| format("it contains characters that are not hex digits"))?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key in the environment variable `var`, if set.
    pub fn from_env(var: &str) -> Result<Option<Self>> {
        match std::env::var(var) {
            Ok(text) => Self::from_hex(&format!("environment variable {var}"), &text).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::KeyFormat {
                origin: format!("environment variable {var}"),
                reason: "it is not valid UTF-8",
            }),
        }
    }

    /// Reads a key file, refusing one that other users can read.
    pub fn load(path: &Path) -> Result<Self> {
        let meta = fs::metadata(path).map_err(|e| Error::io("read master key file", path, e))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::KeyFileMode {
                path: path.to_path_buf(),
                mode,
            });
        }
        let text = Zeroizing::new(
            fs::read_to_string(path).map_err(|e| Error::io("read master key file", path, e))?,
        );
        Self::from_hex(&path.display().to_string(), &text)
    }

    /// Reads the key file, or creates it with a new random key (mode 0600)
    /// when it does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match Self::load(path) {
            Err(Error::Io { cause: source, .. }) if source.kind() == ErrorKind::NotFound => {
                let key = Self::generate();
                match key.write_new_file(path) {
                    Ok(()) => Ok(key),
                    // Another process created it first: use theirs.
                    Err(Error::Io { cause: source, .. })
                        if source.kind() == ErrorKind::AlreadyExists =>
                    {
                        Self::load(path)
                    }
                    Err(e) => Err(e),
                }
            }
            other => other,
        }
    }

    /// Writes the key to a file that must not exist yet, with mode 0600, and
    /// syncs it and its directory.
    pub fn write_new_file(&self, path: &Path) -> Result<()> {
        let dir = parent_dir(path);
        fs::create_dir_all(&dir).map_err(|e| Error::io("create key directory", &dir, e))?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io("create master key file", path, e))?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(&self.bytes[..])));
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("write master key file", path, e))?;
        sync_dir(&dir)
    }

    /// The key's fingerprint (16 hex digits), stored next to each secret.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

/// The directory holding `path`.
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename or file creation in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync key directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/master.key");
        let key = MasterKey::load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(key.id(), again.id());
        assert_eq!(key.bytes(), again.bytes());
    }

    #[test]
    fn readable_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::generate().write_new_file(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn malformed_keys_are_explained_and_debug_hides_bytes() {
        let err = MasterKey::from_hex("environment variable X", "abc").unwrap_err();
        assert!(err.to_string().contains("64 hex digits"), "{err}");
        let err = MasterKey::from_hex("x", &"zz".repeat(32)).unwrap_err();
        assert!(err.to_string().contains("not hex"), "{err}");
        let key = MasterKey::from_hex("x", &"ab".repeat(32)).unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains("abab"), "{debug}");
        assert!(debug.contains(key.id()), "{debug}");
    }
}

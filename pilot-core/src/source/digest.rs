//! Content digests behind the `version` of archive and directory releases.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::SourceError;
use super::names::RelPath;

/// Hex digits of the digest kept in a version, after the leading `a`.
const VERSION_HEX_DIGITS: usize = 11;

/// `"a"` + the first 11 hex digits of a sha256 digest.
fn version_of(digest: &[u8]) -> String {
    let hex = hex::encode(digest);
    format!("a{}", &hex[..VERSION_HEX_DIGITS])
}

/// The version of an archive: a digest of the file's bytes.
pub(crate) fn archive_version(path: &Path) -> Result<String, SourceError> {
    let mut file = File::open(path).map_err(|e| SourceError::io("open", path, e))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut HashWriter(&mut hasher))
        .map_err(|e| SourceError::io("read", path, e))?;
    Ok(version_of(&hasher.finalize()))
}

/// Adapts a hasher to [`io::Write`].
struct HashWriter<'a>(&'a mut Sha256);

impl io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A reader that hashes what passes through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The sha256 of everything read.
    pub(crate) fn finish(self) -> [u8; 32] {
        self.hasher.finalize().into()
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Digest of a directory tree: fed every entry in sorted path order with
/// its kind, path, mode and content (or symlink target).
pub(crate) struct TreeDigest {
    hasher: Sha256,
}

impl TreeDigest {
    /// An empty digest.
    pub(crate) fn new() -> Self {
        TreeDigest {
            hasher: Sha256::new(),
        }
    }

    /// Adds a directory.
    pub(crate) fn dir(&mut self, path: &RelPath) {
        self.record(b'd', path, b"755", &[]);
    }

    /// Adds a regular file with its mode and the sha256 of its content.
    pub(crate) fn file(&mut self, path: &RelPath, executable: bool, content: &[u8; 32]) {
        let mode: &[u8] = if executable { b"755" } else { b"644" };
        self.record(b'f', path, mode, content);
    }

    /// Adds a symlink with its target.
    pub(crate) fn symlink(&mut self, path: &RelPath, target: &str) {
        self.record(b'l', path, b"777", target.as_bytes());
    }

    /// The version string.
    pub(crate) fn finish(self) -> String {
        version_of(&self.hasher.finalize())
    }

    /// One record: kind, NUL, path, NUL, mode, NUL, length, payload. Paths
    /// hold no NUL, and the payload is length-prefixed, so records cannot blur.
    fn record(&mut self, kind: u8, path: &RelPath, mode: &[u8], payload: &[u8]) {
        self.hasher.update([kind, 0]);
        self.hasher.update(path.to_string().as_bytes());
        self.hasher.update([0]);
        self.hasher.update(mode);
        self.hasher.update([0]);
        self.hasher.update((payload.len() as u64).to_le_bytes());
        self.hasher.update(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::names::entry_path;

    #[test]
    fn versions_are_a_plus_eleven_hex_digits() {
        let tmp = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(tmp.path(), b"hello").expect("write");
        let version = archive_version(tmp.path()).expect("digest");
        // sha256("hello") = 2cf24dba5fb0a30e26e83b2ac5b9e29e...
        assert_eq!(version, "a2cf24dba5fb");
    }

    #[test]
    fn tree_digest_depends_on_mode_and_content() {
        let path = entry_path(b"a").expect("safe");
        let digest = |executable: bool, content: [u8; 32]| {
            let mut tree = TreeDigest::new();
            tree.file(&path, executable, &content);
            tree.finish()
        };
        assert_ne!(digest(false, [0; 32]), digest(true, [0; 32]));
        assert_ne!(digest(false, [0; 32]), digest(false, [1; 32]));
        assert_eq!(digest(false, [0; 32]), digest(false, [0; 32]));
    }

    #[test]
    fn hashing_reader_hashes_what_it_reads() {
        let mut reader = HashingReader::new(&b"hello"[..]);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).expect("read");
        assert_eq!(hex::encode(reader.finish())[..8], *"2cf24dba");
    }
}

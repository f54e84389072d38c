//! Uploaded archives: format detection and the shared extraction steps.
//!
//! An archive is read twice: first its entry list is checked as a whole
//! ([`Plan`]), then the entries are written in order through the
//! [`ReleaseWriter`]. Nothing is created before every entry has been checked.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::digest::archive_version;
use super::plan::{Entry, EntryKind, Plan, RawEntry};
use super::writer::ReleaseWriter;
use super::{FetchLimits, Fetched, SourceError, tar_gz, zip_file};

/// The archive formats Pilot reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// A zip file.
    Zip,
    /// A gzip-compressed tar file.
    TarGz,
}

/// Extracts the archive at `path` into `dest` (an empty directory).
pub(crate) fn extract(
    path: &Path,
    dest: &Path,
    limits: &FetchLimits,
) -> Result<Fetched, SourceError> {
    let format = detect(path)?;
    let version = archive_version(path)?;
    tracing::debug!(archive = %path.display(), ?format, %version, "extracting archive");
    let mut writer = ReleaseWriter::open(dest, limits.max_bytes)?;
    let files = match format {
        Format::Zip => zip_file::extract(path, &mut writer, limits)?,
        Format::TarGz => tar_gz::extract(path, &mut writer, limits)?,
    };
    Ok(Fetched {
        version,
        commit: None,
        files,
        bytes: writer.bytes(),
    })
}

/// Recognises the format by the first bytes of the file.
fn detect(path: &Path) -> Result<Format, SourceError> {
    let mut file = File::open(path).map_err(|e| SourceError::io("open", path, e))?;
    let mut magic = [0u8; 4];
    let mut filled = 0;
    while filled < magic.len() {
        match file.read(&mut magic[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(SourceError::io("read", path, e)),
        }
    }
    match &magic[..filled] {
        [b'P', b'K', 3, 4] | [b'P', b'K', 5, 6] | [b'P', b'K', 7, 8] => Ok(Format::Zip),
        [0x1f, 0x8b, ..] => Ok(Format::TarGz),
        _ => Err(SourceError::UnknownArchiveFormat {
            path: path.to_path_buf(),
        }),
    }
}

/// Writes one checked entry whose content (for a regular file) is `content`.
pub(crate) fn write_entry(
    writer: &mut ReleaseWriter,
    entry: &Entry,
    content: &mut dyn Read,
    archive: &Path,
) -> Result<(), SourceError> {
    match &entry.kind {
        EntryKind::Dir => writer.dir(entry),
        EntryKind::File { executable } => {
            let read_error =
                |e: std::io::Error| corrupt(archive, format!("entry {}: {e}", entry.name));
            writer
                .file(entry, *executable, content, &read_error)
                .map(drop)
        }
        EntryKind::Symlink { target } => writer.symlink(entry, target),
        EntryKind::HardLink { target } => writer.hard_link(entry, target),
    }
}

/// A [`SourceError::CorruptArchive`].
pub(crate) fn corrupt(archive: &Path, message: impl Into<String>) -> SourceError {
    SourceError::CorruptArchive {
        path: archive.to_path_buf(),
        message: message.into(),
    }
}

/// Fails when the archive lists more entries than the limit allows (one
/// more is tolerated for a top-level directory that will be stripped).
pub(crate) fn check_entry_count(count: u64, limits: &FetchLimits) -> Result<(), SourceError> {
    limits.check_files(count.saturating_sub(1))
}

/// Checks the listed entries; archives get their single top-level directory stripped.
pub(crate) fn plan(raw: &[RawEntry], limits: &FetchLimits) -> Result<Plan, SourceError> {
    Plan::check(raw, true, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_content() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let zip = tmp.path().join("upload.tar.gz");
        std::fs::write(&zip, b"PK\x03\x04rest").expect("write");
        assert_eq!(detect(&zip).expect("zip"), Format::Zip);
        let gz = tmp.path().join("upload.zip");
        std::fs::write(&gz, [0x1f, 0x8b, 8, 0]).expect("write");
        assert_eq!(detect(&gz).expect("gzip"), Format::TarGz);
        let text = tmp.path().join("notes.zip");
        std::fs::write(&text, b"hi").expect("write");
        assert!(matches!(
            detect(&text),
            Err(SourceError::UnknownArchiveFormat { .. })
        ));
    }
}

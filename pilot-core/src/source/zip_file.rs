//! Zip archives.
//!
//! Entries are read raw and inflated here, so the declared sizes in the
//! headers play no part: every byte is counted as it is written, and each
//! entry's CRC-32 is checked against what was actually read.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use flate2::CrcReader;
use flate2::read::DeflateDecoder;
use zip::read::ZipFile;
use zip::{CompressionMethod, ZipArchive};

use super::archive::{self, corrupt};
use super::names::display_name;
use super::plan::{EntryKind, RawEntry, RawKind};
use super::writer::ReleaseWriter;
use super::{FetchLimits, SourceError};

/// Longest symlink target accepted, in bytes.
const MAX_LINK_TARGET: u64 = 4096;

/// File type bits of a unix mode.
const S_IFMT: u32 = 0o170000;

/// Extracts every entry; returns the number of paths written.
pub(crate) fn extract(
    path: &Path,
    writer: &mut ReleaseWriter,
    limits: &FetchLimits,
) -> Result<u64, SourceError> {
    let file = File::open(path).map_err(|e| SourceError::io("open", path, e))?;
    let mut zip =
        ZipArchive::new(BufReader::new(file)).map_err(|e| corrupt(path, e.to_string()))?;
    archive::check_entry_count(zip.len() as u64, limits)?;
    let mut raw = Vec::with_capacity(zip.len());
    for index in 0..zip.len() {
        let entry = zip
            .by_index_raw(index)
            .map_err(|e| corrupt(path, e.to_string()))?;
        raw.push(list_entry(entry, path)?);
    }
    let plan = archive::plan(&raw, limits)?;
    for index in 0..zip.len() {
        let Some(entry) = plan.entry(index) else {
            continue;
        };
        if !matches!(entry.kind, EntryKind::File { .. }) {
            archive::write_entry(writer, entry, &mut io::empty(), path)?;
            continue;
        }
        let zip_entry = zip
            .by_index_raw(index)
            .map_err(|e| corrupt(path, e.to_string()))?;
        let expected_crc = zip_entry.crc32();
        let mut content = CrcReader::new(inflate(zip_entry, path)?);
        archive::write_entry(writer, entry, &mut content, path)?;
        if content.crc().sum() != expected_crc {
            return Err(corrupt(
                path,
                format!("entry {} fails its CRC-32 check", entry.name),
            ));
        }
    }
    Ok(plan.count())
}

/// Lists one entry: its name and kind, with a symlink's target read.
fn list_entry<R: Read>(entry: ZipFile<'_, R>, path: &Path) -> Result<RawEntry, SourceError> {
    let name = entry.name_raw().to_vec();
    if entry.encrypted() {
        return Err(unsupported(path, &name, "encrypted"));
    }
    let mode = entry.unix_mode().unwrap_or(0);
    let kind = match mode & S_IFMT {
        0o010000 => return Err(special(&name, "a fifo")),
        0o020000 => return Err(special(&name, "a character device")),
        0o060000 => return Err(special(&name, "a block device")),
        0o140000 => return Err(special(&name, "a socket")),
        0o120000 => RawKind::Symlink {
            target: read_link_target(entry, path, &name)?,
        },
        _ if mode & S_IFMT == 0o040000 || name.ends_with(b"/") => RawKind::Dir,
        0 | 0o100000 => RawKind::File {
            executable: mode & 0o111 != 0,
        },
        other => {
            return Err(special(&name, &format!("of unknown file type {other:o}")));
        }
    };
    Ok(RawEntry { name, kind })
}

/// Reads a symlink entry's content, its target.
fn read_link_target<R: Read>(
    entry: ZipFile<'_, R>,
    path: &Path,
    name: &[u8],
) -> Result<Vec<u8>, SourceError> {
    let mut target = Vec::new();
    inflate(entry, path)?
        .take(MAX_LINK_TARGET + 1)
        .read_to_end(&mut target)
        .map_err(|e| corrupt(path, format!("entry {}: {e}", display_name(name))))?;
    if target.len() as u64 > MAX_LINK_TARGET {
        return Err(SourceError::unsafe_entry(
            display_name(name),
            format!("the symlink target is longer than {MAX_LINK_TARGET} bytes"),
        ));
    }
    Ok(target)
}

/// The decompressed content of a raw entry.
fn inflate<'a, R: Read>(
    entry: ZipFile<'a, R>,
    path: &Path,
) -> Result<Box<dyn Read + 'a>, SourceError> {
    match entry.compression() {
        CompressionMethod::Stored => Ok(Box::new(entry)),
        CompressionMethod::Deflated => Ok(Box::new(DeflateDecoder::new(entry))),
        other => {
            let reason = format!("compressed with {other}");
            Err(unsupported(path, entry.name_raw(), &reason))
        }
    }
}

/// A [`SourceError::UnsupportedArchiveEntry`].
fn unsupported(path: &Path, name: &[u8], reason: &str) -> SourceError {
    SourceError::UnsupportedArchiveEntry {
        path: path.to_path_buf(),
        entry: display_name(name),
        reason: reason.to_owned(),
    }
}

/// An entry that is not a file, directory or symlink.
fn special(name: &[u8], what: &str) -> SourceError {
    SourceError::unsafe_entry(
        display_name(name),
        format!("it is {what}; only files, directories and symlinks are allowed"),
    )
}

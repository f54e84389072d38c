//! Gzip-compressed tar archives.
//!
//! The archive is decompressed twice: once to list and check every entry,
//! once to write them. Sizes in tar headers decide where the next header
//! starts, so the first pass may already refuse an archive whose files add up
//! to more than the byte limit; the second pass still counts what it writes.

use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use tar::EntryType;

use super::archive::{self, corrupt};
use super::names::display_name;
use super::plan::{RawEntry, RawKind};
use super::writer::ReleaseWriter;
use super::{FetchLimits, SourceError};

/// Extracts every entry; returns the number of paths written.
pub(crate) fn extract(
    path: &Path,
    writer: &mut ReleaseWriter,
    limits: &FetchLimits,
) -> Result<u64, SourceError> {
    let mut file = File::open(path).map_err(|e| SourceError::io("open", path, e))?;
    let raw = list(&mut file, path, limits)?;
    let plan = archive::plan(&raw, limits)?;
    file.rewind()
        .map_err(|e| SourceError::io("read", path, e))?;
    let mut tar = tar::Archive::new(MultiGzDecoder::new(BufReader::new(&mut file)));
    let changed = || corrupt(path, "the archive changed while it was being extracted");
    let mut index = 0;
    for entry in tar.entries().map_err(|e| corrupt(path, e.to_string()))? {
        let mut entry = entry.map_err(|e| corrupt(path, e.to_string()))?;
        if is_metadata(entry.header().entry_type()) {
            continue;
        }
        let listed = raw.get(index).ok_or_else(changed)?;
        if entry.path_bytes().as_ref() != listed.name.as_slice() {
            return Err(changed());
        }
        if let Some(planned) = plan.entry(index) {
            archive::write_entry(writer, planned, &mut entry, path)?;
        }
        index += 1;
    }
    if index != raw.len() {
        return Err(changed());
    }
    Ok(plan.count())
}

/// First pass: every entry's name and kind, with early limit checks.
fn list(file: &mut File, path: &Path, limits: &FetchLimits) -> Result<Vec<RawEntry>, SourceError> {
    let mut tar = tar::Archive::new(MultiGzDecoder::new(BufReader::new(file)));
    let mut raw = Vec::new();
    let mut declared_bytes = 0u64;
    for entry in tar.entries().map_err(|e| corrupt(path, e.to_string()))? {
        let entry = entry.map_err(|e| corrupt(path, e.to_string()))?;
        let entry_type = entry.header().entry_type();
        if is_metadata(entry_type) {
            continue;
        }
        let name = entry.path_bytes().into_owned();
        let link_target = || {
            entry
                .link_name_bytes()
                .map(|t| t.into_owned())
                .unwrap_or_default()
        };
        let kind = match entry_type {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                declared_bytes = declared_bytes.saturating_add(entry.size());
                if declared_bytes > limits.max_bytes {
                    return Err(SourceError::TooLarge {
                        limit: limits.max_bytes,
                        entry: display_name(&name),
                    });
                }
                let mode = entry
                    .header()
                    .mode()
                    .map_err(|e| corrupt(path, e.to_string()))?;
                RawKind::File {
                    executable: mode & 0o111 != 0,
                }
            }
            EntryType::Directory => RawKind::Dir,
            EntryType::Symlink => RawKind::Symlink {
                target: link_target(),
            },
            EntryType::Link => RawKind::HardLink {
                target: link_target(),
            },
            EntryType::Char => return Err(special(&name, "a character device")),
            EntryType::Block => return Err(special(&name, "a block device")),
            EntryType::Fifo => return Err(special(&name, "a fifo")),
            other => {
                return Err(special(
                    &name,
                    &format!(
                        "a tar entry of unsupported type {:?}",
                        other.as_byte() as char
                    ),
                ));
            }
        };
        raw.push(RawEntry { name, kind });
        archive::check_entry_count(raw.len() as u64, limits)?;
    }
    Ok(raw)
}

/// Entries that describe other entries and write nothing themselves (a
/// global pax header, as GitHub archives carry; the tar crate folds local
/// pax headers and GNU long names into the entry they describe).
fn is_metadata(entry_type: EntryType) -> bool {
    matches!(
        entry_type,
        EntryType::XGlobalHeader
            | EntryType::XHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink
    )
}

/// An entry that is not a file, directory or link.
fn special(name: &[u8], what: &str) -> SourceError {
    SourceError::unsafe_entry(
        display_name(name),
        format!("it is {what}; only files, directories and links are allowed"),
    )
}

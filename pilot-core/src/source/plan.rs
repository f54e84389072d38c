//! Checking every entry of a source before anything is written.
//!
//! A source (archive, directory, git tree) is first listed as [`RawEntry`]s.
//! [`Plan::check`] turns the list into safe [`Entry`]s or refuses it: names
//! must be plain relative paths, no entry may be written through a symlink or
//! a file, symlinks must resolve inside the release (following other symlinks
//! of the release), hard links must point at an earlier regular file, and the
//! entry count must fit the limit.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::names::{self, RelPath};
use super::{FetchLimits, SourceError};

/// Most symlinks followed while resolving one target.
const MAX_LINK_HOPS: usize = 40;

/// An entry as listed by a source, nothing checked yet.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    /// The name as stored in the source.
    pub(crate) name: Vec<u8>,
    /// What it is.
    pub(crate) kind: RawKind,
}

/// The kinds of entry a source may list.
#[derive(Debug, Clone)]
pub(crate) enum RawKind {
    /// A directory.
    Dir,
    /// A regular file.
    File {
        /// Any executable bit set.
        executable: bool,
    },
    /// A symbolic link with its target.
    Symlink {
        /// The target as stored.
        target: Vec<u8>,
    },
    /// A hard link to another entry, named relative to the archive root.
    HardLink {
        /// The other entry's name as stored.
        target: Vec<u8>,
    },
}

/// A checked entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The name as found in the source (for messages).
    pub(crate) name: String,
    /// Where it goes, relative to the release root.
    pub(crate) path: RelPath,
    /// What it is.
    pub(crate) kind: EntryKind,
}

/// The kinds of checked entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// A directory (mode 0755).
    Dir,
    /// A regular file (mode 0755 when executable, else 0644).
    File {
        /// Any executable bit set.
        executable: bool,
    },
    /// A symlink whose target resolves inside the release.
    Symlink {
        /// The relative target.
        target: String,
    },
    /// A hard link to an earlier regular file of the release.
    HardLink {
        /// The file linked to.
        target: RelPath,
    },
}

/// The checked entries of a source, in source order.
#[derive(Debug)]
pub(crate) struct Plan {
    /// One slot per raw entry; `None` for entries that write nothing (the root).
    entries: Vec<Option<Entry>>,
    /// Distinct paths the release will hold, implied parent directories included.
    count: u64,
}

impl Plan {
    /// Checks `raw`; with `strip_top_dir`, a single top-level directory holding
    /// every entry is removed so that its content becomes the release root.
    pub(crate) fn check(
        raw: &[RawEntry],
        strip_top_dir: bool,
        limits: &FetchLimits,
    ) -> Result<Plan, SourceError> {
        let mut entries = raw.iter().map(normalize).collect::<Result<Vec<_>, _>>()?;
        if strip_top_dir && let Some(top) = single_top_dir(&entries) {
            entries = entries
                .into_iter()
                .map(|entry| entry.map(|e| strip(e, &top)).transpose())
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .map(Option::flatten)
                .collect();
        }
        let by_path = index_by_path(&entries)?;
        let links: HashMap<&RelPath, &str> = entries
            .iter()
            .flatten()
            .filter_map(|e| match &e.kind {
                EntryKind::Symlink { target } => Some((&e.path, target.as_str())),
                _ => None,
            })
            .collect();
        for (index, entry) in entries.iter().enumerate() {
            let Some(entry) = entry else { continue };
            check_parents(entry, &by_path)?;
            match &entry.kind {
                EntryKind::Symlink { target } => resolve_inside(&entry.path, target, &links)
                    .map_err(|reason| SourceError::unsafe_entry(&entry.name, reason))?,
                EntryKind::HardLink { target } => check_hard_link(entry, index, target, &by_path)?,
                EntryKind::Dir | EntryKind::File { .. } => {}
            }
        }
        let count = count_paths(&entries);
        limits.check_files(count)?;
        Ok(Plan { entries, count })
    }

    /// The checked entry for the raw entry at `index`, `None` when it writes nothing.
    pub(crate) fn entry(&self, index: usize) -> Option<&Entry> {
        self.entries.get(index).and_then(Option::as_ref)
    }

    /// Every checked entry, in source order.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().flatten()
    }

    /// Distinct paths the release will hold (files, symlinks, directories).
    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}

/// Checks names and link targets; `None` for a root directory entry (`./`).
fn normalize(raw: &RawEntry) -> Result<Option<Entry>, SourceError> {
    let name = names::display_name(&raw.name);
    let path = names::entry_path(&raw.name).map_err(|r| SourceError::unsafe_entry(&name, r))?;
    let kind = match &raw.kind {
        RawKind::Dir => EntryKind::Dir,
        RawKind::File { executable } => EntryKind::File {
            executable: *executable,
        },
        RawKind::Symlink { target } => EntryKind::Symlink {
            target: names::link_target(target)
                .map_err(|r| SourceError::unsafe_entry(&name, r))?
                .to_owned(),
        },
        RawKind::HardLink { target } => {
            let target = names::entry_path(target)
                .map_err(|r| SourceError::unsafe_entry(&name, format!("hard link target: {r}")))?;
            if target.is_root() {
                return Err(SourceError::unsafe_entry(
                    &name,
                    "hard link to the release root",
                ));
            }
            EntryKind::HardLink { target }
        }
    };
    if path.is_root() {
        return match kind {
            EntryKind::Dir => Ok(None),
            _ => Err(SourceError::unsafe_entry(
                &name,
                "only a directory may have an empty name",
            )),
        };
    }
    Ok(Some(Entry { name, path, kind }))
}

/// The one top-level directory every entry lives in, if there is one.
fn single_top_dir(entries: &[Option<Entry>]) -> Option<String> {
    let mut top: Option<&String> = None;
    for entry in entries.iter().flatten() {
        let first = entry.path.components().first()?;
        if top.is_some_and(|t| t != first) {
            return None;
        }
        if entry.path.components().len() == 1 && entry.kind != EntryKind::Dir {
            return None;
        }
        top = Some(first);
    }
    top.cloned()
}

/// Removes the top-level directory `top` from an entry (and a hard link's target).
fn strip(mut entry: Entry, top: &str) -> Result<Option<Entry>, SourceError> {
    entry.path = entry.path.without_first();
    if let EntryKind::HardLink { target } = &mut entry.kind {
        if target.components().first().map(String::as_str) != Some(top) {
            return Err(SourceError::unsafe_entry(
                &entry.name,
                format!("hard link target {target} is outside the archive's top-level directory"),
            ));
        }
        *target = target.without_first();
        if target.is_root() {
            return Err(SourceError::unsafe_entry(
                &entry.name,
                "hard link to the release root",
            ));
        }
    }
    Ok((!entry.path.is_root()).then_some(entry))
}

/// Maps each path to its first entry; a path may repeat only as a directory.
fn index_by_path(
    entries: &[Option<Entry>],
) -> Result<BTreeMap<&RelPath, (usize, &Entry)>, SourceError> {
    let mut by_path: BTreeMap<&RelPath, (usize, &Entry)> = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let Some(entry) = entry else { continue };
        if let Some((_, first)) = by_path.get(&entry.path) {
            if first.kind == EntryKind::Dir && entry.kind == EntryKind::Dir {
                continue;
            }
            return Err(SourceError::unsafe_entry(
                &entry.name,
                format!("{} appears more than once", entry.path),
            ));
        }
        by_path.insert(&entry.path, (index, entry));
    }
    Ok(by_path)
}

/// Every parent of the entry must be a directory (or not listed at all).
fn check_parents(
    entry: &Entry,
    by_path: &BTreeMap<&RelPath, (usize, &Entry)>,
) -> Result<(), SourceError> {
    for ancestor in entry.path.ancestors() {
        let Some((_, parent)) = by_path.get(&ancestor) else {
            continue;
        };
        let what = match parent.kind {
            EntryKind::Dir => continue,
            EntryKind::Symlink { .. } => "a symlink; writing through a symlink is not allowed",
            EntryKind::File { .. } | EntryKind::HardLink { .. } => "a file, not a directory",
        };
        return Err(SourceError::unsafe_entry(
            &entry.name,
            format!("its parent {ancestor} is {what}"),
        ));
    }
    Ok(())
}

/// Follows `target` from the link's directory, expanding symlinks of the
/// release on the way; fails when any step leaves the release root.
fn resolve_inside(
    link: &RelPath,
    target: &str,
    links: &HashMap<&RelPath, &str>,
) -> Result<(), String> {
    let mut at = link.parent();
    let mut pending: Vec<String> = names::target_components(target)
        .rev()
        .map(str::to_owned)
        .collect();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            if !at.pop() {
                return Err(format!(
                    "symlink target {target:?} points outside the release"
                ));
            }
            continue;
        }
        at.push(part);
        if let Some(next) = links.get(&at) {
            hops += 1;
            if hops > MAX_LINK_HOPS {
                return Err(format!(
                    "symlink target {target:?} is circular or chains too many links"
                ));
            }
            at.pop();
            pending.extend(names::target_components(next).rev().map(str::to_owned));
        }
    }
    Ok(())
}

/// A hard link must name a regular file listed before it.
fn check_hard_link(
    entry: &Entry,
    index: usize,
    target: &RelPath,
    by_path: &BTreeMap<&RelPath, (usize, &Entry)>,
) -> Result<(), SourceError> {
    match by_path.get(target) {
        Some((target_index, target_entry))
            if *target_index < index
                && matches!(
                    target_entry.kind,
                    EntryKind::File { .. } | EntryKind::HardLink { .. }
                ) =>
        {
            Ok(())
        }
        _ => Err(SourceError::unsafe_entry(
            &entry.name,
            format!("hard link target {target} is not a regular file listed before it"),
        )),
    }
}

/// Distinct paths, with implied parent directories.
fn count_paths(entries: &[Option<Entry>]) -> u64 {
    let mut paths: HashSet<RelPath> = HashSet::new();
    for entry in entries.iter().flatten() {
        paths.extend(entry.path.ancestors());
        paths.insert(entry.path.clone());
    }
    paths.len() as u64
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

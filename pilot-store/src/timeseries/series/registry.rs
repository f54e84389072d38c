//! [`Registry`]: every known series, by id and by identity, in a few
//! integers per series (under 50 bytes for an agent's series, against about
//! 680 when each series held its own strings and label map).
//!
//! Strings and label sets are interned, a series is an [`Entry`] of 24
//! bytes, and the two indexes are hash tables of 32-bit slots that compare
//! against the entries instead of holding a second copy of the keys. Each
//! entry links to the previous series of its node, for `of_node` and
//! selections on one node.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::Arc;

use hashbrown::HashTable;

use super::intern::{LabelSet, LabelSets, Strings, Sym, index_u32};
use super::{SeriesInfo, SeriesSelector, hash_identity, identity_hash};
use crate::timeseries::idmap::IdHasher;

/// Position of a series in [`Catalog::entries`].
type Slot = u32;

/// No series: the end of a node's list.
const NO_SLOT: Slot = u32::MAX;

/// One series.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: i64,
    node: Sym,
    name: Sym,
    labels: LabelSet,
    /// The series of the same node registered before this one, or [`NO_SLOT`].
    earlier: Slot,
}

const _: () = assert!(size_of::<Entry>() == 24, "a series entry takes 24 bytes");

/// Hash of a series id (ids come from the database, not from clients).
fn id_hash(id: i64) -> u64 {
    BuildHasherDefault::<IdHasher>::default().hash_one(id)
}

/// The series and the strings they are made of.
#[derive(Debug, Default)]
struct Catalog {
    strings: Strings,
    label_sets: LabelSets,
    entries: Vec<Entry>,
}

impl Catalog {
    fn entry(&self, slot: Slot) -> &Entry {
        &self.entries[slot as usize]
    }

    /// [`identity_hash`] of a stored series.
    fn identity_hash(&self, slot: Slot) -> u64 {
        let e = self.entry(slot);
        let labels = self.label_sets.get(e.labels).iter();
        hash_identity(
            self.strings.get(e.node),
            self.strings.get(e.name),
            labels.map(|&(k, v)| (self.strings.get(k), self.strings.get(v))),
        )
    }

    /// Whether a stored series has exactly this node, name and label map.
    fn is(&self, slot: Slot, node: &str, name: &str, labels: &BTreeMap<String, String>) -> bool {
        let e = self.entry(slot);
        let pairs = self.label_sets.get(e.labels);
        self.strings.get(e.name) == name
            && self.strings.get(e.node) == node
            && pairs.len() == labels.len()
            && pairs.iter().zip(labels).all(|(&(k, v), (key, value))| {
                self.strings.get(k) == key && self.strings.get(v) == value
            })
    }

    /// Whether a label set holds every required (key, value) pair.
    fn has_labels(&self, set: LabelSet, required: &[(Sym, Sym)]) -> bool {
        let pairs = self.label_sets.get(set);
        required.iter().all(|pair| pairs.contains(pair))
    }

    /// A stored series, built.
    fn info(&self, slot: Slot) -> SeriesInfo {
        let e = self.entry(slot);
        let text = |sym| self.strings.get(sym).to_owned();
        SeriesInfo {
            id: e.id,
            node: text(e.node),
            name: text(e.name),
            labels: self
                .label_sets
                .get(e.labels)
                .iter()
                .map(|&(k, v)| (text(k), text(v)))
                .collect(),
        }
    }
}

/// Every known series, by id and by identity.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    catalog: Catalog,
    /// Slots, keyed by [`id_hash`] of their id.
    by_id: HashTable<Slot>,
    /// Slots, keyed by [`identity_hash`].
    by_identity: HashTable<Slot>,
    /// The last series registered on each node, by node symbol ([`NO_SLOT`]
    /// or absent for symbols that name no node).
    node_last: Vec<Slot>,
}

impl Registry {
    /// The id of a series, if known: node, name and the whole label map must
    /// match. Of several ids with one identity, the first registered wins.
    pub fn lookup(&self, node: &str, name: &str, labels: &BTreeMap<String, String>) -> Option<i64> {
        let hash = identity_hash(node, name, labels);
        let slot = self
            .by_identity
            .iter_hash(hash)
            .copied()
            .filter(|&slot| self.catalog.is(slot, node, name, labels))
            .min()?;
        Some(self.catalog.entry(slot).id)
    }

    /// The node of a series, if known.
    pub fn node_of(&self, id: i64) -> Option<&str> {
        let slot = self.slot_of(id)?;
        Some(self.catalog.strings.get(self.catalog.entry(slot).node))
    }

    /// Adds a series; a known id takes the new identity.
    pub fn insert(&mut self, info: SeriesInfo) {
        let strings = &mut self.catalog.strings;
        let node = strings.intern(&info.node);
        let name = strings.intern(&info.name);
        let pairs: Vec<(Sym, Sym)> = info
            .labels
            .iter()
            .map(|(k, v)| (strings.intern(k), strings.intern(v)))
            .collect();
        let labels = self.catalog.label_sets.intern(&pairs);
        let hash = identity_hash(&info.node, &info.name, &info.labels);
        if let Some(slot) = self.slot_of(info.id) {
            let old = *self.catalog.entry(slot);
            if (old.node, old.name, old.labels) != (node, name, labels) {
                self.detach(slot);
                let e = &mut self.catalog.entries[slot as usize];
                (e.node, e.name, e.labels) = (node, name, labels);
                self.attach(slot, hash);
            }
            return;
        }
        let slot = index_u32(self.catalog.entries.len(), "series");
        self.catalog.entries.push(Entry {
            id: info.id,
            node,
            name,
            labels,
            earlier: NO_SLOT,
        });
        let catalog = &self.catalog;
        self.by_id
            .insert_unique(id_hash(info.id), slot, |&s| id_hash(catalog.entry(s).id));
        self.attach(slot, hash);
    }

    /// The selected series, by id.
    pub fn select(&self, selector: &SeriesSelector) -> Vec<Arc<SeriesInfo>> {
        let c = &self.catalog;
        // A string never interned is carried by no series.
        let Some(name) = c.strings.find(&selector.name) else {
            return Vec::new();
        };
        let required: Option<Vec<(Sym, Sym)>> = selector
            .labels
            .iter()
            .map(|(k, v)| Some((c.strings.find(k)?, c.strings.find(v)?)))
            .collect();
        let Some(required) = required else {
            return Vec::new();
        };
        let wanted = |slot: &Slot| {
            let e = c.entry(*slot);
            e.name == name && c.has_labels(e.labels, &required)
        };
        let slots = match &selector.node {
            Some(node) => match c.strings.find(node) {
                Some(node) => self.node_slots(node).filter(wanted).collect(),
                None => Vec::new(),
            },
            None => (0..c.entries.len() as Slot).filter(wanted).collect(),
        };
        self.build(slots)
    }

    /// Every series id.
    pub fn ids(&self) -> Vec<i64> {
        self.catalog.entries.iter().map(|e| e.id).collect()
    }

    /// Every series of a node, by id.
    pub fn of_node(&self, node: &str) -> Vec<Arc<SeriesInfo>> {
        match self.catalog.strings.find(node) {
            Some(node) => self.build(self.node_slots(node).collect()),
            None => Vec::new(),
        }
    }

    fn slot_of(&self, id: i64) -> Option<Slot> {
        let c = &self.catalog;
        self.by_id
            .find(id_hash(id), |&s| c.entry(s).id == id)
            .copied()
    }

    /// The slots of a node's series, last registered first.
    fn node_slots(&self, node: Sym) -> impl Iterator<Item = Slot> + '_ {
        let last = self.node_last.get(node.index()).copied();
        let present = |slot: Slot| Some(slot).filter(|&s| s != NO_SLOT);
        std::iter::successors(last.and_then(present), move |&slot| {
            present(self.catalog.entry(slot).earlier)
        })
    }

    /// The series at `slots`, built, by id.
    fn build(&self, mut slots: Vec<Slot>) -> Vec<Arc<SeriesInfo>> {
        slots.sort_unstable_by_key(|&s| self.catalog.entry(s).id);
        slots
            .into_iter()
            .map(|s| Arc::new(self.catalog.info(s)))
            .collect()
    }

    /// Links a stored series into its node's list and the identity index;
    /// `hash` is its [`identity_hash`].
    fn attach(&mut self, slot: Slot, hash: u64) {
        let node = self.catalog.entry(slot).node.index();
        if self.node_last.len() <= node {
            self.node_last.resize(node + 1, NO_SLOT);
        }
        self.catalog.entries[slot as usize].earlier = self.node_last[node];
        self.node_last[node] = slot;
        let catalog = &self.catalog;
        self.by_identity
            .insert_unique(hash, slot, |&s| catalog.identity_hash(s));
    }

    /// Unlinks a stored series from its node's list and the identity index.
    fn detach(&mut self, slot: Slot) {
        let hash = self.catalog.identity_hash(slot);
        if let Ok(found) = self.by_identity.find_entry(hash, |&s| s == slot) {
            found.remove();
        }
        let e = *self.catalog.entry(slot);
        let node = e.node.index();
        if self.node_last[node] == slot {
            self.node_last[node] = e.earlier;
            return;
        }
        let mut at = self.node_last[node];
        while at != NO_SLOT {
            let next = self.catalog.entry(at).earlier;
            if next == slot {
                self.catalog.entries[at as usize].earlier = e.earlier;
                return;
            }
            at = next;
        }
    }
}

#[cfg(test)]
impl Registry {
    /// How many distinct strings the registry holds.
    pub(super) fn strings_len(&self) -> usize {
        self.catalog.strings.len()
    }

    /// How many distinct label sets the registry holds.
    pub(super) fn label_sets_len(&self) -> usize {
        self.catalog.label_sets.len()
    }

    /// The identity hash of a series as computed from its stored parts.
    pub(super) fn stored_identity_hash(&self, id: i64) -> Option<u64> {
        Some(self.catalog.identity_hash(self.slot_of(id)?))
    }
}

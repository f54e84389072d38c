//! Interned strings and label sets: each distinct string (node name, metric
//! name, label key or value) and each distinct label set is stored once and
//! named by a 32-bit symbol, so a series costs a few integers.

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

/// A position in a table of at most `u32::MAX` entries.
///
/// Every entry takes memory (a string takes at least its 8-byte end offset,
/// a series 24 bytes), so a table outgrows memory long before it outgrows
/// 32 bits; reaching the limit is a bug, not an input error.
pub(super) fn index_u32(len: usize, what: &str) -> u32 {
    u32::try_from(len)
        .ok()
        .filter(|&i| i != u32::MAX)
        .unwrap_or_else(|| panic!("the series registry holds at most {} {what}", u32::MAX))
}

/// A string of a [`Strings`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Sym(u32);

impl Sym {
    /// The symbol's position, e.g. to index a table beside the strings.
    pub(super) fn index(self) -> usize {
        self.0 as usize
    }
}

/// Every distinct string, stored end to end in one buffer.
#[derive(Debug, Default)]
pub(super) struct Strings {
    text: String,
    /// End of each string in `text`; it starts where the previous one ends.
    ends: Vec<usize>,
    /// Symbols, keyed by the hash of their text.
    index: HashTable<Sym>,
    hasher: RandomState,
}

impl Strings {
    /// The text of a symbol of this table.
    pub(super) fn get(&self, sym: Sym) -> &str {
        text_of(&self.text, &self.ends, sym)
    }

    /// The symbol of a string, if interned.
    pub(super) fn find(&self, s: &str) -> Option<Sym> {
        let hash = self.hasher.hash_one(s);
        self.index
            .find(hash, |&sym| text_of(&self.text, &self.ends, sym) == s)
            .copied()
    }

    /// The symbol of a string, interning it if new.
    pub(super) fn intern(&mut self, s: &str) -> Sym {
        let hash = self.hasher.hash_one(s);
        let Strings {
            text,
            ends,
            index,
            hasher,
        } = self;
        let entry = index.entry(
            hash,
            |&sym| text_of(text, ends, sym) == s,
            |&sym| hasher.hash_one(text_of(text, ends, sym)),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(found) => *found.get(),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                let sym = Sym(index_u32(ends.len(), "distinct strings"));
                text.push_str(s);
                ends.push(text.len());
                slot.insert(sym);
                sym
            }
        }
    }

    /// How many distinct strings the table holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }
}

/// The text of `sym` in a buffer of strings stored end to end.
fn text_of<'a>(text: &'a str, ends: &[usize], sym: Sym) -> &'a str {
    let i = sym.index();
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &text[start..ends[i]]
}

/// A label set of a [`LabelSets`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LabelSet(u32);

/// Every distinct label set, as (key, value) symbol pairs in key order,
/// stored end to end. Many series share one set (`{"device": "eth0"}`, none).
#[derive(Debug, Default)]
pub(super) struct LabelSets {
    pairs: Vec<(Sym, Sym)>,
    /// End of each set in `pairs`; it starts where the previous one ends.
    ends: Vec<usize>,
    /// Sets, keyed by the hash of their pairs.
    index: HashTable<LabelSet>,
    hasher: RandomState,
}

impl LabelSets {
    /// The pairs of a set of this table, in key order.
    pub(super) fn get(&self, set: LabelSet) -> &[(Sym, Sym)] {
        pairs_of(&self.pairs, &self.ends, set)
    }

    /// The set of these pairs (in key order), interning it if new.
    pub(super) fn intern(&mut self, set_pairs: &[(Sym, Sym)]) -> LabelSet {
        let hash = self.hasher.hash_one(set_pairs);
        let LabelSets {
            pairs,
            ends,
            index,
            hasher,
        } = self;
        let entry = index.entry(
            hash,
            |&set| pairs_of(pairs, ends, set) == set_pairs,
            |&set| hasher.hash_one(pairs_of(pairs, ends, set)),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(found) => *found.get(),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                let set = LabelSet(index_u32(ends.len(), "distinct label sets"));
                pairs.extend_from_slice(set_pairs);
                ends.push(pairs.len());
                slot.insert(set);
                set
            }
        }
    }

    /// How many distinct sets the table holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }
}

/// The pairs of `set` in a buffer of sets stored end to end.
fn pairs_of<'a>(pairs: &'a [(Sym, Sym)], ends: &[usize], set: LabelSet) -> &'a [(Sym, Sym)] {
    let i = set.0 as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &pairs[start..ends[i]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_stored_once() {
        let mut s = Strings::default();
        let a = s.intern("node-00042");
        let b = s.intern("cpu_percent");
        let empty = s.intern("");
        assert_eq!(s.intern("node-00042"), a);
        assert_ne!(a, b);
        assert_eq!(s.len(), 3);
        assert_eq!(s.get(a), "node-00042");
        assert_eq!(s.get(b), "cpu_percent");
        assert_eq!(s.get(empty), "");
        assert_eq!(s.find("cpu_percent"), Some(b));
        assert_eq!(s.find("cpu"), None);
    }

    #[test]
    fn strings_survive_growth() {
        let mut s = Strings::default();
        let syms: Vec<Sym> = (0..5000).map(|i| s.intern(&format!("s{i}"))).collect();
        for (i, &sym) in syms.iter().enumerate() {
            assert_eq!(s.get(sym), format!("s{i}"));
            assert_eq!(s.find(&format!("s{i}")), Some(sym));
        }
        assert_eq!(s.len(), 5000);
    }

    #[test]
    fn label_sets_are_stored_once() {
        let mut s = Strings::default();
        let device = (s.intern("device"), s.intern("eth0"));
        let mount = (s.intern("mount"), s.intern("/"));
        let mut sets = LabelSets::default();
        let none = sets.intern(&[]);
        let one = sets.intern(&[device]);
        let two = sets.intern(&[device, mount]);
        assert_eq!(sets.intern(&[device]), one);
        assert_eq!(sets.intern(&[]), none);
        assert_ne!(one, two);
        assert_eq!(sets.len(), 3);
        assert_eq!(sets.get(none), &[]);
        assert_eq!(sets.get(two), &[device, mount]);
    }
}

//! Interned strings and label sets: each distinct string (node name, metric
//! name, label key or value) and each distinct label set is stored once and
//! named by a 32-bit symbol, so a series costs a few integers.

use std::hash::BuildHasher;
use std::ops::Range;

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

/// A buffer that stores items end to end: `str`s in a `String`, slices in
/// a `Vec`.
trait Slab: Default {
    /// One stored item.
    type Item: ?Sized + std::hash::Hash + Eq;
    /// The item stored in `range`.
    fn slice(&self, range: Range<usize>) -> &Self::Item;
    /// Appends an item; returns the buffer's new length.
    fn append(&mut self, item: &Self::Item) -> usize;
}

impl Slab for String {
    type Item = str;

    fn slice(&self, range: Range<usize>) -> &str {
        &self[range]
    }

    fn append(&mut self, item: &str) -> usize {
        self.push_str(item);
        self.len()
    }
}

impl<T: Copy + std::hash::Hash + Eq> Slab for Vec<T> {
    type Item = [T];

    fn slice(&self, range: Range<usize>) -> &[T] {
        &self[range]
    }

    fn append(&mut self, item: &[T]) -> usize {
        self.extend_from_slice(item);
        self.len()
    }
}

/// Every distinct item, stored once end to end and named by its position.
#[derive(Debug, Default)]
struct Interner<B> {
    buffer: B,
    /// End of each item in `buffer`; it starts where the previous one ends.
    ends: Vec<usize>,
    /// Positions, keyed by the hash of their item.
    index: HashTable<u32>,
    hasher: RandomState,
}

impl<B: Slab> Interner<B> {
    fn get(&self, at: u32) -> &B::Item {
        item_of(&self.buffer, &self.ends, at)
    }

    fn find(&self, item: &B::Item) -> Option<u32> {
        let hash = self.hasher.hash_one(item);
        self.index
            .find(hash, |&at| item_of(&self.buffer, &self.ends, at) == item)
            .copied()
    }

    /// The position of `item`, interning it if new; `what` names the
    /// table's items for the message when it is full.
    fn intern(&mut self, item: &B::Item, what: &str) -> u32 {
        let hash = self.hasher.hash_one(item);
        let Interner {
            buffer,
            ends,
            index,
            hasher,
        } = self;
        let entry = index.entry(
            hash,
            |&at| item_of(buffer, ends, at) == item,
            |&at| hasher.hash_one(item_of(buffer, ends, at)),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(found) => *found.get(),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                let at = index_u32(ends.len(), what);
                ends.push(buffer.append(item));
                slot.insert(at);
                at
            }
        }
    }
}

/// The item at position `at` of a buffer of items stored end to end.
fn item_of<'a, B: Slab>(buffer: &'a B, ends: &[usize], at: u32) -> &'a B::Item {
    let i = at as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    buffer.slice(start..ends[i])
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
pub(super) struct Strings(Interner<String>);

impl Strings {
    /// The text of a symbol of this table.
    pub(super) fn get(&self, sym: Sym) -> &str {
        self.0.get(sym.0)
    }

    /// The symbol of a string, if interned.
    pub(super) fn find(&self, s: &str) -> Option<Sym> {
        self.0.find(s).map(Sym)
    }

    /// The symbol of a string, interning it if new.
    pub(super) fn intern(&mut self, s: &str) -> Sym {
        Sym(self.0.intern(s, "distinct strings"))
    }

    /// How many distinct strings the table holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.ends.len()
    }
}

/// A label set of a [`LabelSets`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LabelSet(u32);

/// Every distinct label set, as (key, value) symbol pairs in key order,
/// stored end to end. Many series share one set (`{"device": "eth0"}`, none).
#[derive(Debug, Default)]
pub(super) struct LabelSets(Interner<Vec<(Sym, Sym)>>);

impl LabelSets {
    /// The pairs of a set of this table, in key order.
    pub(super) fn get(&self, set: LabelSet) -> &[(Sym, Sym)] {
        self.0.get(set.0)
    }

    /// The set of these pairs (in key order), interning it if new.
    pub(super) fn intern(&mut self, pairs: &[(Sym, Sym)]) -> LabelSet {
        LabelSet(self.0.intern(pairs, "distinct label sets"))
    }

    /// How many distinct sets the table holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.ends.len()
    }
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

//! Decoded raw samples of compacted blocks, per series and window, for
//! queries that read the same recent ranges again and again (a dashboard).
//!
//! Entries are filled by queries under the store's view lock and the whole
//! cache is emptied by every compaction that writes or removes blocks,
//! under the same lock held exclusively, so a query never sees a stale
//! entry. When full, the cache is emptied too (simple and bounded).

use std::collections::HashMap;
use std::sync::Arc;

/// Samples of one series in one window, sorted.
pub(crate) type Samples = Arc<Vec<(i64, f64)>>;

/// Most samples kept (about 16 MB).
const MAX_SAMPLES: usize = 1 << 20;

/// The cache: (series id, window start) → decoded samples (empty when the
/// window has no block for the series).
#[derive(Debug, Default)]
pub(crate) struct BlockCache {
    entries: HashMap<(i64, i64), Samples>,
    samples: usize,
}

impl BlockCache {
    /// The samples of every window in `starts`, if all are cached.
    pub fn get_all(&self, series: i64, starts: &[i64]) -> Option<Vec<Samples>> {
        starts
            .iter()
            .map(|&start| self.entries.get(&(series, start)).cloned())
            .collect()
    }

    /// Remembers the samples of a window.
    pub fn insert(&mut self, series: i64, start: i64, samples: Samples) {
        if self.samples + samples.len() > MAX_SAMPLES {
            self.clear();
        }
        self.samples += samples.len();
        if let Some(old) = self.entries.insert((series, start), samples) {
            self.samples -= old.len();
        }
    }

    /// Forgets everything (blocks were written or removed).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.samples = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_need_every_window_and_clearing_forgets() {
        let mut cache = BlockCache::default();
        cache.insert(1, 0, Arc::new(vec![(5, 1.0)]));
        cache.insert(1, 100, Arc::new(Vec::new()));
        let hit = cache.get_all(1, &[0, 100]).unwrap();
        assert_eq!(*hit[0], [(5, 1.0)]);
        assert!(hit[1].is_empty());
        assert!(cache.get_all(1, &[0, 100, 200]).is_none());
        assert!(cache.get_all(2, &[0]).is_none());
        cache.clear();
        assert!(cache.get_all(1, &[0]).is_none());
    }

    #[test]
    fn a_full_cache_starts_over() {
        let mut cache = BlockCache::default();
        cache.insert(1, 0, Arc::new(vec![(0, 0.0); MAX_SAMPLES]));
        cache.insert(2, 0, Arc::new(vec![(0, 0.0); 10]));
        assert!(cache.get_all(1, &[0]).is_none());
        assert_eq!(cache.get_all(2, &[0]).unwrap()[0].len(), 10);
    }
}

//! The flow index: keys and their state in one array of slots, open
//! addressing with linear probing. The slot a key's search starts from
//! follows from its hash alone, so a caller can load the slots of a run of
//! packets together ([`FlowIndex::touch`]) and let their cache misses
//! overlap, where a general hash map would stall on each in turn.
//!
//! Guarantees: entries are never removed; the table doubles before it is
//! three quarters full, so a search always ends at a free slot; lookups are
//! exact (the hash only chooses where to start). Each index hashes with a
//! seed of its own, so a capture crafted to make flows collide cannot know
//! where they fall (the order of entries is never shown to anyone).

use std::hash::{BuildHasher, Hash};

/// A hash map from `K` to `V` for the hot path (see the module doc).
#[derive(Clone, Debug)]
pub struct FlowIndex<K, V> {
    slots: Vec<Slot<K, V>>,
    len: usize,
    seed: foldhash::fast::RandomState,
}

/// One slot, aligned to a cache line so that it spans as few as it can.
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Slot<K, V>(Option<(K, V)>);

impl<K, V> Default for FlowIndex<K, V> {
    fn default() -> Self {
        FlowIndex {
            slots: Vec::new(),
            len: 0,
            seed: foldhash::fast::RandomState::default(),
        }
    }
}

/// Smallest table allocated.
const MIN_SLOTS: usize = 64;

impl<K: Copy + Eq + Hash, V> FlowIndex<K, V> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hash of `key` in this index, for [`Self::touch`] and the lookups.
    #[inline]
    pub fn hash(&self, key: &K) -> u64 {
        self.seed.hash_one(key)
    }

    /// The slot where the search for `hash` starts.
    #[inline]
    fn home(&self, hash: u64) -> usize {
        // The high bits: foldhash mixes them best.
        (hash >> 32) as usize & (self.slots.len() - 1)
    }

    /// Starts loading the slot where the search for `hash` starts, without
    /// waiting for it: call it for several keys before looking them up.
    #[inline]
    pub fn touch(&self, hash: u64) {
        if !self.slots.is_empty() {
            super::prefetch::prefetch(&self.slots[self.home(hash)]);
        }
    }

    /// Position of `key` (hash `hash`), or of the free slot that ends its search.
    #[inline]
    fn find(&self, key: &K, hash: u64) -> (usize, bool) {
        let mask = self.slots.len() - 1;
        let mut at = self.home(hash);
        loop {
            match &self.slots[at].0 {
                Some((k, _)) if k == key => return (at, true),
                Some(_) => at = (at + 1) & mask,
                None => return (at, false),
            }
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        if self.slots.is_empty() {
            return None;
        }
        match self.find(key, self.hash(key)) {
            (at, true) => self.slots[at].0.as_ref().map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &K, hash: u64) -> Option<&mut V> {
        if self.slots.is_empty() {
            return None;
        }
        match self.find(key, hash) {
            (at, true) => self.slots[at].0.as_mut().map(|(_, v)| v),
            _ => None,
        }
    }

    /// The state of `key` (hash `hash`, from [`Self::hash`]); when absent,
    /// `make` gives it (or refuses it with `None`, leaving the index unchanged).
    #[inline]
    pub fn get_or_insert_with(
        &mut self,
        key: K,
        hash: u64,
        make: impl FnOnce() -> Option<V>,
    ) -> Option<&mut V> {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let (at, found) = self.find(&key, hash);
        if !found {
            self.slots[at].0 = Some((key, make()?));
            self.len += 1;
        }
        self.slots[at].0.as_mut().map(|(_, v)| v)
    }

    /// Doubles the table (or allocates the first one).
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, (0..size).map(|_| Slot(None)).collect());
        for (key, value) in old.into_iter().filter_map(|s| s.0) {
            let (at, _) = self.find(&key, self.hash(&key));
            self.slots[at].0 = Some((key, value));
        }
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.slots
            .iter()
            .filter_map(|s| s.0.as_ref())
            .map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.slots
            .iter_mut()
            .filter_map(|s| s.0.as_mut())
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_key_it_was_given_through_growth_and_refusals() {
        let mut index: FlowIndex<u64, u64> = FlowIndex::default();
        assert_eq!(index.get(&1), None);
        for k in 0..10_000u64 {
            let v = index.get_or_insert_with(k * 7919, index.hash(&(k * 7919)), || Some(k));
            assert_eq!(v.copied(), Some(k));
        }
        // A refused key leaves the index as it was.
        assert!(
            index
                .get_or_insert_with(3, index.hash(&3), || None)
                .is_none()
        );
        assert_eq!(index.get(&3), None);
        assert_eq!(index.len(), 10_000);
        for k in 0..10_000u64 {
            assert_eq!(index.get(&(k * 7919)), Some(&k), "key {}", k * 7919);
            // Present keys are found again, not inserted twice.
            let again = index.get_or_insert_with(k * 7919, index.hash(&(k * 7919)), || Some(0));
            assert_eq!(again.copied(), Some(k));
        }
        assert_eq!(index.len(), 10_000);
        assert_eq!(index.values().count(), 10_000);
        for v in index.values_mut() {
            *v += 1;
        }
        assert_eq!(index.get_mut(&7919, index.hash(&7919)).copied(), Some(2));
        index.touch(index.hash(&5));
    }

    #[test]
    fn keys_whose_hashes_start_at_the_same_slot_are_told_apart() {
        // Every key hashes to the same place: the search walks on.
        #[derive(Clone, Copy, PartialEq, Eq)]
        struct Same(u32);
        impl Hash for Same {
            fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
                h.write_u8(0);
            }
        }
        let mut index: FlowIndex<Same, u32> = FlowIndex::default();
        for k in 0..100 {
            index.get_or_insert_with(Same(k), index.hash(&Same(k)), || Some(k));
        }
        for k in 0..100 {
            assert_eq!(index.get(&Same(k)), Some(&k));
        }
        assert_eq!(index.get(&Same(100)), None);
    }
}

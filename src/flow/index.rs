//! The flow index: a hash map for the hot path. The entries (key and
//! state) sit in one array in the order they were added; a small table of
//! slots, open addressing with linear probing, says where each is. A slot
//! is 8 bytes: the entry's position and the high half of its key's hash,
//! which picks the slot a search starts from and is compared before the
//! key. The slot a key's search starts from follows from its hash alone, so
//! a caller can load the state of a run of packets together
//! ([`FlowIndex::touch`]) and let their cache misses overlap, where a
//! general hash map would stall on each in turn.
//!
//! Why two arrays: with the state in the slots, each doubling of the table
//! wrote every entry into fresh memory again (8 MB over the 2-million-frame
//! replay for a final 4 MB, at a quarter empty); now the slots double (256
//! KiB for 17 000 flows) and the entries are written once, where room for
//! them was reserved.
//!
//! Guarantees: entries are never removed or moved; the slots double before
//! they are three quarters full, so a search always ends at a free slot;
//! lookups are exact (the hash only chooses where to start and what to
//! compare first). Each index hashes with a seed of its own, so a capture
//! crafted to make flows collide cannot know where they fall.

use std::hash::{BuildHasher, Hash};

/// A hash map from `K` to `V` for the hot path (see the module doc).
#[derive(Clone, Debug)]
pub struct FlowIndex<K, V> {
    slots: Vec<Slot>,
    entries: Vec<Entry<K, V>>,
    seed: foldhash::fast::RandomState,
}

/// Where an entry is ([`FREE`] for none), and the high half of its hash.
#[derive(Clone, Copy, Debug)]
struct Slot {
    entry: u32,
    tag: u32,
}

const FREE: u32 = u32::MAX;

/// A key and its state, aligned to a cache line so that it spans as few as
/// it can.
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Entry<K, V> {
    key: K,
    value: V,
}

impl<K, V> Default for FlowIndex<K, V> {
    fn default() -> Self {
        FlowIndex {
            slots: Vec::new(),
            entries: Vec::new(),
            seed: foldhash::fast::RandomState::default(),
        }
    }
}

/// Smallest table of slots allocated.
const MIN_SLOTS: usize = 64;

/// The part of a hash kept in a slot: the high half, which foldhash mixes best.
#[inline]
fn tag_of(hash: u64) -> u32 {
    (hash >> 32) as u32
}

impl<K: Copy + Eq + Hash, V> FlowIndex<K, V> {
    /// An index with room for `entries` reserved (backed only as it fills).
    /// Beyond that the entries grow as a vector does.
    pub fn with_capacity(entries: usize) -> Self {
        FlowIndex {
            entries: Vec::with_capacity(entries.min(FREE as usize)),
            ..FlowIndex::default()
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The hash of `key` in this index, for [`Self::touch`] and the lookups.
    #[inline]
    pub fn hash(&self, key: &K) -> u64 {
        self.seed.hash_one(key)
    }

    /// The slot where the search for a key with tag `tag` starts.
    #[inline]
    fn home(&self, tag: u32) -> usize {
        tag as usize & (self.slots.len() - 1)
    }

    /// Starts loading the state of the key whose hash is `hash`, without
    /// waiting for it: call it for several keys before looking them up. The
    /// slots are few enough to stay in cache; the entry asked for is the
    /// one the search will most likely end at (that of the first slot whose
    /// tag matches), whose position is returned: a hint for
    /// [`Self::get_or_insert_hinted`].
    #[inline]
    pub fn touch(&self, hash: u64) -> Option<u32> {
        let at = self.likely(hash)?;
        super::prefetch::prefetch(self.entries.get(at)?);
        Some(at as u32)
    }

    /// The entry of the first slot from the key's home on whose tag matches,
    /// found from the slots alone: the key's, but for a tag shared by chance.
    /// At half full a third of the keys lie past their home slot, and asking
    /// for the home slot's entry alone left their state to miss the cache.
    #[inline]
    fn likely(&self, hash: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        self.search(hash, |_| true).ok()
    }

    /// The position in `entries` of `key` (hash `hash`), or of the free slot
    /// that ends its search.
    #[inline]
    fn find(&self, key: &K, hash: u64) -> Result<usize, usize> {
        self.search(hash, |entry| self.entries[entry].key == *key)
    }

    /// Walks the slots from the home of `hash`'s tag to the first whose tag
    /// matches and whose entry `is_it` accepts (its entry's position), or to
    /// a free slot (that slot's position).
    #[inline]
    fn search(&self, hash: u64, is_it: impl Fn(usize) -> bool) -> Result<usize, usize> {
        let tag = tag_of(hash);
        let mask = self.slots.len() - 1;
        let mut at = self.home(tag);
        loop {
            let slot = self.slots[at];
            if slot.entry == FREE {
                return Err(at);
            }
            if slot.tag == tag && is_it(slot.entry as usize) {
                return Ok(slot.entry as usize);
            }
            at = (at + 1) & mask;
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        if self.slots.is_empty() {
            return None;
        }
        let entry = self.find(key, self.hash(key)).ok()?;
        Some(&self.entries[entry].value)
    }

    pub fn get_mut(&mut self, key: &K, hash: u64) -> Option<&mut V> {
        if self.slots.is_empty() {
            return None;
        }
        let entry = self.find(key, hash).ok()?;
        Some(&mut self.entries[entry].value)
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
        if (self.entries.len() + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let entry = match self.find(&key, hash) {
            Ok(entry) => entry,
            Err(free) => {
                // Positions are u32: past that many entries, refuse.
                let entry = u32::try_from(self.entries.len())
                    .ok()
                    .filter(|&e| e != FREE)?;
                let value = make()?;
                self.entries.push(Entry { key, value });
                self.slots[free] = Slot {
                    entry,
                    tag: tag_of(hash),
                };
                entry as usize
            }
        };
        Some(&mut self.entries[entry].value)
    }

    /// [`Self::get_or_insert_with`], first trying the entry at `hint` (what
    /// [`Self::touch`] returned for this key): when it holds the key, as it
    /// nearly always does, no slot is looked at again. Entries never move,
    /// so a hint stays good while the index grows.
    #[inline]
    pub fn get_or_insert_hinted(
        &mut self,
        key: K,
        hash: u64,
        hint: Option<u32>,
        make: impl FnOnce() -> Option<V>,
    ) -> Option<&mut V> {
        let hinted = hint.map(|at| at as usize);
        match hinted.filter(|&at| self.entries.get(at).is_some_and(|e| e.key == key)) {
            Some(at) => Some(&mut self.entries[at].value),
            None => self.get_or_insert_with(key, hash, make),
        }
    }

    /// Doubles the slots (or allocates the first ones). Each slot moves by
    /// its tag alone: no key is hashed or read again.
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = std::mem::replace(
            &mut self.slots,
            vec![
                Slot {
                    entry: FREE,
                    tag: 0
                };
                size
            ],
        );
        let mask = size - 1;
        for slot in old.into_iter().filter(|s| s.entry != FREE) {
            let mut at = self.home(slot.tag);
            while self.slots[at].entry != FREE {
                at = (at + 1) & mask;
            }
            self.slots[at] = slot;
        }
    }

    /// Backs the next pages of the entries' reserved room (`flow/warm.rs`).
    pub fn warm(&mut self, warmed: &mut super::warm::Warmed) -> bool {
        warmed.step(&mut self.entries)
    }

    /// The states, in the order their keys were added.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|e| &e.value)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|e| &mut e.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_key_it_was_given_through_growth_and_refusals() {
        let mut index: FlowIndex<u64, u64> = FlowIndex::with_capacity(100);
        assert_eq!(index.get(&1), None);
        index.touch(index.hash(&1));
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
        // The states come in the order their keys were added, growth or not.
        assert!(index.values().copied().eq(0..10_000));
        for v in index.values_mut() {
            *v += 1;
        }
        assert_eq!(index.get_mut(&7919, index.hash(&7919)).copied(), Some(2));
        index.touch(index.hash(&5));
    }

    #[test]
    fn the_entry_asked_for_ahead_is_the_one_the_search_finds() {
        // Scattered keys (consecutive integers can fill the slots in order).
        let keys: Vec<u64> = (1..=20_000u64)
            .map(|k| k.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29) ^ k)
            .collect();
        let mut index: FlowIndex<u64, u64> = FlowIndex::with_capacity(0);
        for &k in &keys {
            index.get_or_insert_with(k, index.hash(&k), || Some(k));
        }
        assert!(index.entries.len() * 2 >= index.slots.len(), "half full");
        let mut past_home = 0;
        for k in &keys {
            let hash = index.hash(k);
            let found = index.find(k, hash).ok();
            // Another key may share the tag by chance (1 in 2^32 a pair).
            let likely = index.likely(hash);
            let shared = likely.is_some_and(|at| {
                let other = index.entries[at].key;
                other != *k && tag_of(index.hash(&other)) == tag_of(hash)
            });
            assert!(likely == found || shared, "key {k}");
            let home = index.slots[index.home(tag_of(hash))].entry as usize;
            past_home += usize::from(Some(home) != found);
        }
        assert!(past_home > 2_000, "{past_home} keys past their home slot");
        assert_eq!(index.likely(index.hash(&0)), None, "an absent key");
    }

    #[test]
    fn a_hint_that_names_another_entry_or_none_changes_nothing() {
        let mut index: FlowIndex<u64, u64> = FlowIndex::with_capacity(0);
        for k in 0..1_000u64 {
            let hash = index.hash(&k);
            // Not there yet: no hint, or one to a key with the same tag.
            let hint = index.touch(hash);
            let v = index.get_or_insert_hinted(k, hash, hint, || Some(k * 2));
            assert_eq!(v.copied(), Some(k * 2));
        }
        for k in 0..1_000u64 {
            let hash = index.hash(&k);
            let right = index.touch(hash);
            for hint in [right, Some(0), Some(999), Some(5_000), None] {
                let v = index.get_or_insert_hinted(k, hash, hint, || panic!("key {k} made again"));
                assert_eq!(v.copied(), Some(k * 2), "key {k} hint {hint:?}");
            }
        }
        assert_eq!(index.len(), 1_000);
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

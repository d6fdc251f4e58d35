//! A read-only multimap from strings to name ids, keyed by a 64-bit hash of the string: what
//! [`crate::SquatDetector`] keeps the deletion variants of the popular names in.
//!
//! There are about half a million such variants (every 1-deletion of 15,000 names, every
//! 2-deletion of the 2,400 long popular ones). A `HashMap<String, Vec<u32>>` of them costs two
//! allocations a key, about 900 M instructions and 100 MB to build: most of a `picket scan`'s
//! run. Here they are two flat vectors sorted by hash, with a bucket table over the hash's top
//! bits: one sort to build, two memory reads a lookup.
//!
//! **A lookup may also return ids of another string whose hash collides** (64 bits: about one
//! chance in 10^13 a lookup). The detector verifies every id it gets from here (the edit itself,
//! or the Damerau distance), so a collision costs one wasted comparison, never a wrong match.

use std::hash::BuildHasher;

use rustc_hash::FxBuildHasher;

/// The multimap, built by [`HashedIdsBuilder`].
#[derive(Debug, Default)]
pub struct HashedIds {
    /// `64 - bits` of the bucket table.
    shift: u32,
    /// Bucket `b`'s entries are `starts[b]..starts[b + 1]`.
    starts: Vec<u32>,
    hashes: Vec<u64>,
    ids: Vec<u32>,
}

/// Collects `(string, id)` pairs.
#[derive(Debug, Default)]
pub struct HashedIdsBuilder {
    pairs: Vec<(u64, u32)>,
}

/// The key's hash: Fx, then a finalizer so that the top bits (the bucket) are well mixed.
fn hash(key: &str) -> u64 {
    let mut h = FxBuildHasher.hash_one(key);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl HashedIdsBuilder {
    /// Room for `n` pairs.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            pairs: Vec::with_capacity(n),
        }
    }

    /// Files `id` under `key` (a repeated pair is kept once).
    pub fn push(&mut self, key: &str, id: u32) {
        self.pairs.push((hash(key), id));
    }

    /// The multimap: under each hash, its ids in ascending order, each once. The pairs are
    /// placed by bucket (a counting sort: two passes, where a comparison sort of half a million
    /// pairs took 160 M instructions), then each bucket, a pair or two, is sorted on its own.
    pub fn build(self) -> HashedIds {
        let bits = self.pairs.len().max(2).next_power_of_two().trailing_zeros();
        let shift = 64 - bits;
        let buckets = 1usize << bits;
        let bucket = |h: u64| usize::try_from(h >> shift).unwrap_or(usize::MAX);
        let mut starts = vec![0u32; buckets + 1];
        for &(h, _) in &self.pairs {
            starts[bucket(h) + 1] += 1;
        }
        for b in 0..buckets {
            starts[b + 1] += starts[b];
        }
        let mut placed = vec![(0u64, 0u32); self.pairs.len()];
        let mut next: Vec<u32> = starts[..buckets].to_vec();
        for &(h, id) in &self.pairs {
            let slot = &mut next[bucket(h)];
            placed[*slot as usize] = (h, id);
            *slot += 1;
        }
        drop(self.pairs);
        // Each bucket sorted and its repeated pairs dropped; `starts` moves down as they go.
        let mut hashes = Vec::with_capacity(placed.len());
        let mut ids = Vec::with_capacity(placed.len());
        let mut start = 0;
        for b in 0..buckets {
            let range = start..starts[b + 1] as usize;
            start = range.end;
            let pairs = &mut placed[range];
            starts[b] = u32::try_from(ids.len()).expect("fewer than 4 billion pairs");
            if pairs.len() > 1 {
                pairs.sort_unstable();
            }
            for (i, &(h, id)) in pairs.iter().enumerate() {
                if i == 0 || pairs[i - 1] != (h, id) {
                    hashes.push(h);
                    ids.push(id);
                }
            }
        }
        starts[buckets] = u32::try_from(ids.len()).expect("fewer than 4 billion pairs");
        HashedIds {
            shift,
            starts,
            hashes,
            ids,
        }
    }
}

impl HashedIds {
    /// The ids filed under `key` (and, rarely, under a string whose hash collides with it).
    pub fn get(&self, key: &str) -> impl Iterator<Item = u32> + '_ {
        let (h, range) = if self.hashes.is_empty() {
            (0, 0..0)
        } else {
            let h = hash(key);
            let b = usize::try_from(h >> self.shift).unwrap_or(0);
            (h, self.starts[b] as usize..self.starts[b + 1] as usize)
        };
        self.hashes[range.clone()]
            .iter()
            .zip(&self.ids[range])
            .filter(move |&(&other, _)| other == h)
            .map(|(_, &id)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_by_key_each_once_in_order() {
        let mut b = HashedIdsBuilder::default();
        for (key, id) in [("abc", 3), ("abd", 1), ("abc", 1), ("abc", 3), ("", 7)] {
            b.push(key, id);
        }
        let map = b.build();
        assert_eq!(map.ids.len(), 4, "one (\"abc\", 3) pair dropped");
        assert_eq!(map.get("abc").collect::<Vec<_>>(), [1, 3]);
        assert_eq!(map.get("abd").collect::<Vec<_>>(), [1]);
        assert_eq!(map.get("").collect::<Vec<_>>(), [7]);
        assert_eq!(map.get("abe").count(), 0);
        assert_eq!(HashedIds::default().get("abc").count(), 0);
        assert_eq!(HashedIdsBuilder::default().build().get("").count(), 0);
    }

    #[test]
    fn many_keys_all_found() {
        let mut b = HashedIdsBuilder::default();
        let keys: Vec<String> = (0..50_000).map(|i| format!("name-{i}")).collect();
        for (i, k) in keys.iter().enumerate() {
            b.push(k, u32::try_from(i).unwrap());
        }
        let map = b.build();
        for (i, k) in keys.iter().enumerate() {
            assert!(
                map.get(k).any(|id| id as usize == i),
                "{k} not found under its id"
            );
        }
        assert_eq!(map.get("name-50000").count(), 0);
    }
}

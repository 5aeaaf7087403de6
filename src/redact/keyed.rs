//! The keyed primitives the pseudonyms are made of: SipHash-2-4 as the
//! pseudo-random function, Feistel permutations of small bit widths, the
//! prefix-preserving bit flipping of Crypto-PAn, and cycle walking to keep a
//! permutation inside a subset.
//!
//! Guarantees: every function here is a deterministic function of the key and
//! its input; [`Keyed::permute`] is a bijection of `0..2^bits`,
//! [`Keyed::prefix_preserving`] is a bijection that keeps the length of the
//! common prefix of any two inputs, and [`cycle_walk`] turns a permutation of
//! a set into a permutation of any subset its input belongs to.

use std::hash::{BuildHasher, Hasher};

/// A 128-bit secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key {
    k0: u64,
    k1: u64,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// A fresh key from the operating system's randomness (through the
    /// standard library's randomly seeded hasher state).
    pub fn random() -> Key {
        let draw = |salt: u64| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(salt);
            h.finish()
        };
        Key {
            k0: draw(0x6b30),
            k1: draw(0x6b31),
        }
    }

    /// The key derived from a secret phrase: the same phrase gives the same
    /// pseudonyms in every run.
    pub fn from_secret(secret: &[u8]) -> Key {
        Key {
            k0: siphash24(0x6973_6174_6170_2d74, 0x7261_6365_2d6b_6530, secret),
            k1: siphash24(0x6973_6174_6170_2d74, 0x7261_6365_2d6b_6531, secret),
        }
    }
}

/// SipHash-2-4 of `data` under the key (k0, k1).
pub fn siphash24(k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut v = [
        0x736f_6d65_7073_6575 ^ k0,
        0x646f_7261_6e64_6f6d ^ k1,
        0x6c79_6765_6e65_7261 ^ k0,
        0x7465_6462_7974_6573 ^ k1,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let word = |bytes: &[u8]| {
        bytes
            .iter()
            .enumerate()
            .fold(0u64, |w, (i, &b)| w | (u64::from(b) << (8 * i)))
    };
    let chunks = data.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        let m = word(chunk);
        v[3] ^= m;
        round(&mut v);
        round(&mut v);
        v[0] ^= m;
    }
    let last = word(tail) | ((data.len() as u64) << 56);
    v[3] ^= last;
    round(&mut v);
    round(&mut v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// Separates the uses of the key so that no two functions share outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Domain {
    Ipv4 = 1,
    Ipv6Prefix = 2,
    InterfaceId = 3,
    Low24 = 4,
    MacHigh = 5,
}

/// The key with the functions built on it.
#[derive(Clone, Copy, Debug)]
pub struct Keyed {
    key: Key,
}

impl Keyed {
    pub fn new(key: Key) -> Keyed {
        Keyed { key }
    }

    /// The pseudo-random function: 64 bits from (domain, a, b).
    pub fn prf(&self, domain: Domain, a: u64, b: u64) -> u64 {
        let mut input = [0u8; 17];
        input[0] = domain as u8;
        input[1..9].copy_from_slice(&a.to_le_bytes());
        input[9..17].copy_from_slice(&b.to_le_bytes());
        siphash24(self.key.k0, self.key.k1, &input)
    }

    /// A keyed permutation of `0..2^bits` (`bits` even, at most 64): a
    /// four-round Feistel network.
    pub fn permute(&self, domain: Domain, bits: u32, x: u64) -> u64 {
        let half = bits / 2;
        let mask = if half >= 64 {
            u64::MAX
        } else {
            (1u64 << half) - 1
        };
        let (mut left, mut right) = ((x >> half) & mask, x & mask);
        for round in 0..4u64 {
            let f = self.prf(domain, (u64::from(bits) << 8) | round, right) & mask;
            (left, right) = (right, left ^ f);
        }
        (left << half) | right
    }

    /// Crypto-PAn over the `bits`-bit value `x`: the first `keep` bits stay,
    /// every later bit is flipped by a function of the bits before it.
    /// Two inputs sharing a prefix of n bits give outputs sharing exactly n.
    pub fn prefix_preserving(&self, domain: Domain, bits: u32, keep: u32, x: u64) -> u64 {
        let mut out = x;
        for i in keep..bits {
            let prefix = if i == 0 { 0 } else { x >> (bits - i) };
            let flip = self.prf(domain, u64::from(i), prefix) & 1;
            out ^= flip << (bits - 1 - i);
        }
        out
    }
}

/// Applies the permutation `step` until the value lands where `inside` holds.
/// When `x` itself is inside, this is a permutation of the inside set.
pub fn cycle_walk(x: u64, step: impl Fn(u64) -> u64, inside: impl Fn(u64) -> bool) -> u64 {
    // The cycle through `x` returns to `x`, which is inside, so this ends;
    // the bound only guards against a caller passing an outside value.
    let mut y = step(x);
    for _ in 0..1_000_000 {
        if inside(y) {
            return y;
        }
        y = step(y);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siphash_reference_vector() {
        // The SipHash paper's test vector: key 00..0f, message 00..0e.
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let msg: Vec<u8> = (0..15).collect();
        assert_eq!(siphash24(k0, k1, &msg), 0xa129_ca61_49be_45e5);
        assert_eq!(siphash24(k0, k1, &[]), 0x726f_db47_dd0e_0e31);
    }

    #[test]
    fn feistel_is_a_permutation() {
        let k = Keyed::new(Key::from_secret(b"test"));
        let mut seen = vec![false; 1 << 12];
        for x in 0..(1u64 << 12) {
            let y = k.permute(Domain::Low24, 12, x) as usize;
            assert!(!seen[y], "{x} collides");
            seen[y] = true;
        }
    }

    #[test]
    fn crypto_pan_keeps_prefixes_and_is_one_to_one() {
        let k = Keyed::new(Key::from_secret(b"test"));
        let mut seen = vec![false; 1 << 12];
        for x in 0..(1u64 << 12) {
            let y = k.prefix_preserving(Domain::Ipv4, 12, 2, x);
            assert_eq!(y >> 10, x >> 10, "kept bits");
            assert!(!seen[y as usize]);
            seen[y as usize] = true;
        }
        let (a, b) = (0b1011_0110_0000u64, 0b1011_0111_1111u64);
        let (ma, mb) = (
            k.prefix_preserving(Domain::Ipv4, 12, 0, a),
            k.prefix_preserving(Domain::Ipv4, 12, 0, b),
        );
        assert_eq!((ma ^ mb).leading_zeros(), (a ^ b).leading_zeros());
    }

    #[test]
    fn keys_differ() {
        assert_ne!(Key::random(), Key::random());
        assert_eq!(Key::from_secret(b"x"), Key::from_secret(b"x"));
        assert_ne!(Key::from_secret(b"x"), Key::from_secret(b"y"));
    }
}

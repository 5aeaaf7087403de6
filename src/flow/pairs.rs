//! Tunnel traffic counted by its outer endpoints (source, destination):
//! updated for every tunnelled packet, so it is on the hot path.
//!
//! Guarantees: at most [`MAX_TUNNEL_PAIRS`] pairs; a packet of a further
//! pair is refused (the caller counts it). Pairs are listed in the order
//! they were first seen. IPv4 pairs, nearly all of them, are found by one
//! packed 64-bit key instead of two hashed address enums.

use std::net::IpAddr;

use super::FastMap;
use super::facts::At;
use crate::decode::TunnelKind;

/// Most tunnel endpoint pairs counted: far more stations than one ISATAP
/// router serves; packets between further pairs are counted as dropped.
pub const MAX_TUNNEL_PAIRS: usize = 65_536;

/// The two endpoints of a tunnel, outer source and destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ends {
    pub src: IpAddr,
    pub dst: IpAddr,
}

/// Traffic between two tunnel endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelPair {
    pub packets: u64,
    pub first: At,
    pub last: At,
    /// Bit `c` set: seen in capture `c` (first 64 captures).
    pub captures: u64,
    pub kind: TunnelKind,
}

/// Every tunnel endpoint pair seen, with its traffic.
#[derive(Clone, Debug, Default)]
pub struct TunnelPairs {
    list: Vec<(Ends, TunnelPair)>,
    /// Position in `list` of each IPv4 pair, by source and destination
    /// packed into one word.
    v4: FastMap<u64, u32>,
    /// Position in `list` of every other pair.
    other: FastMap<Ends, u32>,
}

/// Both endpoints in one word, when both are IPv4.
fn packed(ends: &Ends) -> Option<u64> {
    match (ends.src, ends.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            Some((u64::from(s.to_bits()) << 32) | u64::from(d.to_bits()))
        }
        _ => None,
    }
}

impl TunnelPairs {
    /// Counts a packet between `ends` seen `at`; false when the pair is new
    /// and the table is full.
    #[inline]
    pub fn add(&mut self, ends: &Ends, at: At, kind: TunnelKind) -> bool {
        let next = self.list.len() as u32;
        let room = self.list.len() < MAX_TUNNEL_PAIRS;
        let found = match packed(ends) {
            Some(key) => find_or_insert(&mut self.v4, key, next, room),
            None => find_or_insert(&mut self.other, *ends, next, room),
        };
        let Some(i) = found else {
            return false;
        };
        if i == next {
            self.list.push((
                *ends,
                TunnelPair {
                    packets: 0,
                    first: at,
                    last: at,
                    captures: 0,
                    kind,
                },
            ));
        }
        let pair = &mut self.list[i as usize].1;
        pair.packets += 1;
        pair.last = at;
        if at.capture < 64 {
            pair.captures |= 1 << at.capture;
        }
        true
    }

    /// The traffic between `ends`, if any was seen.
    pub fn get(&self, ends: &Ends) -> Option<&TunnelPair> {
        let i = match packed(ends) {
            Some(key) => self.v4.get(&key),
            None => self.other.get(ends),
        }?;
        self.list.get(*i as usize).map(|(_, p)| p)
    }

    pub fn contains(&self, ends: &Ends) -> bool {
        self.get(ends).is_some()
    }

    /// Every pair, in order of first sight.
    pub fn iter(&self) -> impl Iterator<Item = (&Ends, &TunnelPair)> {
        self.list.iter().map(|(e, p)| (e, p))
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The position stored for `key`, or `next` newly stored when there is `room`.
#[inline]
fn find_or_insert<K: std::hash::Hash + Eq>(
    index: &mut FastMap<K, u32>,
    key: K,
    next: u32,
    room: bool,
) -> Option<u32> {
    match index.entry(key) {
        std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
        std::collections::hash_map::Entry::Vacant(e) if room => Some(*e.insert(next)),
        std::collections::hash_map::Entry::Vacant(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn at(capture: u16, frame: u64) -> At {
        At {
            capture,
            frame,
            ts_ns: frame as i64 * 1000,
        }
    }

    fn v4(a: u8, b: u8) -> Ends {
        Ends {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, b)),
        }
    }

    #[test]
    fn counts_each_pair_with_its_first_and_last_sighting_in_order_of_first_sight() {
        let mut pairs = TunnelPairs::default();
        assert!(pairs.add(&v4(2, 1), at(0, 1), TunnelKind::Isatap));
        assert!(pairs.add(&v4(1, 2), at(0, 2), TunnelKind::Isatap));
        assert!(pairs.add(&v4(2, 1), at(3, 7), TunnelKind::SixToFour));
        let p = pairs.get(&v4(2, 1)).expect("seen");
        assert_eq!(p.packets, 2);
        assert_eq!((p.first, p.last), (at(0, 1), at(3, 7)));
        assert_eq!(p.captures, 0b1001);
        assert_eq!(p.kind, TunnelKind::Isatap, "the kind of the first packet");
        assert!(pairs.contains(&v4(1, 2)));
        assert!(!pairs.contains(&v4(1, 3)));
        let order: Vec<Ends> = pairs.iter().map(|(e, _)| *e).collect();
        assert_eq!(order, [v4(2, 1), v4(1, 2)]);
    }

    #[test]
    fn an_ipv6_pair_and_an_ipv4_pair_stay_apart() {
        let mut pairs = TunnelPairs::default();
        let v6 = Ends {
            src: IpAddr::V6(Ipv6Addr::from_bits(0x0a00_0001)),
            dst: IpAddr::V6(Ipv6Addr::from_bits(0x0a00_0002)),
        };
        assert!(pairs.add(&v4(1, 2), at(0, 1), TunnelKind::Isatap));
        assert!(pairs.add(&v6, at(0, 2), TunnelKind::Isatap));
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs.get(&v6).map(|p| p.packets), Some(1));
        assert_eq!(pairs.get(&v4(1, 2)).map(|p| p.packets), Some(1));
    }

    #[test]
    fn a_full_table_refuses_new_pairs_and_still_counts_known_ones() {
        let mut pairs = TunnelPairs::default();
        for i in 0..MAX_TUNNEL_PAIRS as u32 {
            let ends = Ends {
                src: IpAddr::V4(Ipv4Addr::from_bits(i)),
                dst: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            };
            assert!(pairs.add(&ends, at(0, u64::from(i)), TunnelKind::Isatap));
        }
        assert!(!pairs.add(&v4(250, 251), at(0, 1), TunnelKind::Isatap));
        let known = Ends {
            src: IpAddr::V4(Ipv4Addr::from_bits(5)),
            dst: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        };
        assert!(pairs.add(&known, at(0, 9), TunnelKind::Isatap));
        assert_eq!(pairs.get(&known).map(|p| p.packets), Some(2));
        assert_eq!(pairs.len(), MAX_TUNNEL_PAIRS);
    }
}

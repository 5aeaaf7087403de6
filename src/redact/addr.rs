//! Pseudonyms of IPv4, IPv6 and MAC addresses.
//!
//! Guarantees (for one key):
//! - each mapping is one-to-one over its whole address space;
//! - IPv4: 0/8, 127/8 and 224/3 (multicast, reserved, broadcast) stay as they
//!   are; private, shared, link-local and documentation ranges keep their
//!   range prefix; every other address stays outside those ranges; the length
//!   of the common prefix of any two addresses in one range is kept
//!   (Crypto-PAn), so subnets stay subnets;
//! - IPv6: the /64 prefix and the interface identifier map separately, so
//!   addresses in one /64 stay in one /64, and prefixes keep their structure
//!   (common prefix lengths kept); link-local (fe80::/10), multicast (except
//!   the low 24 bits of solicited-node groups) and ::/16 keep their prefix;
//!   ULA and documentation prefixes keep their range. The IPv4 inside
//!   ISATAP interface identifiers (`::0:5efe:a.b.c.d`, `::200:5efe:…`),
//!   6to4 prefixes (`2002:AABB:CCDD::/48`, and `::AABB:CCDD` identifiers in
//!   them), Teredo addresses (server, obfuscated client) and NAT64/IPv4-mapped
//!   addresses is replaced by the pseudonym of that IPv4, so an outer header
//!   and the inner address still agree (or disagree) after redaction;
//!   EUI-64 identifiers embed the pseudonym of their MAC;
//! - MAC: the group and local bits stay; multicast MACs stay (IPv6
//!   solicited-node groups `33:33:ff:…` follow their IPv6 group); the low 24
//!   bits map as the low 24 bits of IPv6 identifiers and groups do, so
//!   Neighbor Discovery stays coherent.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::keyed::{Domain, Keyed, cycle_walk};

/// How an IPv4 address is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum V4Class {
    /// Not identifying: kept as it is.
    Fixed,
    /// A special range: its first n bits are kept.
    Range(u32),
    Public,
}

fn v4_class(x: u32) -> V4Class {
    let top8 = x >> 24;
    if top8 == 0 || top8 == 127 || x >= 0xe000_0000 {
        V4Class::Fixed
    } else if top8 == 10 {
        V4Class::Range(8)
    } else if x >> 22 == 0x191 {
        V4Class::Range(10) // 100.64/10
    } else if x >> 20 == 0xac1 {
        V4Class::Range(12) // 172.16/12
    } else if x >> 16 == 0xa9fe || x >> 16 == 0xc0a8 {
        V4Class::Range(16) // 169.254/16, 192.168/16
    } else if matches!(x >> 8, 0xc0_0002 | 0xc6_3364 | 0xcb_0071) {
        V4Class::Range(24) // documentation
    } else {
        V4Class::Public
    }
}

/// How the /64 prefix of an IPv6 address is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum V6Class {
    /// ::/64: IPv4-compatible and IPv4-mapped addresses.
    Zero,
    /// The rest of ::/16, link-local: prefix kept.
    Fixed,
    Multicast,
    /// ULA (8 bits kept), documentation 2001:db8::/32 (32 kept).
    Range(u32),
    SixToFour,
    Teredo,
    Nat64,
    Global,
}

fn v6_class(p: u64) -> V6Class {
    let top16 = p >> 48;
    if p == 0 {
        V6Class::Zero
    } else if top16 == 0 || p >> 54 == 0x3fa {
        V6Class::Fixed
    } else if p >> 56 == 0xff {
        V6Class::Multicast
    } else if p >> 57 == 0x7e {
        V6Class::Range(8)
    } else if top16 == 0x2002 {
        V6Class::SixToFour
    } else if p >> 32 == 0x2001_0000 {
        V6Class::Teredo
    } else if p >> 32 == 0x2001_0db8 {
        V6Class::Range(32)
    } else if p == 0x0064_ff9b_0000_0000 {
        V6Class::Nat64
    } else {
        V6Class::Global
    }
}

/// An ISATAP interface identifier: `0000:5efe` or `0200:5efe` then IPv4.
fn is_isatap_iid(i: u64) -> bool {
    (i >> 32) & 0xfdff_ffff == 0x0000_5efe
}

/// A modified EUI-64 identifier made from a MAC (`ff:fe` in the middle).
fn is_eui64_iid(i: u64) -> bool {
    (i >> 24) & 0xffff == 0xfffe
}

/// The address-mapping functions of one key.
#[derive(Clone, Copy, Debug)]
pub struct AddrMap {
    k: Keyed,
}

impl AddrMap {
    pub fn new(k: Keyed) -> AddrMap {
        AddrMap { k }
    }

    pub fn ipv4(&self, a: Ipv4Addr) -> Ipv4Addr {
        Ipv4Addr::from(self.v4(u32::from(a)))
    }

    fn v4(&self, x: u32) -> u32 {
        let pan = |keep: u32, v: u64| self.k.prefix_preserving(Domain::Ipv4, 32, keep, v);
        match v4_class(x) {
            V4Class::Fixed => x,
            V4Class::Range(keep) => pan(keep, u64::from(x)) as u32,
            V4Class::Public => cycle_walk(
                u64::from(x),
                |v| pan(0, v),
                |v| v4_class(v as u32) == V4Class::Public,
            ) as u32,
        }
    }

    pub fn ipv6(&self, a: Ipv6Addr) -> Ipv6Addr {
        let x = u128::from(a);
        let (p, i) = ((x >> 64) as u64, x as u64);
        let pan = |keep: u32, v: u64| self.k.prefix_preserving(Domain::Ipv6Prefix, 64, keep, v);
        let (p2, i2) = match v6_class(p) {
            V6Class::Zero => (p, self.zero_iid(i)),
            V6Class::Fixed => (p, self.iid(i, false)),
            V6Class::Multicast => {
                let solicited = p == 0xff02_0000_0000_0000 && i >> 24 == 0x01ff;
                if solicited {
                    (p, (i & !0xff_ffff) | self.low24(i & 0xff_ffff))
                } else {
                    (p, i)
                }
            }
            V6Class::Range(keep) => (pan(keep, p), self.iid(i, false)),
            V6Class::SixToFour => {
                let v4 = self.v4((p >> 16) as u32);
                let subnet = pan(48, p) & 0xffff;
                (
                    (0x2002 << 48) | (u64::from(v4) << 16) | subnet,
                    self.iid(i, true),
                )
            }
            V6Class::Teredo => {
                let server = self.v4(p as u32);
                let client = !self.v4(!(i as u32));
                (
                    (p & !0xffff_ffff) | u64::from(server),
                    (i & !0xffff_ffff) | u64::from(client),
                )
            }
            V6Class::Nat64 => (p, self.zero_iid(i)),
            V6Class::Global => (
                cycle_walk(p, |v| pan(0, v), |v| v6_class(v) == V6Class::Global),
                self.iid(i, false),
            ),
        };
        Ipv6Addr::from((u128::from(p2) << 64) | u128::from(i2))
    }

    /// Identifiers under ::/64 and the NAT64 prefix: an IPv4 in the low 32
    /// bits (IPv4-compatible, or after `ffff` for IPv4-mapped) is mapped.
    fn zero_iid(&self, i: u64) -> u64 {
        match i >> 32 {
            0 | 0xffff => (i & !0xffff_ffff) | u64::from(self.v4(i as u32)),
            _ => i,
        }
    }

    /// An interface identifier. In a 6to4 prefix, identifiers of the form
    /// `::AABB:CCDD` (Windows puts the IPv4 there again) map as that IPv4.
    fn iid(&self, i: u64, six_to_four: bool) -> u64 {
        if is_isatap_iid(i) {
            return (i & !0xffff_ffff) | u64::from(self.v4(i as u32));
        }
        if is_eui64_iid(i) {
            let b = i.to_be_bytes();
            let m = self.mac([b[0] ^ 2, b[1], b[2], b[5], b[6], b[7]]);
            return u64::from_be_bytes([m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]);
        }
        if six_to_four && i >> 32 == 0 {
            return u64::from(self.v4(i as u32));
        }
        // The high 40 bits and the low 24 (which solicited-node groups carry)
        // map separately; small identifiers (`::25`) stay small.
        let (high, low) = (i >> 24, i & 0xff_ffff);
        let high = if high == 0 && !six_to_four {
            0
        } else {
            let reserved = |h: u64| {
                (six_to_four && h < 0x100)
                    || h == 0
                    || is_isatap_iid(h << 24)
                    || is_eui64_iid(h << 24)
            };
            cycle_walk(
                high,
                |h| self.k.permute(Domain::InterfaceId, 40, h),
                |h| !reserved(h),
            )
        };
        (high << 24) | self.low24(low)
    }

    /// The low 24 bits of interface identifiers, solicited-node groups and
    /// MACs: a permutation that keeps 0.
    fn low24(&self, x: u64) -> u64 {
        if x == 0 {
            return 0;
        }
        cycle_walk(x, |v| self.k.permute(Domain::Low24, 24, v), |v| v != 0)
    }

    pub fn mac(&self, m: [u8; 6]) -> [u8; 6] {
        let low = u64::from_be_bytes([0, 0, 0, 0, 0, m[3], m[4], m[5]]);
        if m[0] & 1 == 1 {
            // Group addresses name no host, except IPv6 solicited-node groups.
            if m[..3] == [0x33, 0x33, 0xff] {
                let l = self.low24(low).to_be_bytes();
                return [0x33, 0x33, 0xff, l[5], l[6], l[7]];
            }
            return m;
        }
        let high = (u64::from(m[0] >> 2) << 16) | (u64::from(m[1]) << 8) | u64::from(m[2]);
        let high = if high == 0 {
            0
        } else {
            cycle_walk(high, |h| self.k.permute(Domain::MacHigh, 22, h), |h| h != 0)
        };
        let l = self.low24(low).to_be_bytes();
        [
            (((high >> 16) as u8) << 2) | (m[0] & 3),
            (high >> 8) as u8,
            high as u8,
            l[5],
            l[6],
            l[7],
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::super::keyed::Key;
    use super::*;
    use crate::decode::addr::{isatap_ipv4, six_to_four_ipv4, teredo};

    fn map() -> AddrMap {
        AddrMap::new(Keyed::new(Key::from_secret(b"unit")))
    }

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_classes() {
        let m = map();
        for fixed in ["0.0.0.0", "255.255.255.255", "127.0.0.1", "224.0.0.5"] {
            let a: Ipv4Addr = fixed.parse().unwrap();
            assert_eq!(m.ipv4(a), a);
        }
        let a: Ipv4Addr = "172.16.16.50".parse().unwrap();
        let b: Ipv4Addr = "172.16.16.31".parse().unwrap();
        let (ma, mb) = (m.ipv4(a), m.ipv4(b));
        assert_ne!(ma, a);
        assert_eq!(u32::from(ma) >> 20, 0xac1, "stays in 172.16/12");
        let common = |x: Ipv4Addr, y: Ipv4Addr| (u32::from(x) ^ u32::from(y)).leading_zeros();
        assert_eq!(common(ma, mb), common(a, b));
        let public: Ipv4Addr = "8.8.8.8".parse().unwrap();
        assert_eq!(v4_class(u32::from(m.ipv4(public))), V4Class::Public);
    }

    #[test]
    fn ipv4_is_one_to_one_on_a_block() {
        let m = map();
        let mut seen = std::collections::HashSet::new();
        for x in 0..4096u32 {
            assert!(seen.insert(m.v4(0xac10_0000 | x)));
            assert!(seen.insert(m.v4(0x0808_0000 | x)));
        }
    }

    #[test]
    fn ipv6_keeps_the_64_and_the_embedded_ipv4() {
        let m = map();
        let a = v6("fd9c:30c:2da4:1:0:5efe:ac10:1032");
        let b = v6("fd9c:30c:2da4:1::5efe:172.16.16.31");
        let (ma, mb) = (m.ipv6(a), m.ipv6(b));
        assert_eq!(u128::from(ma) >> 64, u128::from(mb) >> 64, "same /64");
        assert_eq!(u128::from(ma) >> 120, 0xfd, "still ULA");
        assert_ne!(u128::from(ma) >> 64, u128::from(a) >> 64);
        let outer = m.ipv4("172.16.16.50".parse().unwrap());
        assert_eq!(isatap_ipv4(&ma), Some(outer));
        let ll = m.ipv6(v6("fe80::200:5efe:172.16.16.50"));
        assert_eq!(u128::from(ll) >> 64, 0xfe80_0000_0000_0000);
        assert_eq!(isatap_ipv4(&ll), Some(outer));
        let other = m.ipv6(v6("fd9c:30c:2da4:1000::1"));
        let common = |x: Ipv6Addr, y: Ipv6Addr| (u128::from(x) ^ u128::from(y)).leading_zeros();
        assert_eq!(common(other, ma), common(v6("fd9c:30c:2da4:1000::1"), a));
    }

    #[test]
    fn six_to_four_teredo_and_mapped() {
        let m = map();
        let v4: Ipv4Addr = "192.0.2.1".parse().unwrap();
        let mv4 = m.ipv4(v4);
        let s = m.ipv6(v6("2002:c000:201:5::c000:201"));
        assert_eq!(six_to_four_ipv4(&s), Some(mv4));
        assert_eq!(u128::from(s) as u32, u32::from(mv4));
        let t = v6("2001:0000:4136:e378:8000:63bf:3fff:fdd2");
        let mt = teredo(&m.ipv6(t)).unwrap();
        let orig = teredo(&t).unwrap();
        assert_eq!(mt.server, m.ipv4(orig.server));
        assert_eq!(mt.client, m.ipv4(orig.client));
        assert_eq!(mt.port, orig.port);
        let mapped = m.ipv6(v6("::ffff:192.0.2.1"));
        assert_eq!(mapped, mv4.to_ipv6_mapped());
        for fixed in ["::", "::1", "ff02::1", "ff02::1:2"] {
            assert_eq!(m.ipv6(v6(fixed)), v6(fixed));
        }
    }

    #[test]
    fn neighbor_discovery_stays_coherent() {
        let m = map();
        let a = m.ipv6(v6("fd9c:30c:2da4:111::25"));
        let group = m.ipv6(v6("ff02::1:ff00:25"));
        assert_eq!(
            u128::from(group) & 0xff_ffff,
            u128::from(a) & 0xff_ffff,
            "solicited-node group of the pseudonym"
        );
        assert_eq!(
            u128::from(a) as u64 >> 24,
            0,
            "small identifiers stay small"
        );
        let mac = [0x00, 0x15, 0x5d, 0x11, 0x00, 0x25];
        let mm = m.mac(mac);
        assert_ne!(mm, mac);
        assert_eq!(mm[0] & 3, 0);
        let eui = m.ipv6(v6("fe80::215:5dff:fe11:25"));
        let o = eui.octets();
        assert_eq!(
            [o[8] ^ 2, o[9], o[10], o[13], o[14], o[15]],
            mm,
            "EUI-64 of the MAC's pseudonym"
        );
        assert_eq!(m.mac([0x33, 0x33, 0xff, 0, 0, 0x25])[3..], a.octets()[13..]);
        assert_eq!(m.mac([0xff; 6]), [0xff; 6]);
        assert_eq!(m.mac([0; 6]), [0; 6]);
    }

    #[test]
    fn global_prefixes_stay_global() {
        let m = map();
        for s in ["2001:db9::1", "2a00:1450::1", "3fff::1"] {
            let p = u128::from(m.ipv6(v6(s))) >> 64;
            assert_eq!(v6_class(p as u64), V6Class::Global, "{s}");
        }
    }
}

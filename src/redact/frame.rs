//! Rewriting the addresses of a captured frame in place: link addresses
//! (Ethernet, Linux cooked SLL/SLL2, ARP), IPv4 (with source-route and
//! timestamp options) and IPv6 (with routing headers) at every tunnel level
//! (protocol 41 and 4, GRE, Teredo with its origin indication, GTP-U, AYIYA),
//! the packets quoted in ICMPv4 and ICMPv6 errors, Neighbor Discovery (target
//! and redirect addresses, link-layer address, prefix, route and DNS options,
//! redirected headers) and MLD; then every IPv4 header, ICMP, UDP, TCP and GRE
//! checksum is adjusted (see [`super::checksum`]).
//!
//! Guarantees: the frame keeps its length and layout; an address field cut
//! short by the capture's snap length is zeroed rather than left partly
//! readable; nesting is bounded; a frame whose link layer carries addresses
//! this module cannot place is refused ([`Refused`]) rather than passed on.
//! Payloads this module does not parse (application data, encrypted
//! payloads) are copied unchanged.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use super::addr::AddrMap;
use super::checksum::{self, Job};
use crate::decode::bytes::be16;
use crate::decode::link::{self, LinkKind, Network};
use crate::decode::tunnel;

/// Deepest nesting of IP layers (tunnels and quoted packets) rewritten.
const MAX_DEPTH: u8 = 8;

/// Why a frame cannot be redacted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// A link type whose addresses are not understood.
    LinkType(u32),
    /// A link payload that is neither IP nor ARP (LLDP, STP, …).
    NotIp(u16),
    /// The link header itself is cut short.
    Truncated,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::LinkType(t) => write!(f, "link type {t} cannot be redacted"),
            Refused::NotIp(t) => write!(f, "EtherType 0x{t:04x} is not IP or ARP"),
            Refused::Truncated => f.write_str("the link header is cut short"),
        }
    }
}

/// Where the pseudo-header addresses of a transport checksum are.
type Pseudo = Option<(Range<usize>, Range<usize>)>;

struct Rewriter<'a> {
    map: &'a AddrMap,
    buf: &'a mut [u8],
    jobs: Vec<Job>,
}

/// Rewrites the addresses of a frame of `link_type` in place.
pub fn rewrite(map: &AddrMap, link_type: u32, buf: &mut [u8]) -> Result<(), Refused> {
    let original = buf.to_vec();
    let (parsed, network) = link::parse(link_type, &original);
    let mut w = Rewriter {
        map,
        buf,
        jobs: Vec::new(),
    };
    match parsed.kind {
        LinkKind::Ethernet => {
            w.mac(0);
            w.mac(6);
        }
        LinkKind::LinuxSll => {
            let len = usize::from(be16(&original, 4).unwrap_or(0));
            w.hardware_address(6, len.min(8));
        }
        LinkKind::LinuxSll2 => {
            let len = usize::from(original.get(11).copied().unwrap_or(0));
            w.hardware_address(12, len.min(8));
        }
        LinkKind::RawIp | LinkKind::Null | LinkKind::Ppp | LinkKind::FrameRelay => {}
        LinkKind::IpOverInfiniband => return Err(Refused::LinkType(link_type)),
        LinkKind::Unsupported(t) => return Err(Refused::LinkType(t)),
    }
    match network {
        Ok(Network::Ip { at, .. }) => {
            let end = w.buf.len();
            w.ip(at, end, 0);
        }
        Ok(Network::Other(link::ETHERTYPE_ARP)) => {
            let at = match parsed.kind {
                LinkKind::Ethernet => ethernet_payload(&original),
                LinkKind::LinuxSll => Some(16),
                LinkKind::LinuxSll2 => Some(20),
                _ => None,
            };
            match at {
                Some(at) => w.arp(at),
                None => return Err(Refused::NotIp(link::ETHERTYPE_ARP)),
            }
        }
        Ok(Network::Other(t)) => return Err(Refused::NotIp(t)),
        Err(_) => return Err(Refused::Truncated),
    }
    let Rewriter { buf, jobs, .. } = w;
    for job in jobs.iter().rev() {
        checksum::adjust(job, &original, buf);
    }
    Ok(())
}

/// Teredo framing (RFC 4380 section 5.1.1) at the start of a UDP payload to
/// or from port 3544: where the IPv6 packet starts, and where the obfuscated
/// IPv4 of an origin indication is.
fn teredo(sport: u16, dport: u16, p: &[u8]) -> Option<(usize, Option<usize>)> {
    if sport != tunnel::TEREDO_PORT && dport != tunnel::TEREDO_PORT {
        return None;
    }
    let mut at = 0;
    if be16(p, 0) == Some(0x0001) {
        // Authentication: indicator, id-len, au-len, client id, value, nonce(8), confirmation(1).
        at = 4 + usize::from(*p.get(2)?) + usize::from(*p.get(3)?) + 9;
    }
    let mut origin = None;
    if be16(p, at) == Some(0x0000) {
        origin = Some(at + 4);
        at += 8;
    }
    (p.get(at)? >> 4 == 6 && p.len() >= at + 40).then_some((at, origin))
}

/// Where the payload of an Ethernet frame starts, after its VLAN tags.
fn ethernet_payload(b: &[u8]) -> Option<usize> {
    let mut at = 12;
    for _ in 0..8 {
        match be16(b, at)? {
            0x8100 | 0x88a8 | 0x9100 => at += 4,
            _ => return Some(at + 2),
        }
    }
    None
}

impl Rewriter<'_> {
    fn len(&self) -> usize {
        self.buf.len()
    }

    /// Zeroes whatever part of `at..at+n` was captured.
    fn zero(&mut self, at: usize, n: usize) {
        let end = (at + n).min(self.len());
        if at < end {
            self.buf[at..end].fill(0);
        }
    }

    fn mac(&mut self, at: usize) {
        match self.buf.get(at..at + 6) {
            Some(b) => {
                let m = self.map.mac([b[0], b[1], b[2], b[3], b[4], b[5]]);
                self.buf[at..at + 6].copy_from_slice(&m);
            }
            None => self.zero(at, 6),
        }
    }

    fn v4(&mut self, at: usize) {
        match self.buf.get(at..at + 4) {
            Some(b) => {
                let a = self.map.ipv4(Ipv4Addr::new(b[0], b[1], b[2], b[3]));
                self.buf[at..at + 4].copy_from_slice(&a.octets());
            }
            None => self.zero(at, 4),
        }
    }

    fn v6(&mut self, at: usize) {
        match self
            .buf
            .get(at..at + 16)
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
        {
            Some(b) => {
                let a = self.map.ipv6(Ipv6Addr::from(b));
                self.buf[at..at + 16].copy_from_slice(&a.octets());
            }
            None => self.zero(at, 16),
        }
    }

    /// An IPv6 prefix of `plen` bits whose first `stored` bytes are at `at`.
    fn v6_prefix(&mut self, at: usize, stored: usize, plen: u8) {
        let stored = stored.min(16);
        let Some(b) = self.buf.get(at..at + stored) else {
            self.zero(at, stored);
            return;
        };
        let mut full = [0u8; 16];
        full[..stored].copy_from_slice(b);
        let mapped = u128::from(self.map.ipv6(Ipv6Addr::from(full)));
        let mask = u128::MAX
            .checked_shl(128 - u32::from(plen.min(128)))
            .unwrap_or(0);
        let out = (mapped & mask).to_be_bytes();
        self.buf[at..at + stored].copy_from_slice(&out[..stored]);
    }

    /// A link-layer address of `len` bytes: MAC, IPv4 (tunnel devices) or IPv6.
    fn hardware_address(&mut self, at: usize, len: usize) {
        match len {
            0 => {}
            4 => self.v4(at),
            6 => self.mac(at),
            _ => self.zero(at, len),
        }
    }

    fn arp(&mut self, at: usize) {
        let (Some(&hlen), Some(&plen)) = (self.buf.get(at + 4), self.buf.get(at + 5)) else {
            return;
        };
        let (h, p) = (usize::from(hlen), usize::from(plen));
        let sender = at + 8;
        let target = sender + h + p;
        for base in [sender, target] {
            match h {
                6 => self.mac(base),
                _ => self.zero(base, h),
            }
            match p {
                4 => self.v4(base + h),
                16 => self.v6(base + h),
                _ => self.zero(base + h, p),
            }
        }
    }

    /// The IP packet at `at`, which may run to `limit` at most.
    fn ip(&mut self, at: usize, limit: usize, depth: u8) {
        if depth >= MAX_DEPTH || at >= limit {
            return;
        }
        match self.buf[at] >> 4 {
            4 => self.ipv4(at, limit, depth),
            6 => self.ipv6(at, limit, depth),
            _ => {}
        }
    }

    fn ipv4(&mut self, at: usize, limit: usize, depth: u8) {
        self.v4(at + 12);
        self.v4(at + 16);
        let ihl = usize::from(self.buf[at] & 0x0f) * 4;
        if ihl < 20 {
            return;
        }
        self.ipv4_options(at + 20, (at + ihl).min(limit));
        self.jobs.push(Job {
            covered: at..at + ihl,
            field: at + 10,
            pseudo: None,
            udp: false,
        });
        let total = usize::from(be16(self.buf, at + 2).unwrap_or(0));
        let end = if total >= ihl {
            (at + total).min(limit)
        } else {
            limit
        };
        let later_fragment = be16(self.buf, at + 6).is_some_and(|f| f & 0x1fff != 0);
        let Some(&protocol) = self.buf.get(at + 9) else {
            return;
        };
        if later_fragment || at + ihl > end {
            return;
        }
        let pseudo = Some((at + 12..at + 16, at + 16..at + 20));
        self.transport(protocol, at + ihl, end, pseudo, depth);
    }

    /// Record route, loose and strict source route, and timestamps with addresses.
    fn ipv4_options(&mut self, mut at: usize, end: usize) {
        while at < end {
            let kind = self.buf[at];
            match kind {
                0 => return,
                1 => {
                    at += 1;
                    continue;
                }
                _ => {}
            }
            let Some(&len) = self.buf.get(at + 1) else {
                return;
            };
            let len = usize::from(len);
            if len < 2 {
                return;
            }
            let opt_end = (at + len).min(end);
            match kind {
                7 | 131 | 137 => {
                    let mut a = at + 3;
                    while a + 4 <= opt_end {
                        self.v4(a);
                        a += 4;
                    }
                }
                68 => {
                    let flags = self.buf.get(at + 3).map_or(0, |f| f & 0x0f);
                    if flags == 1 || flags == 3 {
                        let mut a = at + 4;
                        while a + 8 <= opt_end {
                            self.v4(a);
                            a += 8;
                        }
                    }
                }
                _ => {}
            }
            at += len;
        }
    }

    fn ipv6(&mut self, at: usize, limit: usize, depth: u8) {
        self.v6(at + 8);
        self.v6(at + 24);
        let payload_len = usize::from(be16(self.buf, at + 4).unwrap_or(0));
        let end = if payload_len == 0 {
            limit
        } else {
            (at + 40 + payload_len).min(limit)
        };
        let Some(&first) = self.buf.get(at + 6) else {
            return;
        };
        let mut next = first;
        let mut p = at + 40;
        let mut final_dst = at + 24;
        loop {
            if p >= end {
                return;
            }
            let header_len = match next {
                0 | 60 | 43 => self.buf.get(p + 1).map(|l| (usize::from(*l) + 1) * 8),
                51 => self.buf.get(p + 1).map(|l| (usize::from(*l) + 2) * 4),
                44 => Some(8),
                _ => break,
            };
            let (Some(header_len), Some(&after)) = (header_len, self.buf.get(p)) else {
                return;
            };
            match next {
                43 => {
                    let header_end = (p + header_len).min(end);
                    let mut a = p + 8;
                    match self.buf.get(p + 2) {
                        // Type 0 (source route) and 2 (home address).
                        // While segments are left, the final destination (of the
                        // pseudo-header) is the last one listed.
                        Some(0 | 2) => {
                            let left = self.buf.get(p + 3).is_some_and(|n| *n > 0);
                            while a + 16 <= header_end {
                                self.v6(a);
                                if left {
                                    final_dst = a;
                                }
                                a += 16;
                            }
                        }
                        // Type 4 (segment routing): last entry + 1 segments.
                        Some(4) => {
                            let segments = self.buf.get(p + 4).map_or(0, |n| usize::from(*n) + 1);
                            for _ in 0..segments {
                                if a + 16 > header_end {
                                    break;
                                }
                                self.v6(a);
                                a += 16;
                            }
                        }
                        _ => {}
                    }
                }
                // A later fragment carries no transport header.
                44 if be16(self.buf, p + 2).is_some_and(|f| f >> 3 != 0) => return,
                _ => {}
            }
            next = after;
            p += header_len;
        }
        let pseudo = Some((at + 8..at + 24, final_dst..final_dst + 16));
        self.transport(next, p, end, pseudo, depth);
    }

    fn transport(&mut self, protocol: u8, p: usize, end: usize, pseudo: Pseudo, depth: u8) {
        match protocol {
            4 | 41 => self.ip(p, end, depth + 1),
            47 => self.gre(p, end, depth),
            17 => self.udp(p, end, pseudo, depth),
            6 => self.jobs.push(Job {
                covered: p..end,
                field: p + 16,
                pseudo,
                udp: false,
            }),
            1 => self.icmpv4(p, end, depth),
            58 => self.icmpv6(p, end, pseudo, depth),
            _ => {}
        }
    }

    fn gre(&mut self, p: usize, end: usize, depth: u8) {
        let Some((len, ethertype)) = tunnel::gre(&self.buf[p..end]) else {
            return;
        };
        if be16(self.buf, p).is_some_and(|flags| flags & 0x8000 != 0) {
            self.jobs.push(Job {
                covered: p..end,
                field: p + 4,
                pseudo: None,
                udp: false,
            });
        }
        if matches!(ethertype, 0x0800 | 0x86dd) {
            self.ip(p + len, end, depth + 1);
        }
    }

    fn udp(&mut self, p: usize, end: usize, pseudo: Pseudo, depth: u8) {
        let declared = usize::from(be16(self.buf, p + 4).unwrap_or(0));
        let end = if declared >= 8 {
            (p + declared).min(end)
        } else {
            end
        };
        self.jobs.push(Job {
            covered: p..end,
            field: p + 6,
            pseudo,
            udp: true,
        });
        let (Some(sport), Some(dport)) = (be16(self.buf, p), be16(self.buf, p + 2)) else {
            return;
        };
        let q = p + 8;
        if q >= end {
            return;
        }
        let payload = &self.buf[q..end];
        if let Some((ipv6_at, origin)) = teredo(sport, dport, payload) {
            if let Some(at) = origin {
                let obfuscated = q + at;
                let b = &self.buf[obfuscated..obfuscated + 4];
                let client = !u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                let mapped = !u32::from(self.map.ipv4(Ipv4Addr::from(client)));
                self.buf[obfuscated..obfuscated + 4].copy_from_slice(&mapped.to_be_bytes());
            }
            self.ip(q + ipv6_at, end, depth + 1);
        } else if let Some(at) = tunnel::gtp_u(sport, dport, payload) {
            self.ip(q + at, end, depth + 1);
        } else if let Some(at) = tunnel::ayiya(sport, dport, payload) {
            // The identity (an address for types 1 and 2) follows the fixed header.
            let id_len = 1usize << (self.buf[q] >> 4);
            match id_len {
                4 => self.v4(q + 8),
                16 => self.v6(q + 8),
                _ => {}
            }
            self.ip(q + at, end, depth + 1);
        }
    }

    fn icmpv4(&mut self, p: usize, end: usize, depth: u8) {
        self.jobs.push(Job {
            covered: p..end,
            field: p + 2,
            pseudo: None,
            udp: false,
        });
        match self.buf.get(p) {
            Some(3 | 4 | 11 | 12) => self.ip(p + 8, end, depth + 1),
            Some(5) => {
                self.v4(p + 4);
                self.ip(p + 8, end, depth + 1);
            }
            _ => {}
        }
    }

    fn icmpv6(&mut self, p: usize, end: usize, pseudo: Pseudo, depth: u8) {
        self.jobs.push(Job {
            covered: p..end,
            field: p + 2,
            pseudo,
            udp: false,
        });
        let Some(&kind) = self.buf.get(p) else {
            return;
        };
        match kind {
            1..=4 => self.ip(p + 8, end, depth + 1),
            130..=132 => self.v6(p + 8),
            143 => self.mld_report(p, end),
            133 => self.nd_options(p + 8, end, depth),
            134 => self.nd_options(p + 16, end, depth),
            135 | 136 => {
                self.v6(p + 8);
                self.nd_options(p + 24, end, depth);
            }
            137 => {
                self.v6(p + 8);
                self.v6(p + 24);
                self.nd_options(p + 40, end, depth);
            }
            _ => {}
        }
    }

    fn mld_report(&mut self, p: usize, end: usize) {
        let records = usize::from(be16(self.buf, p + 6).unwrap_or(0));
        let mut r = p + 8;
        for _ in 0..records {
            let (Some(&aux), Some(sources)) = (self.buf.get(r + 1), be16(self.buf, r + 2)) else {
                return;
            };
            if r + 4 >= end {
                return;
            }
            self.v6(r + 4);
            for s in 0..usize::from(sources) {
                let a = r + 20 + 16 * s;
                if a >= end {
                    return;
                }
                self.v6(a);
            }
            r += 20 + 16 * usize::from(sources) + 4 * usize::from(aux);
        }
    }

    fn nd_options(&mut self, mut o: usize, end: usize, depth: u8) {
        while o + 2 <= end {
            let kind = self.buf[o];
            let len = usize::from(self.buf[o + 1]) * 8;
            if len == 0 {
                return;
            }
            let opt_end = (o + len).min(end);
            match kind {
                1 | 2 => {
                    if len == 8 {
                        self.mac(o + 2);
                    } else {
                        self.zero(o + 2, len - 2);
                    }
                }
                3 => {
                    let plen = self.buf.get(o + 2).copied().unwrap_or(128);
                    self.v6_prefix(o + 16, 16, plen);
                }
                24 => {
                    let plen = self.buf.get(o + 2).copied().unwrap_or(128);
                    self.v6_prefix(o + 8, len.saturating_sub(8), plen);
                }
                25 => {
                    let mut a = o + 8;
                    while a < opt_end {
                        self.v6(a);
                        a += 16;
                    }
                }
                4 => self.ip(o + 8, opt_end, depth + 1),
                _ => {}
            }
            o += len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::keyed::{Key, Keyed};
    use super::*;
    use crate::decode::{Transport, decode_bytes};

    fn map() -> AddrMap {
        AddrMap::new(Keyed::new(Key::from_secret(b"frame")))
    }

    /// Ethernet + IPv4 (protocol 41) + IPv6 + ICMPv6 echo request, checksums right.
    fn isatap_echo() -> Vec<u8> {
        let inner_src: Ipv6Addr = "fd9c:30c:2da4:1::5efe:172.16.16.50".parse().unwrap();
        let inner_dst: Ipv6Addr = "fd9c:30c:2da4:1000::7".parse().unwrap();
        let mut icmp = vec![128, 0, 0, 0, 0, 1, 0, 7];
        icmp.extend_from_slice(b"abcdefgh");
        let mut pseudo = inner_src.octets().to_vec();
        pseudo.extend_from_slice(&inner_dst.octets());
        pseudo.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 58]);
        pseudo.extend_from_slice(&icmp);
        let ck = checksum::checksum(&pseudo);
        icmp[2..4].copy_from_slice(&ck.to_be_bytes());
        let mut v6 = vec![0x60, 0, 0, 0, 0, icmp.len() as u8, 58, 128];
        v6.extend_from_slice(&inner_src.octets());
        v6.extend_from_slice(&inner_dst.octets());
        v6.extend_from_slice(&icmp);
        let total = (20 + v6.len()) as u16;
        let mut v4 = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 41, 0, 0];
        v4[2..4].copy_from_slice(&total.to_be_bytes());
        v4.extend_from_slice(&[172, 16, 16, 50, 172, 16, 16, 31]);
        let ck = checksum::checksum(&v4);
        v4[10..12].copy_from_slice(&ck.to_be_bytes());
        v4.extend_from_slice(&v6);
        let mut eth = vec![
            0x00, 0x15, 0x5d, 0x11, 0x00, 0x31, 0x00, 0x15, 0x5d, 0x11, 0x00, 0x50,
        ];
        eth.extend_from_slice(&[0x08, 0x00]);
        eth.extend_from_slice(&v4);
        eth
    }

    #[test]
    fn tunnelled_echo_maps_every_layer_and_keeps_checksums() {
        let m = map();
        let orig = isatap_echo();
        let mut red = orig.clone();
        rewrite(&m, 1, &mut red).unwrap();
        assert_eq!(red.len(), orig.len());
        let (a, b) = (decode_bytes(1, &orig), decode_bytes(1, &red));
        assert_eq!(b.error, None);
        assert_eq!(a.ips.len(), b.ips.len());
        for (x, y) in a.ips.iter().zip(&b.ips) {
            let mapped = |ip: std::net::IpAddr| match ip {
                std::net::IpAddr::V4(v) => std::net::IpAddr::V4(m.ipv4(v)),
                std::net::IpAddr::V6(v) => std::net::IpAddr::V6(m.ipv6(v)),
            };
            assert_eq!(y.src, mapped(x.src));
            assert_eq!(y.dst, mapped(x.dst));
        }
        assert_eq!(b.link.src_mac, a.link.src_mac.map(|mac| m.mac(mac)));
        assert!(matches!(b.transport, Transport::Icmpv6(_)));
        // IPv4 header checksum verifies.
        assert_eq!(checksum::checksum(&red[14..34]), 0);
        // ICMPv6 checksum verifies with the new pseudo-header.
        let mut pseudo = red[34 + 8..34 + 40].to_vec();
        let icmp = &red[34 + 40..];
        pseudo.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 58]);
        pseudo.extend_from_slice(icmp);
        assert_eq!(checksum::checksum(&pseudo), 0);
    }

    #[test]
    fn truncated_addresses_are_zeroed_and_nothing_panics() {
        let m = map();
        let orig = isatap_echo();
        for len in 0..orig.len() {
            let mut red = orig[..len].to_vec();
            let _ = rewrite(&m, 1, &mut red);
            // No 3-byte run of the original outer source survives.
            if len >= 14 + 16 {
                assert_ne!(&red[14 + 12..14 + 15], &[172, 16, 16]);
            }
        }
        for lt in [0, 9, 101, 107, 113, 228, 229, 242, 276, 999] {
            for len in 0..64 {
                let mut b = orig[..len].to_vec();
                let _ = rewrite(&m, lt, &mut b);
            }
        }
    }

    #[test]
    fn unknown_link_types_are_refused() {
        let m = map();
        let mut b = isatap_echo();
        assert_eq!(rewrite(&m, 999, &mut b), Err(Refused::LinkType(999)));
        let mut lldp = isatap_echo();
        lldp[12..14].copy_from_slice(&[0x88, 0xcc]);
        assert_eq!(rewrite(&m, 1, &mut lldp), Err(Refused::NotIp(0x88cc)));
    }
}

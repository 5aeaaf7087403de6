//! The fast path from frame bytes to an [`Observation`] for the frames that
//! make up nearly all of a busy capture: Ethernet (with up to two VLAN tags)
//! carrying IPv4 or IPv6 echo, ISATAP/6to4/6in4 echo, and the TCP, UDP, ARP
//! and other chatter that cannot matter.
//!
//! Guarantees: the answer is exactly what [`super::observe()`] would give after
//! a full [`crate::decode::decode`] of a frame that decodes without error
//! (checked frame by frame by a test over every sample and corpus capture);
//! anything the fast path is not sure of is [`Quick::Slow`], for the full path.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Item;
use super::observe::{
    LinkFacts, Observation, Outer, TRACEROUTE_BASE_PORT, TRACEROUTE_PORT_SPAN, What,
};
use crate::capture::Frame;
use crate::decode::link::LINKTYPE_ETHERNET;
use crate::decode::tunnel::{AYIYA_PORT, GTP_U_PORT, TEREDO_PORT};
use crate::decode::{TCP_RST, TCP_SYN, TunnelKind};

/// What the fast path concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Quick {
    /// Decodes without error and cannot matter.
    Irrelevant,
    /// Decodes without error; this is its observation.
    Observed(Observation),
    /// Needs the full decoder.
    Slow,
}

/// IP protocols carried without further decoding: they decode cleanly and never matter.
const OPAQUE_PROTOCOLS: [u8; 6] = [2, 50, 89, 103, 112, 132];

#[inline(always)]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// A plain IPv4 header (no options, not a fragment) whose total length fits
/// the bytes: the header and the payload it delimits.
#[inline(always)]
fn ipv4(b: &[u8]) -> Option<(&[u8; 20], &[u8])> {
    let h = b.first_chunk::<20>()?;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let flags = u16::from_be_bytes([h[6], h[7]]);
    if h[0] != 0x45 || !(20..=b.len()).contains(&total) || flags & 0x3fff != 0 {
        return None;
    }
    Some((h, &b[20..total]))
}

/// An IPv6 header without extension-header checks (the transport decides)
/// whose payload length is non-zero and fits the bytes.
#[inline(always)]
fn ipv6(b: &[u8]) -> Option<(&[u8; 40], &[u8])> {
    let h = b.first_chunk::<40>()?;
    let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if h[0] >> 4 != 6 || len == 0 || 40 + len > b.len() {
        return None;
    }
    Some((h, &b[40..40 + len]))
}

fn v4_at(h: &[u8; 20], at: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(h[at], h[at + 1], h[at + 2], h[at + 3]))
}

fn v6_at(h: &[u8; 40], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&h[at..at + 16]);
    Ipv6Addr::from(a)
}

/// The echo request/reply in an ICMPv6 (`v6`) or ICMPv4 message, if it is one.
#[inline]
fn echo(m: &[u8], v6: bool) -> Option<What> {
    if m.len() < 8 {
        return None;
    }
    let (id, seq) = (be16(m, 4)?, be16(m, 6)?);
    let len = (m.len() - 8).min(usize::from(u16::MAX)) as u16;
    match (v6, m[0]) {
        (true, 128) | (false, 8) => Some(What::EchoRequest { id, seq, len }),
        (true, 129) | (false, 0) => Some(What::EchoReply { id, seq, len }),
        _ => None,
    }
}

/// ICMPv6 neighbor discovery types (router and neighbor solicitation and
/// advertisement, redirect): observed or checked by the full path.
fn is_nd(ty: u8) -> bool {
    (133..=137).contains(&ty)
}

/// The transport of a plain IP packet: an echo, or else irrelevant chatter
/// or unsure (the error).
#[inline(always)]
fn transport(protocol: u8, v6: bool, p: &[u8]) -> Result<What, Fast> {
    match (protocol, v6) {
        (58, true) | (1, false) => match echo(p, v6) {
            Some(w) => Ok(w),
            // Informational ICMPv6 that is neither echo nor neighbor
            // discovery (MLD, node information, ...): decodes to nothing.
            None if v6 && p.len() >= 8 && p[0] >= 128 && !is_nd(p[0]) => Err(Fast::Irrelevant),
            None => Err(Fast::Slow),
        },
        (6, _) => match p.get(13) {
            Some(flags) if p.len() >= 20 && flags & (TCP_SYN | TCP_RST) == 0 => {
                Err(Fast::Irrelevant)
            }
            _ => Err(Fast::Slow),
        },
        (17, _) => {
            let (Some(sport), Some(dport)) = (be16(p, 0), be16(p, 2)) else {
                return Err(Fast::Slow);
            };
            let tunnel_port = |x: u16| matches!(x, TEREDO_PORT | GTP_U_PORT | AYIYA_PORT);
            let traceroute = dport.wrapping_sub(TRACEROUTE_BASE_PORT) < TRACEROUTE_PORT_SPAN;
            if p.len() < 8 || tunnel_port(sport) || tunnel_port(dport) || traceroute {
                Err(Fast::Slow)
            } else {
                Err(Fast::Irrelevant)
            }
        }
        (proto, _) if OPAQUE_PROTOCOLS.contains(&proto) => Err(Fast::Irrelevant),
        _ => Err(Fast::Slow),
    }
}

/// What the fast path takes from a relevant packet: the innermost addresses,
/// hop limit and what it is, and the tunnel header outside it.
struct Packet {
    src: IpAddr,
    dst: IpAddr,
    hop_limit: u8,
    what: What,
    outer: Option<Outer>,
}

/// The packet of an Ethernet payload of type `ethertype` (plain IPv4, IPv6,
/// or IPv6 in IPv4); addresses are read only once the packet matters.
#[inline(always)]
fn network(ethertype: u16, l3: &[u8]) -> Result<Packet, Fast> {
    match ethertype {
        0x0800 => {
            let (h, payload) = ipv4(l3).ok_or(Fast::Slow)?;
            if h[9] != 41 {
                let what = transport(h[9], false, payload)?;
                return Ok(Packet {
                    src: v4_at(h, 12),
                    dst: v4_at(h, 16),
                    hop_limit: h[8],
                    what,
                    outer: None,
                });
            }
            let (ih, inner) = ipv6(payload).ok_or(Fast::Slow)?;
            let what = transport(ih[6], true, inner)?;
            let (src, dst) = (v6_at(ih, 8), v6_at(ih, 24));
            let outer = Outer {
                src: v4_at(h, 12),
                dst: v4_at(h, 16),
                ttl: h[8],
                kind: TunnelKind::six_in_four(&src, &dst),
            };
            Ok(Packet {
                src: IpAddr::V6(src),
                dst: IpAddr::V6(dst),
                hop_limit: ih[7],
                what,
                outer: Some(outer),
            })
        }
        0x86dd => {
            let (h, payload) = ipv6(l3).ok_or(Fast::Slow)?;
            let what = transport(h[6], true, payload)?;
            Ok(Packet {
                src: IpAddr::V6(v6_at(h, 8)),
                dst: IpAddr::V6(v6_at(h, 24)),
                hop_limit: h[7],
                what,
                outer: None,
            })
        }
        0x8100 | 0x88a8 | 0x9100 | 0x8864 | 0x8847 | 0x8848 => Err(Fast::Slow),
        _ => Err(Fast::Irrelevant),
    }
}

/// Frames the fast path knows: Ethernet with at most two VLAN tags.
pub fn quick(frame: &Frame<'_>) -> Quick {
    let mut out = Vec::new();
    match quick_into(frame, &mut out) {
        Fast::Irrelevant => Quick::Irrelevant,
        Fast::Slow => Quick::Slow,
        Fast::Observed => match out.pop() {
            Some(Item::Observed(o)) => Quick::Observed(o),
            _ => Quick::Slow,
        },
    }
}

/// What [`quick_into`] did with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fast {
    /// Decodes without error and cannot matter.
    Irrelevant,
    /// Decodes without error; its observation was pushed.
    Observed,
    /// Needs the full decoder.
    Slow,
}

/// [`quick`] writing the observation straight into `out` (the hot path:
/// the observation is built where it stays, not moved through return values).
#[inline]
pub fn quick_into(frame: &Frame<'_>, out: &mut Vec<Item>) -> Fast {
    if frame.link_type != LINKTYPE_ETHERNET {
        return Fast::Slow;
    }
    let b = frame.bytes;
    let Some(eth) = b.first_chunk::<14>() else {
        return Fast::Slow;
    };
    let mut ethertype = u16::from_be_bytes([eth[12], eth[13]]);
    let mut at = 14;
    let mut vlan = None;
    for _ in 0..2 {
        if !matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
            break;
        }
        let (Some(tci), Some(next)) = (be16(b, at), be16(b, at + 2)) else {
            return Fast::Slow;
        };
        vlan = Some(tci & 0x0fff);
        ethertype = next;
        at += 4;
    }
    let Packet {
        src,
        dst,
        hop_limit,
        what,
        outer,
    } = match network(ethertype, &b[at..]) {
        Ok(p) => p,
        Err(fast) => return fast,
    };
    let mac = |from: usize| {
        let mut m = [0u8; 6];
        m.copy_from_slice(&eth[from..from + 6]);
        Some(m)
    };
    out.push(Item::Observed(Observation {
        frame: frame.index,
        ts_ns: frame.ts_ns,
        link: LinkFacts {
            src_mac: mac(6),
            dst_mac: mac(0),
            vlan,
            raw: false,
            interface: frame.interface,
        },
        outer,
        src,
        dst,
        hop_limit,
        what,
    }));
    Fast::Observed
}

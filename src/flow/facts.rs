//! Control-plane and path facts gathered while reading: Router Solicitations
//! and Advertisements (what the ISATAP router publishes), Neighbor
//! Solicitations and Advertisements (which MAC answers for which address,
//! which target never answers), protocol-41 conversations and their source
//! checks, ICMPv4 errors about tunnel packets, and the IPv6 prefixes seen on
//! MAC-less (IP-HTTPS / tunnel) interfaces of each capture.
//!
//! Guarantees: every list is bounded ([`MAX_EACH`], [`MAX_TUNNEL_PAIRS`]);
//! what does not fit is counted in `dropped`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::FastMap;
pub use super::pairs::{Ends, MAX_TUNNEL_PAIRS, TunnelPair, TunnelPairs};

use super::observe::{Observation, Outer, RaContent, What};
use crate::decode::addr::isatap_ipv4;
use crate::decode::ndp::mask;
use crate::decode::quoted::PROTO_IPV6;
use crate::decode::{Mac, TunnelKind};

/// Most entries kept in each list of facts.
pub const MAX_EACH: usize = 4096;
/// Where a fact was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct At {
    pub capture: u16,
    pub frame: u64,
    pub ts_ns: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterAdvertSeen {
    pub at: At,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub outer: Option<Outer>,
    pub src_mac: Option<Mac>,
    pub content: RaContent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SolicitSeen {
    pub at: At,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub outer: Option<Outer>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighborSeen {
    pub at: At,
    pub src: IpAddr,
    pub target: Ipv6Addr,
    /// The link-layer address option, else the frame's source MAC.
    pub mac: Option<Mac>,
}

/// An ICMPv4 error about a protocol-41 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelErrorSeen {
    pub at: At,
    /// Who sent the error.
    pub from: IpAddr,
    pub ty: u8,
    pub code: u8,
    pub param: u32,
    /// Outer addresses of the quoted protocol-41 packet.
    pub tunnel_src: IpAddr,
    pub tunnel_dst: IpAddr,
}

/// A protocol-41 packet whose inner ISATAP source embeds another IPv4 than the outer source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceMismatch {
    pub at: At,
    pub outer_src: IpAddr,
    pub outer_dst: IpAddr,
    pub inner_src: IpAddr,
    pub embedded: Ipv4Addr,
}

/// Everything gathered besides probes.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub router_solicits: Vec<SolicitSeen>,
    pub router_adverts: Vec<RouterAdvertSeen>,
    pub neighbor_solicits: Vec<NeighborSeen>,
    pub neighbor_adverts: Vec<NeighborSeen>,
    pub tunnel_errors: Vec<TunnelErrorSeen>,
    pub source_mismatches: Vec<SourceMismatch>,
    /// Protocol-41 (and other IPv4-carried tunnel) traffic by (outer src, outer dst).
    pub tunnels: TunnelPairs,
    /// /64 prefixes of addresses seen on MAC-less (IP-HTTPS, tunnel)
    /// interfaces, by capture, with how many packets carried each.
    pub raw_link_prefixes: FastMap<u16, FastMap<Ipv6Addr, u64>>,
    /// Counts of facts not kept because a list was full.
    pub dropped: u64,
}

impl Facts {
    /// Takes the facts of one observation of capture number `capture`: its
    /// tunnel, and what it says of the control plane when it is not a probe
    /// packet.
    #[inline]
    pub fn add(&mut self, capture: u16, o: &Observation) {
        let at = At {
            capture,
            frame: o.frame,
            ts_ns: o.ts_ns,
        };
        if let Some(outer) = &o.outer {
            self.tunnel(at, outer, o);
        }
        // Probe packets, nearly all of a busy capture, say nothing more.
        let probe = matches!(
            o.what,
            What::EchoRequest { .. } | What::EchoReply { .. } | What::Udp { .. } | What::Tcp { .. }
        );
        if !probe {
            self.control(at, o);
        }
    }

    /// Router and neighbor discovery, and ICMPv4 errors about tunnel packets.
    #[inline(never)]
    fn control(&mut self, at: At, o: &Observation) {
        match &o.what {
            What::RouterSolicit => {
                let seen = SolicitSeen {
                    at,
                    src: o.src,
                    dst: o.dst,
                    outer: o.outer,
                };
                push(&mut self.router_solicits, seen, &mut self.dropped);
            }
            What::RouterAdvert(content) => {
                let seen = RouterAdvertSeen {
                    at,
                    src: o.src,
                    dst: o.dst,
                    outer: o.outer,
                    src_mac: o.link.src_mac,
                    content: (**content).clone(),
                };
                push(&mut self.router_adverts, seen, &mut self.dropped);
            }
            What::NeighborSolicit(n) => {
                let seen = NeighborSeen {
                    at,
                    src: o.src,
                    target: n.target,
                    mac: n.lladdr.or(o.link.src_mac),
                };
                push(&mut self.neighbor_solicits, seen, &mut self.dropped);
            }
            What::NeighborAdvert { neighbor: n, .. } => {
                let seen = NeighborSeen {
                    at,
                    src: o.src,
                    target: n.target,
                    mac: n.lladdr.or(o.link.src_mac),
                };
                push(&mut self.neighbor_adverts, seen, &mut self.dropped);
            }
            What::Error {
                v6: false,
                ty,
                code,
                param,
                quoted: Some(q),
            } if q.ip.protocol == PROTO_IPV6 => {
                let seen = TunnelErrorSeen {
                    at,
                    from: o.src,
                    ty: *ty,
                    code: *code,
                    param: *param,
                    tunnel_src: q.ip.src,
                    tunnel_dst: q.ip.dst,
                };
                push(&mut self.tunnel_errors, seen, &mut self.dropped);
            }
            _ => {}
        }
    }

    #[inline]
    fn tunnel(&mut self, at: At, outer: &Outer, o: &Observation) {
        let ends = Ends {
            src: outer.src,
            dst: outer.dst,
        };
        if !self.tunnels.add(&ends, at, outer.kind) {
            self.dropped += 1;
        }
        if outer.kind == TunnelKind::Isatap
            && let (IpAddr::V6(inner), IpAddr::V4(outer_src)) = (o.src, outer.src)
            && let Some(embedded) = isatap_ipv4(&inner)
            && embedded != outer_src
        {
            let seen = SourceMismatch {
                at,
                outer_src: outer.src,
                outer_dst: outer.dst,
                inner_src: o.src,
                embedded,
            };
            push(&mut self.source_mismatches, seen, &mut self.dropped);
        }
    }

    /// Counts the /64s of a native IPv6 packet seen on a MAC-less interface
    /// (any packet, not only probes: client traffic shows whose clients are there).
    pub fn add_raw_link_packet(&mut self, capture: u16, src: IpAddr, dst: IpAddr) {
        for addr in [src, dst] {
            if let IpAddr::V6(a) = addr
                && is_routable(&a)
                && isatap_ipv4(&a).is_none()
            {
                let counts = self.raw_link_prefixes.entry(capture).or_default();
                let key = mask(a, 64);
                if counts.len() < 64 || counts.contains_key(&key) {
                    *counts.entry(key).or_default() += 1;
                }
            }
        }
    }

    /// MAC addresses that answered for `target` in Neighbor Advertisements.
    pub fn macs_of(&self, target: &Ipv6Addr) -> impl Iterator<Item = Mac> + '_ {
        let target = *target;
        self.neighbor_adverts
            .iter()
            .filter(move |na| na.target == target)
            .filter_map(|na| na.mac)
    }

    /// The address a MAC answers for (from Neighbor Advertisements and the
    /// source link-layer option of solicitations), preferring global addresses.
    pub fn address_of_mac(&self, mac: &Mac) -> Option<Ipv6Addr> {
        let from_na = self
            .neighbor_adverts
            .iter()
            .filter(|na| na.mac.as_ref() == Some(mac))
            .map(|na| na.target);
        let from_ns = self
            .neighbor_solicits
            .iter()
            .filter(|ns| ns.mac.as_ref() == Some(mac))
            .filter_map(|ns| match ns.src {
                IpAddr::V6(a) if !a.is_unspecified() => Some(a),
                _ => None,
            });
        let mut best = None;
        for a in from_na.chain(from_ns) {
            if is_routable(&a) {
                return Some(a);
            }
            best.get_or_insert(a);
        }
        best
    }
}

/// Not link-local, multicast, loopback or unspecified.
pub fn is_routable(a: &Ipv6Addr) -> bool {
    let first = a.segments()[0];
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast() || first & 0xffc0 == 0xfe80)
}

fn push<T>(list: &mut Vec<T>, item: T, dropped: &mut u64) {
    if list.len() < MAX_EACH {
        list.push(item);
    } else {
        *dropped += 1;
    }
}

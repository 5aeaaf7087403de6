//! From a decoded frame to an [`Observation`]: the few owned facts the
//! correlation needs (innermost addresses and hop limit, the tunnel's outer
//! header, link addresses, and what the packet is), or nothing for frames that
//! cannot matter (LAN chatter, ARP, non-probe UDP/TCP).
//!
//! Guarantees: no allocation except for Router Advertisements (their prefix
//! and route lists) and neighbor discovery messages, which are rare.

use std::net::{IpAddr, Ipv6Addr};

use crate::capture::Frame;
use crate::decode::icmp::{ICMPV4_DEST_UNREACH, ICMPV4_TIME_EXCEEDED};
use crate::decode::ndp::{NdOption, PrefixInfo, RouteInfo};
use crate::decode::{
    Decoded, Icmpv4Message, Icmpv6Message, LinkKind, Mac, Quoted, TCP_RST, TCP_SYN, Transport,
    TunnelKind,
};

/// First UDP port of classic traceroute probes, and how far the range reaches.
pub const TRACEROUTE_BASE_PORT: u16 = 33434;
pub const TRACEROUTE_PORT_SPAN: u16 = 600;

/// Link-layer facts of a sighting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LinkFacts {
    pub src_mac: Option<Mac>,
    pub dst_mac: Option<Mac>,
    pub vlan: Option<u16>,
    /// The frame came from a link without MAC addresses (raw IP, tunnel interface).
    pub raw: bool,
    /// Linux interface index (SLL2), or the pcapng interface id otherwise.
    pub interface: u32,
}

/// The tunnel header outside the innermost packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outer {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub kind: TunnelKind,
}

/// A Router Advertisement's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaContent {
    pub router_lifetime: u16,
    pub prefixes: Vec<PrefixInfo>,
    pub routes: Vec<RouteInfo>,
    pub mtu: Option<u32>,
}

/// What a relevant packet is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    EchoRequest {
        id: u16,
        seq: u16,
        len: u16,
    },
    EchoReply {
        id: u16,
        seq: u16,
        len: u16,
    },
    /// UDP in the traceroute port range.
    Udp {
        sport: u16,
        dport: u16,
    },
    /// A TCP segment that may be a probe (SYN) or answer one (SYN-ACK, RST).
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
    },
    /// An ICMPv6 or ICMPv4 error and the packet it quotes.
    Error {
        v6: bool,
        ty: u8,
        code: u8,
        param: u32,
        /// Boxed: errors are rare and the quote is large.
        quoted: Option<Box<Quoted>>,
    },
    RouterSolicit,
    RouterAdvert(Box<RaContent>),
    /// Boxed, as the advertisement's neighbor: both are rare, and inline
    /// they would make every observation larger.
    NeighborSolicit(Box<Neighbor>),
    NeighborAdvert {
        neighbor: Box<Neighbor>,
        router: bool,
    },
}

/// The address a neighbor solicitation asks about or an advertisement
/// announces, and the link-layer address option it carried (the sender's in
/// a solicitation, the target's in an advertisement).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbor {
    pub target: Ipv6Addr,
    pub lladdr: Option<Mac>,
}

/// One relevant packet as seen at one capture point (which one, the caller
/// keeps beside it: every observation of a batch comes from the same capture).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub frame: u64,
    pub ts_ns: i64,
    pub link: LinkFacts,
    pub outer: Option<Outer>,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub hop_limit: u8,
    pub what: What,
}

fn mac(bytes: Option<&[u8]>) -> Option<Mac> {
    bytes
        .and_then(|b| b.get(..6))
        .and_then(|b| b.try_into().ok())
}

/// The observation for a decoded frame, if the frame can matter.
pub fn observe(frame: &Frame<'_>, d: &Decoded<'_>) -> Option<Observation> {
    let inner = d.innermost()?;
    let what = match &d.transport {
        Transport::Icmpv6(m) => match &m.message {
            Icmpv6Message::EchoRequest(e) => What::EchoRequest {
                id: e.id,
                seq: e.seq,
                len: e.data.len().min(usize::from(u16::MAX)) as u16,
            },
            Icmpv6Message::EchoReply(e) => What::EchoReply {
                id: e.id,
                seq: e.seq,
                len: e.data.len().min(usize::from(u16::MAX)) as u16,
            },
            Icmpv6Message::Error { param, quoted } => What::Error {
                v6: true,
                ty: m.ty,
                code: m.code,
                param: *param,
                quoted: quoted.map(Box::new),
            },
            Icmpv6Message::RouterSolicit(_) => What::RouterSolicit,
            Icmpv6Message::RouterAdvert(ra) => {
                let mut content = RaContent {
                    router_lifetime: ra.router_lifetime,
                    prefixes: Vec::new(),
                    routes: Vec::new(),
                    mtu: None,
                };
                for opt in ra.options.iter() {
                    match opt {
                        NdOption::Prefix(p) => content.prefixes.push(p),
                        NdOption::Route(r) => content.routes.push(r),
                        NdOption::Mtu(m) => content.mtu = Some(m),
                        _ => {}
                    }
                }
                What::RouterAdvert(Box::new(content))
            }
            Icmpv6Message::NeighborSolicit { target, options } => {
                What::NeighborSolicit(Box::new(Neighbor {
                    target: *target,
                    lladdr: mac(options.source_link_addr()),
                }))
            }
            Icmpv6Message::NeighborAdvert {
                target,
                options,
                router,
                ..
            } => What::NeighborAdvert {
                neighbor: Box::new(Neighbor {
                    target: *target,
                    lladdr: mac(options.target_link_addr()),
                }),
                router: *router,
            },
            _ => return None,
        },
        Transport::Icmpv4(m) => match &m.message {
            Icmpv4Message::EchoRequest(e) => What::EchoRequest {
                id: e.id,
                seq: e.seq,
                len: e.data.len().min(usize::from(u16::MAX)) as u16,
            },
            Icmpv4Message::EchoReply(e) => What::EchoReply {
                id: e.id,
                seq: e.seq,
                len: e.data.len().min(usize::from(u16::MAX)) as u16,
            },
            Icmpv4Message::Error { param, quoted }
                if m.ty == ICMPV4_DEST_UNREACH || m.ty == ICMPV4_TIME_EXCEEDED =>
            {
                What::Error {
                    v6: false,
                    ty: m.ty,
                    code: m.code,
                    param: *param,
                    quoted: quoted.map(Box::new),
                }
            }
            _ => return None,
        },
        Transport::Udp(u) => {
            let in_range = |p: u16| p.wrapping_sub(TRACEROUTE_BASE_PORT) < TRACEROUTE_PORT_SPAN;
            if !in_range(u.dport) {
                return None;
            }
            What::Udp {
                sport: u.sport,
                dport: u.dport,
            }
        }
        Transport::Tcp(t) => {
            let syn = t.flags & TCP_SYN != 0;
            let rst = t.flags & TCP_RST != 0;
            // Probes are SYNs; answers are SYN-ACKs and RSTs. Data segments cannot matter.
            if !(syn || rst) {
                return None;
            }
            What::Tcp {
                sport: t.sport,
                dport: t.dport,
                seq: t.seq,
                ack: t.ack,
                flags: t.flags,
            }
        }
        _ => return None,
    };
    let outer = d.tunnel().map(|(t, o)| Outer {
        src: o.src,
        dst: o.dst,
        ttl: o.hop_limit,
        kind: t.kind,
    });
    let raw = matches!(
        d.link.kind,
        LinkKind::RawIp | LinkKind::Null | LinkKind::Ppp
    ) || (d.link.src_mac.is_none() && d.link.dst_mac.is_none());
    Some(Observation {
        frame: frame.index,
        ts_ns: frame.ts_ns,
        link: LinkFacts {
            src_mac: d.link.src_mac,
            dst_mac: d.link.dst_mac,
            vlan: d.link.vlan_ids().last().copied(),
            raw,
            interface: d.link.ifindex.unwrap_or(frame.interface),
        },
        outer,
        src: inner.src,
        dst: inner.dst,
        hop_limit: inner.hop_limit,
        what,
    })
}

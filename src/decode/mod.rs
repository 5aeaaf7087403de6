//! Frame decoding: link → IPv4/IPv6 → (protocol 41 | Teredo | GRE → IP)* →
//! ICMPv6 / ICMPv4 / UDP / TCP.
//!
//! Guarantees: [`decode`] never panics and never allocates; it returns every
//! layer that parsed, borrowed from the frame, plus the typed error that
//! stopped it (lax decoding). Tunnels nest at most [`MAX_TUNNEL_DEPTH`] deep.

pub mod addr;
pub mod bytes;
pub mod error;
pub mod ext;
pub mod icmp;
mod ip;
pub mod link;
pub mod ndp;
pub mod quoted;
pub mod tunnel;

use std::net::IpAddr;

use arrayvec::ArrayVec;

pub use error::{DecodeError, ErrorKind, Layer};
pub use icmp::{Echo, Icmpv4, Icmpv4Message, Icmpv6, Icmpv6Message, RouterAdvert};
pub use link::{Link, LinkKind, Mac};
pub use quoted::{Quoted, QuotedIp};
pub use tunnel::{TeredoHeader, Tunnel, TunnelKind};

use crate::capture::Frame;
use crate::capture::file::LINKTYPE_NO_INTERFACE;

/// Most encapsulations unwrapped before decoding stops with an error.
pub const MAX_TUNNEL_DEPTH: usize = 4;
const MAX_IP_LAYERS: usize = MAX_TUNNEL_DEPTH + 1;

/// Whether an IP packet is a fragment, and which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fragment {
    Whole,
    /// Offset 0 with more fragments: its transport header is present.
    First,
    /// A later fragment: no transport header.
    Later,
}

/// One IP header of the tunnel stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpLayer {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The protocol after any IPv6 extension headers.
    pub protocol: u8,
    /// Hop limit (IPv6) or TTL (IPv4).
    pub hop_limit: u8,
    /// Frame offset of this header.
    pub offset: usize,
    pub fragment: Fragment,
    /// IPv4 identification, or the IPv6 fragment identification (else 0).
    pub ident: u32,
    /// How this layer was reached; `None` for the outermost.
    pub via: Option<Tunnel>,
}

impl IpLayer {
    pub fn is_v6(&self) -> bool {
        self.src.is_ipv6()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp<'a> {
    pub sport: u16,
    pub dport: u16,
    pub payload: &'a [u8],
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
}

/// What the innermost IP packet carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport<'a> {
    /// Nothing decoded beyond IP (later fragment, no next header, non-IP, error).
    None,
    Icmpv6(Icmpv6<'a>),
    Icmpv4(Icmpv4<'a>),
    Udp(Udp<'a>),
    Tcp(Tcp),
    /// A protocol this decoder does not look into.
    Other(u8),
}

/// A decoded frame: the layers that parsed and the error that stopped decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub link: Link,
    /// Outermost first; the last is the packet delivered through every tunnel.
    pub ips: ArrayVec<IpLayer, MAX_IP_LAYERS>,
    pub transport: Transport<'a>,
    pub error: Option<DecodeError>,
}

impl<'a> Decoded<'a> {
    /// The packet delivered through every tunnel.
    pub fn innermost(&self) -> Option<&IpLayer> {
        self.ips.last()
    }

    /// The tunnel the innermost packet came through and the IP header outside it.
    pub fn tunnel(&self) -> Option<(Tunnel, &IpLayer)> {
        let inner = self.ips.last()?;
        let via = inner.via?;
        let outer = self.ips.get(self.ips.len().checked_sub(2)?)?;
        Some((via, outer))
    }

    /// A Teredo bubble: IPv6 with no next header and no payload.
    pub fn is_teredo_bubble(&self) -> bool {
        matches!(self.tunnel(), Some((t, _)) if t.kind == TunnelKind::Teredo)
            && self.innermost().is_some_and(|ip| ip.protocol == 59)
    }
}

/// Decodes one captured frame.
pub fn decode<'a>(frame: &Frame<'a>) -> Decoded<'a> {
    decode_bytes(frame.link_type, frame.bytes)
}

/// Decodes the bytes of a frame of link type `link_type`.
pub fn decode_bytes(link_type: u32, bytes: &[u8]) -> Decoded<'_> {
    let (link, network) = link::parse(link_type, bytes);
    let mut decoded = Decoded {
        link,
        ips: ArrayVec::new(),
        transport: Transport::None,
        error: None,
    };
    if link_type == LINKTYPE_NO_INTERFACE {
        decoded.error = Some(DecodeError {
            layer: Layer::Capture,
            offset: 0,
            kind: ErrorKind::NoInterface,
        });
        return decoded;
    }
    match network {
        Ok(link::Network::Ip { at, version }) => ip::walk(bytes, at, version, &mut decoded),
        Ok(link::Network::Other(_)) => {}
        Err(e) => decoded.error = Some(e),
    }
    decoded
}

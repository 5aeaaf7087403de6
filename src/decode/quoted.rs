//! The packet quoted inside an ICMPv4 or ICMPv6 error: its addresses, protocol,
//! hop limit as quoted, and the echo id/seq or ports that tie it to a probe.
//! An ICMPv4 error about a protocol-41 packet also yields the tunnelled IPv6
//! header when the quote is long enough to hold it.
//!
//! Guarantees: quotes are short by nature (IPv4 routers may quote only the
//! header and 8 bytes), so a cut quote is not an error; whatever parsed is kept.

use std::net::IpAddr;

use etherparse::LaxIpSlice;

use super::bytes::{be16, be32};

pub const PROTO_ICMPV4: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_IPV6: u8 = 41;
pub const PROTO_ICMPV6: u8 = 58;

/// One quoted IP header and what its first payload bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotedIp {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub hop_limit: u8,
    pub icmp_type: Option<u8>,
    /// Identifier and sequence number of a quoted echo request or reply.
    pub echo: Option<(u16, u16)>,
    /// Source and destination port of quoted UDP or TCP.
    pub ports: Option<(u16, u16)>,
    pub tcp_seq: Option<u32>,
}

/// A quoted packet; `inner` is the IPv6 packet a quoted protocol-41 packet carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quoted {
    pub ip: QuotedIp,
    pub inner: Option<QuotedIp>,
}

impl Quoted {
    /// The innermost quoted packet: what the probe itself looked like.
    pub fn probe(&self) -> &QuotedIp {
        self.inner.as_ref().unwrap_or(&self.ip)
    }
}

/// Decodes the quote at the start of `b` (the ICMP error body).
pub fn parse(b: &[u8]) -> Option<Quoted> {
    let ip = quoted_ip(b)?;
    let inner = if ip.0.protocol == PROTO_IPV6 {
        quoted_ip(ip.1).map(|(q, _)| q)
    } else {
        None
    };
    Some(Quoted { ip: ip.0, inner })
}

fn quoted_ip(b: &[u8]) -> Option<(QuotedIp, &[u8])> {
    let (slice, _ext_error) = LaxIpSlice::from_slice(b).ok()?;
    let (hop_limit, src, dst) = match &slice {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            (
                h.ttl(),
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
            )
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            (
                h.hop_limit(),
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
            )
        }
    };
    let payload = slice.payload();
    let protocol = payload.ip_number.0;
    let body = payload.payload;
    let mut q = QuotedIp {
        src,
        dst,
        protocol,
        hop_limit,
        icmp_type: None,
        echo: None,
        ports: None,
        tcp_seq: None,
    };
    let first_fragment = !payload.fragmented || is_first_fragment(&slice);
    if first_fragment {
        match protocol {
            PROTO_ICMPV6 | PROTO_ICMPV4 => {
                q.icmp_type = body.first().copied();
                let echo_types: [u8; 2] = if protocol == PROTO_ICMPV6 {
                    [128, 129]
                } else {
                    [8, 0]
                };
                if q.icmp_type.is_some_and(|t| echo_types.contains(&t)) {
                    q.echo = be16(body, 4).zip(be16(body, 6));
                }
            }
            PROTO_UDP | PROTO_TCP => {
                q.ports = be16(body, 0).zip(be16(body, 2));
                if protocol == PROTO_TCP {
                    q.tcp_seq = be32(body, 4);
                }
            }
            _ => {}
        }
    }
    Some((q, body))
}

fn is_first_fragment(slice: &LaxIpSlice<'_>) -> bool {
    match slice {
        LaxIpSlice::Ipv4(v4) => v4.header().fragments_offset().value() == 0,
        LaxIpSlice::Ipv6(v6) => {
            let exts = v6.extensions();
            exts.first_header()
                .and_then(|first| super::ext::fragment_header(first.0, exts.slice()))
                .is_none_or(|f| f.offset == 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv4 header (protocol 41) + 8 bytes: the minimum an ICMPv4 error carries.
    fn v4_quote_of_proto41() -> Vec<u8> {
        let mut q = vec![
            0x45, 0, 0, 124, 0x12, 0x34, 0, 0, 127, 41, 0, 0, 172, 16, 16, 5, 172, 16, 16, 31,
        ];
        q.extend_from_slice(&[0x60, 0, 0, 0, 0, 40, 58, 128]);
        q
    }

    #[test]
    fn short_proto41_quote_is_recognised() {
        let q = parse(&v4_quote_of_proto41()).unwrap();
        assert_eq!(q.ip.protocol, PROTO_IPV6);
        assert_eq!(q.ip.hop_limit, 127);
        assert_eq!(q.ip.dst, "172.16.16.31".parse::<IpAddr>().unwrap());
        assert_eq!(q.inner, None);
    }

    #[test]
    fn quoted_echo_request() {
        let mut q = vec![0x60, 0, 0, 0, 0, 16, 58, 1];
        q.extend_from_slice(
            &"fd9c:30c:2da4:1::5efe:ac10:1005"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        q.extend_from_slice(
            &"fd9c:30c:2da4:1000::7"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        q.extend_from_slice(&[128, 0, 0, 0, 0, 1, 0, 3]);
        let quoted = parse(&q).unwrap();
        assert_eq!(quoted.ip.echo, Some((1, 3)));
        assert_eq!(quoted.ip.hop_limit, 1);
        for len in 0..q.len() {
            // Any cut either parses partially or yields nothing; it never panics.
            let _ = parse(&q[..len]);
        }
    }
}

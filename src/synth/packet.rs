//! Byte builders for synthetic packets, as real stacks put them on the wire:
//! Ethernet (optionally 802.1Q-tagged), IPv4 with header checksum, IPv6,
//! ICMPv6 and UDP with pseudo-header checksums, ICMPv4, and the Neighbor
//! Discovery options the diagnosis reads.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::decode::Mac;

/// An IPv6 packet before serialisation; forwarding decrements `hop_limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V6 {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    pub next_header: u8,
    pub payload: Vec<u8>,
}

impl V6 {
    pub fn bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(40 + self.payload.len());
        b.extend_from_slice(&[0x60, 0, 0, 0]);
        b.extend_from_slice(&(self.payload.len() as u16).to_be_bytes());
        b.push(self.next_header);
        b.push(self.hop_limit);
        b.extend_from_slice(&self.src.octets());
        b.extend_from_slice(&self.dst.octets());
        b.extend_from_slice(&self.payload);
        b
    }

    /// The packet after one router hop.
    pub fn forwarded(&self) -> V6 {
        V6 {
            hop_limit: self.hop_limit.saturating_sub(1),
            ..self.clone()
        }
    }
}

fn sum16(data: &[u8], mut acc: u32) -> u32 {
    for chunk in data.chunks(2) {
        let word = if chunk.len() == 2 {
            u16::from_be_bytes([chunk[0], chunk[1]])
        } else {
            u16::from_be_bytes([chunk[0], 0])
        };
        acc += u32::from(word);
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum16(data, 0))
}

/// Upper-layer checksum over the IPv6 pseudo-header.
fn v6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, next: u8, data: &[u8]) -> u16 {
    let mut acc = sum16(&src.octets(), 0);
    acc = sum16(&dst.octets(), acc);
    acc = sum16(&(data.len() as u32).to_be_bytes(), acc);
    acc = sum16(&[0, 0, 0, next], acc);
    fold(sum16(data, acc))
}

/// An ICMPv6 message (type, code, body after the checksum) with its checksum.
pub fn icmpv6(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, ty: u8, code: u8, body: &[u8]) -> V6 {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(body);
    let c = v6_checksum(&src, &dst, 58, &m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    V6 {
        src,
        dst,
        hop_limit,
        next_header: 58,
        payload: m,
    }
}

/// ICMPv6 echo request (128) or reply (129).
pub fn echo6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    reply: bool,
    id: u16,
    seq: u16,
    data: &[u8],
) -> V6 {
    let mut body = Vec::with_capacity(4 + data.len());
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(&seq.to_be_bytes());
    body.extend_from_slice(data);
    icmpv6(src, dst, hop_limit, if reply { 129 } else { 128 }, 0, &body)
}

/// An ICMPv6 error quoting `offending` (as much as fits in 1280 bytes).
pub fn error6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    ty: u8,
    code: u8,
    param: u32,
    offending: &V6,
) -> V6 {
    let mut body = param.to_be_bytes().to_vec();
    let quoted = offending.bytes();
    body.extend_from_slice(&quoted[..quoted.len().min(1280 - 48)]);
    icmpv6(src, dst, hop_limit, ty, code, &body)
}

/// A UDP datagram in IPv6.
pub fn udp6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    sport: u16,
    dport: u16,
    data: &[u8],
) -> V6 {
    let mut u = Vec::with_capacity(8 + data.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    let c = v6_checksum(&src, &dst, 17, &u);
    u[6..8].copy_from_slice(&c.to_be_bytes());
    V6 {
        src,
        dst,
        hop_limit,
        next_header: 17,
        payload: u,
    }
}

/// The packet split into fragments (RFC 8200 §4.5) no larger than `mtu`, as
/// a source host sends it once it has learned that path MTU.
pub fn fragments(p: &V6, mtu: usize, id: u32) -> Vec<V6> {
    // Each fragment but the last carries a multiple of 8 bytes.
    let room = (mtu - 40 - 8) & !7;
    let chunks: Vec<&[u8]> = p.payload.chunks(room).collect();
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let more = u16::from(i + 1 < chunks.len());
            let offset = ((i * room) as u16) | more;
            let mut f = vec![p.next_header, 0];
            f.extend_from_slice(&offset.to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(chunk);
            V6 {
                next_header: 44,
                payload: f,
                ..p.clone()
            }
        })
        .collect()
}

/// The link-local address a stack derives from a MAC (modified EUI-64).
pub fn link_local(mac: Mac) -> Ipv6Addr {
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([mac[0] ^ 0x02, mac[1]]),
        u16::from_be_bytes([mac[2], 0xff]),
        u16::from_be_bytes([0xfe, mac[3]]),
        u16::from_be_bytes([mac[4], mac[5]]),
    )
}

/// An IPv4 packet with a valid header checksum (DF set, as Windows sends).
pub fn ipv4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    protocol: u8,
    ident: u16,
    payload: &[u8],
) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&ident.to_be_bytes());
    h.extend_from_slice(&[0x40, 0, ttl, protocol, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// An ICMPv4 message (type, code, 4 bytes of "rest of header", body).
pub fn icmpv4(ty: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(body);
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// An Ethernet frame, 802.1Q-tagged when `vlan` is given.
pub fn ethernet(dst: Mac, src: Mac, vlan: Option<u16>, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(id) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&(id & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    while f.len() < 60 {
        f.push(0); // Ethernet minimum frame (without FCS)
    }
    f
}

/// The solicited-node multicast address of `target` and its MAC.
pub fn solicited_node(target: &Ipv6Addr) -> (Ipv6Addr, Mac) {
    let o = target.octets();
    let group = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    );
    let g = group.octets();
    (group, [0x33, 0x33, g[12], g[13], g[14], g[15]])
}

/// A link-layer address option (1 = source, 2 = target).
pub fn lladdr_option(kind: u8, mac: Mac) -> Vec<u8> {
    let mut o = vec![kind, 1];
    o.extend_from_slice(&mac);
    o
}

/// A Prefix Information option.
pub fn prefix_option(
    prefix: Ipv6Addr,
    len: u8,
    on_link: bool,
    autonomous: bool,
    valid: u32,
    preferred: u32,
) -> Vec<u8> {
    let flags = (u8::from(on_link) << 7) | (u8::from(autonomous) << 6);
    let mut o = vec![3, 4, len, flags];
    o.extend_from_slice(&valid.to_be_bytes());
    o.extend_from_slice(&preferred.to_be_bytes());
    o.extend_from_slice(&[0; 4]);
    o.extend_from_slice(&prefix.octets());
    o
}

/// A Route Information option (RFC 4191) for a prefix up to /64.
pub fn route_option(prefix: Ipv6Addr, len: u8, lifetime: u32) -> Vec<u8> {
    let mut o = vec![24, 2, len, 0];
    o.extend_from_slice(&lifetime.to_be_bytes());
    o.extend_from_slice(&prefix.octets()[..8]);
    o
}

/// An MTU option.
pub fn mtu_option(mtu: u32) -> Vec<u8> {
    let mut o = vec![5, 1, 0, 0];
    o.extend_from_slice(&mtu.to_be_bytes());
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Icmpv6Message, Transport, decode_bytes};

    #[test]
    fn built_packets_decode_and_checksums_verify() {
        let src: Ipv6Addr = "fd9c:30c:2da4:1::5efe:ac10:1032".parse().unwrap();
        let dst: Ipv6Addr = "fd9c:30c:2da4:1000::7".parse().unwrap();
        let e = echo6(
            src,
            dst,
            128,
            false,
            1,
            7,
            b"abcdefghijklmnopqrstuvwabcdefghi",
        );
        // A correct checksum sums to zero over pseudo-header and message.
        assert_eq!(v6_checksum(&src, &dst, 58, &e.payload), 0);
        let outer = ipv4(
            Ipv4Addr::new(172, 16, 16, 50),
            Ipv4Addr::new(172, 16, 16, 31),
            128,
            41,
            1,
            &e.bytes(),
        );
        assert_eq!(checksum(&outer[..20]), 0);
        let frame = ethernet([0; 6], [1; 6], Some(111), 0x0800, &outer);
        let d = decode_bytes(1, &frame);
        assert_eq!(d.error, None);
        assert_eq!(d.tunnel().unwrap().0.kind.name(), "isatap");
        let Transport::Icmpv6(m) = d.transport else {
            panic!()
        };
        assert!(matches!(m.message, Icmpv6Message::EchoRequest(e) if e.seq == 7));
        let u = udp6(src, dst, 1, 40000, 33434, &[0x40; 32]);
        assert_eq!(v6_checksum(&src, &dst, 17, &u.payload), 0);
        assert_eq!(
            solicited_node(&"fd9c:30c:2da4:111::25".parse().unwrap()).0,
            "ff02::1:ff00:25".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            link_local([0x00, 0x15, 0x5d, 0x11, 0x00, 0x31]),
            "fe80::215:5dff:fe11:31".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn fragments_fit_the_mtu_and_reassemble() {
        let src: Ipv6Addr = "fd9c:30c:2da4:1::5efe:ac10:1032".parse().unwrap();
        let dst: Ipv6Addr = "fd9c:30c:2da4:1000::7".parse().unwrap();
        let big = echo6(src, dst, 128, false, 1, 9, &[0x61; 1300]);
        let frags = fragments(&big, 1280, 0x1234_5678);
        assert_eq!(frags.len(), 2);
        assert!(frags.iter().all(|f| f.bytes().len() <= 1280));
        let mut whole = Vec::new();
        for (i, f) in frags.iter().enumerate() {
            let off = u16::from_be_bytes([f.payload[2], f.payload[3]]);
            assert_eq!(usize::from(off & !7), whole.len());
            assert_eq!(off & 1 == 1, i == 0);
            whole.extend_from_slice(&f.payload[8..]);
        }
        assert_eq!(whole, big.payload);
        let first = frags[0].bytes();
        let d = decode_bytes(101, &first);
        let Transport::Icmpv6(m) = d.transport else {
            panic!("{d:?}")
        };
        assert!(matches!(m.message, Icmpv6Message::EchoRequest(e) if e.seq == 9));
    }
}

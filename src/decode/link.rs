//! Link layers: Ethernet (with 802.1Q / 802.1ad / QinQ tags, PPPoE and MPLS),
//! Linux cooked SLL and SLL2, raw IP (101, 228, 229 and the historical 12/14),
//! BSD null/loopback (0, 108), and the odd ones met in shared captures: PPP (9),
//! Frame Relay (107) and IP over InfiniBand (242).
//!
//! Guarantees: never reads past the frame; returns where the network layer
//! starts and what it is, or a typed error naming the link layer.

use super::bytes::{be16, be32};
use super::error::{DecodeError, ErrorKind, Layer};

pub const LINKTYPE_NULL: u32 = 0;
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_PPP: u32 = 9;
pub const LINKTYPE_FRELAY: u32 = 107;
pub const LINKTYPE_IPOIB: u32 = 242;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_LOOP: u32 = 108;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_IPV4: u32 = 228;
pub const LINKTYPE_IPV6: u32 = 229;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS: [u16; 2] = [0x8847, 0x8848];
/// More MPLS labels than any real label stack holds.
const MAX_MPLS_LABELS: usize = 16;
const VLAN_TAGS: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// More stacked tags than any real network uses.
const MAX_VLAN_TAGS: usize = 4;

/// A MAC address.
pub type Mac = [u8; 6];

/// The link layer family of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    Ethernet,
    LinuxSll,
    LinuxSll2,
    RawIp,
    Null,
    Ppp,
    FrameRelay,
    IpOverInfiniband,
    Unsupported(u32),
}

/// What the link layer said about the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub kind: LinkKind,
    pub src_mac: Option<Mac>,
    pub dst_mac: Option<Mac>,
    /// Outer tag first.
    pub vlans: [u16; 2],
    pub vlan_count: u8,
    /// The EtherType (or equivalent) of the payload; 0 when the link does not say.
    pub ethertype: u16,
    /// Linux packet type (0 to us, 1 broadcast, 2 multicast, 3 to others, 4 sent by us).
    pub pkttype: Option<u8>,
    /// Linux interface index (SLL2 only).
    pub ifindex: Option<u32>,
}

impl Link {
    fn new(kind: LinkKind) -> Link {
        Link {
            kind,
            src_mac: None,
            dst_mac: None,
            vlans: [0; 2],
            vlan_count: 0,
            ethertype: 0,
            pkttype: None,
            ifindex: None,
        }
    }

    pub fn vlan_ids(&self) -> &[u16] {
        &self.vlans[..usize::from(self.vlan_count.min(2))]
    }
}

/// What follows the link header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// An IP packet starting at `at`; `version` is what the link layer announced
    /// (`None`: read it from the packet, as for LINKTYPE_RAW and MPLS).
    Ip { at: usize, version: Option<u8> },
    /// Something that is not IP (ARP, LLDP, 802.3 LLC…), by EtherType or length.
    Other(u16),
}

/// Parses the link header of a frame of `link_type`.
pub fn parse(link_type: u32, frame: &[u8]) -> (Link, Result<Network, DecodeError>) {
    match link_type {
        LINKTYPE_ETHERNET => ethernet(frame),
        LINKTYPE_LINUX_SLL => sll(frame),
        LINKTYPE_LINUX_SLL2 => sll2(frame),
        LINKTYPE_RAW | 12 | 14 => (
            Link::new(LinkKind::RawIp),
            Ok(Network::Ip {
                at: 0,
                version: None,
            }),
        ),
        LINKTYPE_IPV4 => (
            Link::new(LinkKind::RawIp),
            Ok(Network::Ip {
                at: 0,
                version: Some(4),
            }),
        ),
        LINKTYPE_IPV6 => (
            Link::new(LinkKind::RawIp),
            Ok(Network::Ip {
                at: 0,
                version: Some(6),
            }),
        ),
        LINKTYPE_NULL | LINKTYPE_LOOP => null(link_type, frame),
        LINKTYPE_PPP => ppp(frame),
        LINKTYPE_FRELAY => frame_relay(frame),
        LINKTYPE_IPOIB => {
            let mut link = Link::new(LinkKind::IpOverInfiniband);
            let Some(ethertype) = be16(frame, 40).filter(|_| frame.len() >= 44) else {
                return (
                    link,
                    Err(DecodeError::truncated(Layer::Ethernet, 0, 44, frame.len())),
                );
            };
            link.ethertype = ethertype;
            (link, network_after(ethertype, frame, 44))
        }
        other => (
            Link::new(LinkKind::Unsupported(other)),
            Err(DecodeError {
                layer: Layer::Capture,
                offset: 0,
                kind: ErrorKind::UnsupportedLinkType(other),
            }),
        ),
    }
}

fn ethernet(frame: &[u8]) -> (Link, Result<Network, DecodeError>) {
    let mut link = Link::new(LinkKind::Ethernet);
    if frame.len() < 14 {
        return (
            link,
            Err(DecodeError::truncated(Layer::Ethernet, 0, 14, frame.len())),
        );
    }
    link.dst_mac = frame[0..6].try_into().ok();
    link.src_mac = frame[6..12].try_into().ok();
    let mut ethertype = be16(frame, 12).unwrap_or(0);
    let mut at = 14;
    let mut tags = 0;
    while VLAN_TAGS.contains(&ethertype) {
        if tags == MAX_VLAN_TAGS {
            let err = DecodeError::invalid(Layer::Vlan, at, "more than 4 stacked VLAN tags");
            return (link, Err(err));
        }
        let (Some(tci), Some(next)) = (be16(frame, at), be16(frame, at + 2)) else {
            let err = DecodeError::truncated(Layer::Vlan, at, 4, frame.len() - at);
            return (link, Err(err));
        };
        if tags < 2 {
            link.vlans[tags] = tci & 0x0fff;
        }
        tags += 1;
        link.vlan_count = tags.min(2) as u8;
        ethertype = next;
        at += 4;
    }
    link.ethertype = ethertype;
    (link, network_after(ethertype, frame, at))
}

/// What follows a header whose payload type is `ethertype`, at `at`.
fn network_after(ethertype: u16, frame: &[u8], at: usize) -> Result<Network, DecodeError> {
    match ethertype {
        ETHERTYPE_IPV4 => Ok(Network::Ip {
            at,
            version: Some(4),
        }),
        ETHERTYPE_IPV6 => Ok(Network::Ip {
            at,
            version: Some(6),
        }),
        ETHERTYPE_PPPOE_SESSION => {
            // PPPoE: ver/type, code, session id, length; then the PPP protocol.
            let Some(protocol) = be16(frame, at + 6) else {
                return Err(DecodeError::truncated(
                    Layer::Ethernet,
                    at,
                    8,
                    frame.len() - at.min(frame.len()),
                ));
            };
            match protocol {
                0x0021 => Ok(Network::Ip {
                    at: at + 8,
                    version: Some(4),
                }),
                0x0057 => Ok(Network::Ip {
                    at: at + 8,
                    version: Some(6),
                }),
                _ => Ok(Network::Other(ethertype)),
            }
        }
        t if ETHERTYPE_MPLS.contains(&t) => mpls(frame, at),
        other => Ok(Network::Other(other)),
    }
}

/// Skips an MPLS label stack; IP follows when its first nibble says so.
fn mpls(frame: &[u8], mut at: usize) -> Result<Network, DecodeError> {
    for _ in 0..MAX_MPLS_LABELS {
        let Some(entry) = be32(frame, at) else {
            let have = frame.len().saturating_sub(at);
            return Err(DecodeError::truncated(Layer::Ethernet, at, 4, have));
        };
        at += 4;
        if entry & 0x100 != 0 {
            return Ok(match frame.get(at).map(|b| b >> 4) {
                Some(4 | 6) => Network::Ip { at, version: None },
                _ => Network::Other(ETHERTYPE_MPLS[0]),
            });
        }
    }
    Err(DecodeError::invalid(
        Layer::Ethernet,
        at,
        "MPLS label stack without bottom",
    ))
}

fn sll(frame: &[u8]) -> (Link, Result<Network, DecodeError>) {
    let mut link = Link::new(LinkKind::LinuxSll);
    if frame.len() < 16 {
        let err = DecodeError::truncated(Layer::LinuxSll, 0, 16, frame.len());
        return (link, Err(err));
    }
    link.pkttype = be16(frame, 0).map(|t| t as u8);
    let hatype = be16(frame, 2).unwrap_or(0);
    let addr_len = be16(frame, 4).unwrap_or(0);
    if hatype == 1 && addr_len == 6 {
        link.src_mac = frame[6..12].try_into().ok();
    }
    link.ethertype = be16(frame, 14).unwrap_or(0);
    (link, network_after(link.ethertype, frame, 16))
}

fn sll2(frame: &[u8]) -> (Link, Result<Network, DecodeError>) {
    let mut link = Link::new(LinkKind::LinuxSll2);
    if frame.len() < 20 {
        let err = DecodeError::truncated(Layer::LinuxSll2, 0, 20, frame.len());
        return (link, Err(err));
    }
    link.ethertype = be16(frame, 0).unwrap_or(0);
    link.ifindex = be32(frame, 4);
    let hatype = be16(frame, 8).unwrap_or(0);
    link.pkttype = Some(frame[10]);
    if hatype == 1 && frame[11] == 6 {
        link.src_mac = frame[12..18].try_into().ok();
    }
    (link, network_after(link.ethertype, frame, 20))
}

fn ppp(frame: &[u8]) -> (Link, Result<Network, DecodeError>) {
    let link = Link::new(LinkKind::Ppp);
    // Optional HDLC address/control, then a 1- or 2-byte protocol (compressed when odd).
    let at = if frame.starts_with(&[0xff, 0x03]) {
        2
    } else {
        0
    };
    let Some(&first) = frame.get(at) else {
        return (link, Err(DecodeError::truncated(Layer::Ethernet, at, 1, 0)));
    };
    let (protocol, at) = if first & 1 == 1 {
        (u16::from(first), at + 1)
    } else {
        match be16(frame, at) {
            Some(p) => (p, at + 2),
            None => return (link, Err(DecodeError::truncated(Layer::Ethernet, at, 2, 1))),
        }
    };
    let net = match protocol {
        0x0021 => Ok(Network::Ip {
            at,
            version: Some(4),
        }),
        0x0057 => Ok(Network::Ip {
            at,
            version: Some(6),
        }),
        0x0281 | 0x0283 => mpls(frame, at),
        _ => Ok(Network::Other(0)),
    };
    (link, net)
}

fn frame_relay(frame: &[u8]) -> (Link, Result<Network, DecodeError>) {
    let mut link = Link::new(LinkKind::FrameRelay);
    // Q.922 address, then either control 0x03 + NLPID, or (Cisco) an EtherType.
    let (Some(&kind), Some(&nlpid)) = (frame.get(2), frame.get(3)) else {
        let err = DecodeError::truncated(Layer::Ethernet, 0, 4, frame.len());
        return (link, Err(err));
    };
    let net = match (kind, nlpid) {
        (0x03, 0xcc) => Ok(Network::Ip {
            at: 4,
            version: Some(4),
        }),
        (0x03, 0x8e) => Ok(Network::Ip {
            at: 4,
            version: Some(6),
        }),
        (0x03, _) => Ok(Network::Other(0)),
        _ => {
            link.ethertype = u16::from_be_bytes([kind, nlpid]);
            network_after(link.ethertype, frame, 4)
        }
    };
    (link, net)
}

fn null(link_type: u32, frame: &[u8]) -> (Link, Result<Network, DecodeError>) {
    let link = Link::new(LinkKind::Null);
    let Some(raw) = frame.get(..4) else {
        let err = DecodeError::truncated(Layer::Null, 0, 4, frame.len());
        return (link, Err(err));
    };
    let raw: [u8; 4] = [raw[0], raw[1], raw[2], raw[3]];
    // Some stacks put an EtherType in the second half, in network byte order.
    match u16::from_be_bytes([raw[2], raw[3]]) {
        ETHERTYPE_IPV4 => {
            return (
                link,
                Ok(Network::Ip {
                    at: 4,
                    version: Some(4),
                }),
            );
        }
        ETHERTYPE_IPV6 => {
            return (
                link,
                Ok(Network::Ip {
                    at: 4,
                    version: Some(6),
                }),
            );
        }
        _ => {}
    }
    // DLT_NULL is in the byte order of the capturing host; DLT_LOOP is big-endian.
    let family = if link_type == LINKTYPE_LOOP || (raw[0] == 0 && raw[1] == 0) {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    };
    match family {
        2 => (
            link,
            Ok(Network::Ip {
                at: 4,
                version: Some(4),
            }),
        ),
        // AF_INET6 on Linux, Windows, NetBSD/OpenBSD, FreeBSD and Darwin.
        10 | 23 | 24 | 28 | 30 => (
            link,
            Ok(Network::Ip {
                at: 4,
                version: Some(6),
            }),
        ),
        _ => (link, Ok(Network::Other(0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(ethertype: [u8; 2], rest: &[u8]) -> Vec<u8> {
        let mut f = vec![0x33, 0x33, 0, 0, 0, 1, 0, 0x15, 0x5d, 1, 2, 3];
        f.extend_from_slice(&ethertype);
        f.extend_from_slice(rest);
        f
    }

    #[test]
    fn ethernet_with_qinq() {
        let f = eth(
            [0x88, 0xa8],
            &[0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x86, 0xdd, 0x60],
        );
        let (link, net) = parse(LINKTYPE_ETHERNET, &f);
        assert_eq!(link.vlan_ids(), &[100, 200]);
        assert_eq!(link.src_mac, Some([0, 0x15, 0x5d, 1, 2, 3]));
        assert_eq!(
            net,
            Ok(Network::Ip {
                at: 22,
                version: Some(6)
            })
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let f = eth([0x81, 0x00], &[0x00, 0x64, 0x86, 0xdd]);
        for len in 0..f.len() {
            let (_, net) = parse(LINKTYPE_ETHERNET, &f[..len]);
            let err = net.expect_err("truncated header must fail");
            assert!(
                matches!(err.kind, ErrorKind::Truncated { .. }),
                "{len}: {err}"
            );
        }
        let sll2_frame = [0u8; 20];
        for len in 0..20 {
            assert!(parse(LINKTYPE_LINUX_SLL2, &sll2_frame[..len]).1.is_err());
        }
        for len in 0..16 {
            assert!(parse(LINKTYPE_LINUX_SLL, &sll2_frame[..len]).1.is_err());
        }
        for len in 0..4 {
            assert!(parse(LINKTYPE_NULL, &sll2_frame[..len]).1.is_err());
        }
    }

    #[test]
    fn endless_vlan_tags_stop() {
        let mut rest = Vec::new();
        for _ in 0..10 {
            rest.extend_from_slice(&[0, 1, 0x81, 0]);
        }
        let (_, net) = parse(LINKTYPE_ETHERNET, &eth([0x81, 0], &rest));
        assert_eq!(
            net.unwrap_err().kind,
            ErrorKind::Invalid("more than 4 stacked VLAN tags")
        );
    }

    #[test]
    fn pppoe_and_mpls() {
        let f = eth([0x88, 0x64], &[0x11, 0, 0, 1, 0, 42, 0x00, 0x57, 0x60]);
        assert_eq!(
            parse(LINKTYPE_ETHERNET, &f).1,
            Ok(Network::Ip {
                at: 22,
                version: Some(6)
            })
        );
        let f = eth([0x88, 0x47], &[0, 1, 0, 64, 0, 2, 1, 64, 0x45]);
        assert_eq!(
            parse(LINKTYPE_ETHERNET, &f).1,
            Ok(Network::Ip {
                at: 22,
                version: None
            })
        );
        for len in 14..22 {
            assert!(parse(LINKTYPE_ETHERNET, &f[..len]).1.is_err(), "{len}");
        }
        let endless = eth([0x88, 0x47], &[0; 80]);
        assert!(parse(LINKTYPE_ETHERNET, &endless).1.is_err());
    }

    #[test]
    fn ppp_frame_relay_ipoib() {
        let ppp_mpls = [0xff, 0x03, 0x02, 0x81, 0x18, 0x96, 0x01, 0x01, 0x45];
        assert_eq!(
            parse(LINKTYPE_PPP, &ppp_mpls).1,
            Ok(Network::Ip {
                at: 8,
                version: None
            })
        );
        assert_eq!(
            parse(LINKTYPE_PPP, &[0x21, 0x45]).1,
            Ok(Network::Ip {
                at: 1,
                version: Some(4)
            })
        );
        assert!(parse(LINKTYPE_PPP, &[0xff, 0x03]).1.is_err());
        let fr = [0x18, 0x61, 0x08, 0x00, 0x45];
        assert_eq!(
            parse(LINKTYPE_FRELAY, &fr).1,
            Ok(Network::Ip {
                at: 4,
                version: Some(4)
            })
        );
        assert!(parse(LINKTYPE_FRELAY, &fr[..3]).1.is_err());
        let mut ib = vec![0u8; 40];
        ib.extend_from_slice(&[0x86, 0xdd, 0, 0]);
        assert_eq!(
            parse(LINKTYPE_IPOIB, &ib).1,
            Ok(Network::Ip {
                at: 44,
                version: Some(6)
            })
        );
        assert!(parse(LINKTYPE_IPOIB, &ib[..43]).1.is_err());
    }

    #[test]
    fn sll2_fields() {
        let mut f = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 7, 0, 1, 4, 6];
        f.extend_from_slice(&[0, 0x15, 0x5d, 1, 2, 3, 0, 0]);
        let (link, net) = parse(LINKTYPE_LINUX_SLL2, &f);
        assert_eq!(link.ifindex, Some(7));
        assert_eq!(link.pkttype, Some(4));
        assert_eq!(link.src_mac, Some([0, 0x15, 0x5d, 1, 2, 3]));
        assert_eq!(
            net,
            Ok(Network::Ip {
                at: 20,
                version: Some(6)
            })
        );
    }

    #[test]
    fn null_both_byte_orders() {
        let v4 = Ok(Network::Ip {
            at: 4,
            version: Some(4),
        });
        let v6 = Ok(Network::Ip {
            at: 4,
            version: Some(6),
        });
        assert_eq!(parse(LINKTYPE_NULL, &[2, 0, 0, 0]).1, v4);
        assert_eq!(parse(LINKTYPE_NULL, &[0, 0, 0, 30]).1, v6);
        assert_eq!(parse(LINKTYPE_NULL, &[0x0f, 0, 0x08, 0]).1, v4);
        assert_eq!(parse(LINKTYPE_NULL, &[7, 0, 0, 0]).1, Ok(Network::Other(0)));
        assert!(parse(999, &[]).1.unwrap_err().is_unsupported());
    }
}

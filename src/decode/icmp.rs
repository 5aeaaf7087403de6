//! ICMPv6 (echo, errors, RS/RA/NS/NA/Redirect) and ICMPv4 (echo, errors)
//! message views over the bytes after the IP header.
//!
//! Guarantees: a message shorter than its fixed header is a typed truncation
//! error; the type and code are kept whenever the first 8 bytes are present.

use std::net::Ipv6Addr;

use super::bytes::{be16, be32, ipv6};
use super::error::{DecodeError, Layer};
use super::ndp::NdOptions;
use super::quoted::{self, Quoted};

pub const ICMPV6_DEST_UNREACH: u8 = 1;
pub const ICMPV6_PACKET_TOO_BIG: u8 = 2;
pub const ICMPV6_TIME_EXCEEDED: u8 = 3;
pub const ICMPV6_PARAM_PROBLEM: u8 = 4;
pub const ICMPV6_ECHO_REQUEST: u8 = 128;
pub const ICMPV6_ECHO_REPLY: u8 = 129;
pub const ICMPV6_ROUTER_SOLICIT: u8 = 133;
pub const ICMPV6_ROUTER_ADVERT: u8 = 134;
pub const ICMPV6_NEIGHBOR_SOLICIT: u8 = 135;
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
pub const ICMPV6_REDIRECT: u8 = 137;

pub const ICMPV4_ECHO_REPLY: u8 = 0;
pub const ICMPV4_DEST_UNREACH: u8 = 3;
pub const ICMPV4_ECHO_REQUEST: u8 = 8;
pub const ICMPV4_TIME_EXCEEDED: u8 = 11;

/// Identifier, sequence number and data of an echo request or reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echo<'a> {
    pub id: u16,
    pub seq: u16,
    pub data: &'a [u8],
}

/// The fixed fields of a Router Advertisement and its options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterAdvert<'a> {
    pub cur_hop_limit: u8,
    pub managed: bool,
    pub other: bool,
    /// Seconds; 0 means "not a default router".
    pub router_lifetime: u16,
    pub reachable_ms: u32,
    pub retrans_ms: u32,
    pub options: NdOptions<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Icmpv6Message<'a> {
    EchoRequest(Echo<'a>),
    EchoReply(Echo<'a>),
    /// Destination Unreachable, Packet Too Big (param = MTU), Time Exceeded,
    /// Parameter Problem (param = pointer).
    Error {
        param: u32,
        quoted: Option<Quoted>,
    },
    RouterSolicit(NdOptions<'a>),
    RouterAdvert(RouterAdvert<'a>),
    NeighborSolicit {
        target: Ipv6Addr,
        options: NdOptions<'a>,
    },
    NeighborAdvert {
        router: bool,
        solicited: bool,
        override_: bool,
        target: Ipv6Addr,
        options: NdOptions<'a>,
    },
    Redirect {
        target: Ipv6Addr,
        destination: Ipv6Addr,
        options: NdOptions<'a>,
        /// The packet quoted in the Redirected Header option.
        quoted: Option<Quoted>,
    },
    /// Any other type, or a known type whose fixed part is cut short.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmpv6<'a> {
    pub ty: u8,
    pub code: u8,
    pub message: Icmpv6Message<'a>,
}

/// Parses an ICMPv6 message starting at frame offset `at`. The second value is
/// the error that stopped decoding a message whose type and code were read.
pub fn icmpv6(b: &[u8], at: usize) -> Result<(Icmpv6<'_>, Option<DecodeError>), DecodeError> {
    let (ty, code) = match b {
        [ty, code, ..] => (*ty, *code),
        _ => return Err(DecodeError::truncated(Layer::Icmpv6, at, 8, b.len())),
    };
    if b.len() < 8 {
        let error = DecodeError::truncated(Layer::Icmpv6, at, 8, b.len());
        let message = Icmpv6Message::Other;
        return Ok((Icmpv6 { ty, code, message }, Some(error)));
    }
    let short = |needed: usize| Some(DecodeError::truncated(Layer::Icmpv6, at, needed, b.len()));
    let options = |from: usize| NdOptions {
        bytes: &b[from.min(b.len())..],
        base: at + from,
    };
    let echo = || Echo {
        id: be16(b, 4).unwrap_or(0),
        seq: be16(b, 6).unwrap_or(0),
        data: &b[8..],
    };
    let (message, error) = match ty {
        ICMPV6_ECHO_REQUEST => (Icmpv6Message::EchoRequest(echo()), None),
        ICMPV6_ECHO_REPLY => (Icmpv6Message::EchoReply(echo()), None),
        ICMPV6_DEST_UNREACH
        | ICMPV6_PACKET_TOO_BIG
        | ICMPV6_TIME_EXCEEDED
        | ICMPV6_PARAM_PROBLEM => (
            Icmpv6Message::Error {
                param: be32(b, 4).unwrap_or(0),
                quoted: quoted::parse(&b[8..]),
            },
            None,
        ),
        ICMPV6_ROUTER_SOLICIT => (Icmpv6Message::RouterSolicit(options(8)), None),
        ICMPV6_ROUTER_ADVERT => match (be16(b, 6), be32(b, 8), be32(b, 12)) {
            (Some(lifetime), Some(reachable), Some(retrans)) => (
                Icmpv6Message::RouterAdvert(RouterAdvert {
                    cur_hop_limit: b[4],
                    managed: b[5] & 0x80 != 0,
                    other: b[5] & 0x40 != 0,
                    router_lifetime: lifetime,
                    reachable_ms: reachable,
                    retrans_ms: retrans,
                    options: options(16),
                }),
                None,
            ),
            _ => (Icmpv6Message::Other, short(16)),
        },
        ICMPV6_NEIGHBOR_SOLICIT => match ipv6(b, 8) {
            Some(target) => (
                Icmpv6Message::NeighborSolicit {
                    target,
                    options: options(24),
                },
                None,
            ),
            None => (Icmpv6Message::Other, short(24)),
        },
        ICMPV6_NEIGHBOR_ADVERT => match ipv6(b, 8) {
            Some(target) => (
                Icmpv6Message::NeighborAdvert {
                    router: b[4] & 0x80 != 0,
                    solicited: b[4] & 0x40 != 0,
                    override_: b[4] & 0x20 != 0,
                    target,
                    options: options(24),
                },
                None,
            ),
            None => (Icmpv6Message::Other, short(24)),
        },
        ICMPV6_REDIRECT => match (ipv6(b, 8), ipv6(b, 24)) {
            (Some(target), Some(destination)) => (
                Icmpv6Message::Redirect {
                    target,
                    destination,
                    options: options(40),
                    quoted: options(40).redirected_header().and_then(quoted::parse),
                },
                None,
            ),
            _ => (Icmpv6Message::Other, short(40)),
        },
        _ => (Icmpv6Message::Other, None),
    };
    let error = error.or_else(|| match message {
        Icmpv6Message::RouterSolicit(o)
        | Icmpv6Message::RouterAdvert(RouterAdvert { options: o, .. })
        | Icmpv6Message::NeighborSolicit { options: o, .. }
        | Icmpv6Message::NeighborAdvert { options: o, .. }
        | Icmpv6Message::Redirect { options: o, .. } => o.check().err(),
        _ => None,
    });
    Ok((Icmpv6 { ty, code, message }, error))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Icmpv4Message<'a> {
    EchoRequest(Echo<'a>),
    EchoReply(Echo<'a>),
    /// Destination Unreachable (param = next-hop MTU for "fragmentation
    /// needed"), Source Quench, Redirect, Time Exceeded, Parameter Problem.
    Error {
        param: u32,
        quoted: Option<Quoted>,
    },
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmpv4<'a> {
    pub ty: u8,
    pub code: u8,
    pub message: Icmpv4Message<'a>,
}

/// Parses an ICMPv4 message starting at frame offset `at`.
pub fn icmpv4(b: &[u8], at: usize) -> Result<Icmpv4<'_>, DecodeError> {
    if b.len() < 8 {
        return Err(DecodeError::truncated(Layer::Icmpv4, at, 8, b.len()));
    }
    let (ty, code) = (b[0], b[1]);
    let echo = Echo {
        id: be16(b, 4).unwrap_or(0),
        seq: be16(b, 6).unwrap_or(0),
        data: &b[8..],
    };
    let message = match ty {
        ICMPV4_ECHO_REQUEST => Icmpv4Message::EchoRequest(echo),
        ICMPV4_ECHO_REPLY => Icmpv4Message::EchoReply(echo),
        ICMPV4_DEST_UNREACH | 4 | 5 | ICMPV4_TIME_EXCEEDED | 12 => {
            let param = match ty {
                ICMPV4_DEST_UNREACH => u32::from(be16(b, 6).unwrap_or(0)),
                12 => u32::from(b[4]),
                _ => 0,
            };
            Icmpv4Message::Error {
                param,
                quoted: quoted::parse(&b[8..]),
            }
        }
        _ => Icmpv4Message::Other,
    };
    Ok(Icmpv4 { ty, code, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ra() -> Vec<u8> {
        let mut m = vec![134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[24, 2, 64, 0, 0, 0, 0x07, 0x08]);
        m.extend_from_slice(&[0xfd, 0x9c, 0x03, 0x0c, 0x2d, 0xa4, 0x10, 0x00]);
        m
    }

    #[test]
    fn router_advert() {
        let m = ra();
        let (msg, err) = icmpv6(&m, 0).unwrap();
        assert_eq!(err, None);
        let Icmpv6Message::RouterAdvert(ra) = msg.message else {
            panic!("not an RA: {msg:?}")
        };
        assert_eq!(ra.router_lifetime, 1800);
        assert_eq!(ra.options.iter().count(), 1);
    }

    #[test]
    fn every_truncation_is_typed() {
        let m = ra();
        for len in 0..8 {
            match icmpv6(&m[..len], 0) {
                Ok((msg, err)) => {
                    assert!(len >= 2 && msg.ty == 134 && err.is_some(), "{len}");
                }
                Err(e) => assert!(len < 2, "{len}: {e}"),
            }
            assert!(icmpv4(&m[..len], 0).is_err());
        }
        // 16 bytes is a complete RA without options; every other cut is an error.
        for len in (8..m.len()).filter(|&l| l != 16) {
            let (msg, err) = icmpv6(&m[..len], 40).unwrap();
            assert_eq!(msg.ty, 134);
            let err = err.expect("a cut RA is an error");
            assert!(err.offset >= 40, "{err}");
        }
        let ns = [135u8, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0x80];
        assert!(icmpv6(&ns, 0).unwrap().1.is_some());
    }

    #[test]
    fn icmpv4_frag_needed_mtu() {
        let mut m = vec![3, 4, 0, 0, 0, 0, 0x05, 0xdc];
        m.extend_from_slice(&[
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 41, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        let msg = icmpv4(&m, 0).unwrap();
        let Icmpv4Message::Error { param, quoted } = msg.message else {
            panic!()
        };
        assert_eq!(param, 1500);
        assert_eq!(quoted.unwrap().ip.protocol, 41);
    }
}

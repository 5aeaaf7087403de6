//! Neighbor Discovery options (RFC 4861, RFC 4191): link-layer addresses,
//! prefix information, MTU and route information, read lazily from the
//! option area of RS/RA/NS/NA/Redirect messages.
//!
//! Guarantees: iteration never reads past the option area and stops at the
//! first malformed option; [`NdOptions::check`] names that option as a typed
//! error so the frame is flagged.

use std::net::Ipv6Addr;

use super::bytes::{be32, ipv6};
use super::error::{DecodeError, Layer};

pub const OPT_SOURCE_LINK_ADDR: u8 = 1;
pub const OPT_TARGET_LINK_ADDR: u8 = 2;
pub const OPT_PREFIX_INFO: u8 = 3;
pub const OPT_REDIRECTED_HEADER: u8 = 4;
pub const OPT_MTU: u8 = 5;
pub const OPT_ROUTE_INFO: u8 = 24;

/// A Prefix Information option: a prefix hosts may autoconfigure from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixInfo {
    pub prefix: Ipv6Addr,
    pub len: u8,
    pub on_link: bool,
    pub autonomous: bool,
    pub valid_lifetime: u32,
    pub preferred_lifetime: u32,
}

/// A Route Information option: a more-specific route published by the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    pub prefix: Ipv6Addr,
    pub len: u8,
    /// -1 low, 0 medium, 1 high (the reserved value 10b reads as medium).
    pub preference: i8,
    pub lifetime: u32,
}

/// One option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NdOption<'a> {
    SourceLinkAddr(&'a [u8]),
    TargetLinkAddr(&'a [u8]),
    Prefix(PrefixInfo),
    Mtu(u32),
    Route(RouteInfo),
    Other { kind: u8, data: &'a [u8] },
}

/// The option area of an ND message; `base` is its offset in the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NdOptions<'a> {
    pub bytes: &'a [u8],
    pub base: usize,
}

impl<'a> NdOptions<'a> {
    pub fn iter(&self) -> NdOptionIter<'a> {
        NdOptionIter {
            rest: self.bytes,
            at: self.base,
            error: None,
        }
    }

    /// The first malformed option, if any.
    pub fn check(&self) -> Result<(), DecodeError> {
        let mut it = self.iter();
        for _ in it.by_ref() {}
        it.error.map_or(Ok(()), Err)
    }

    pub fn source_link_addr(&self) -> Option<&'a [u8]> {
        self.iter().find_map(|o| match o {
            NdOption::SourceLinkAddr(a) => Some(a),
            _ => None,
        })
    }

    /// The start of the packet a Redirect quotes (after the option's 6 reserved bytes).
    pub fn redirected_header(&self) -> Option<&'a [u8]> {
        self.iter().find_map(|o| match o {
            NdOption::Other {
                kind: OPT_REDIRECTED_HEADER,
                data,
            } => data.get(6..),
            _ => None,
        })
    }

    pub fn target_link_addr(&self) -> Option<&'a [u8]> {
        self.iter().find_map(|o| match o {
            NdOption::TargetLinkAddr(a) => Some(a),
            _ => None,
        })
    }
}

pub struct NdOptionIter<'a> {
    rest: &'a [u8],
    at: usize,
    error: Option<DecodeError>,
}

impl<'a> Iterator for NdOptionIter<'a> {
    type Item = NdOption<'a>;

    fn next(&mut self) -> Option<NdOption<'a>> {
        if self.rest.is_empty() || self.error.is_some() {
            return None;
        }
        match parse_one(self.rest, self.at) {
            Ok((opt, len)) => {
                self.rest = &self.rest[len..];
                self.at += len;
                Some(opt)
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

fn parse_one(b: &[u8], at: usize) -> Result<(NdOption<'_>, usize), DecodeError> {
    if b.len() < 2 {
        return Err(DecodeError::truncated(Layer::NdOption, at, 2, b.len()));
    }
    let kind = b[0];
    let len = usize::from(b[1]) * 8;
    if len == 0 {
        return Err(DecodeError::invalid(
            Layer::NdOption,
            at,
            "option of length zero",
        ));
    }
    let Some(opt) = b.get(..len) else {
        return Err(DecodeError::truncated(Layer::NdOption, at, len, b.len()));
    };
    let data = &opt[2..];
    let invalid = |what| Err(DecodeError::invalid(Layer::NdOption, at, what));
    let parsed = match kind {
        OPT_SOURCE_LINK_ADDR => NdOption::SourceLinkAddr(data),
        OPT_TARGET_LINK_ADDR => NdOption::TargetLinkAddr(data),
        OPT_PREFIX_INFO => {
            let (Some(valid), Some(preferred), Some(prefix)) =
                (be32(opt, 4), be32(opt, 8), ipv6(opt, 16))
            else {
                return invalid("prefix information option is not 32 bytes");
            };
            if len != 32 || opt[2] > 128 {
                return invalid("prefix information option is not 32 bytes");
            }
            NdOption::Prefix(PrefixInfo {
                prefix: mask(prefix, opt[2]),
                len: opt[2],
                on_link: opt[3] & 0x80 != 0,
                autonomous: opt[3] & 0x40 != 0,
                valid_lifetime: valid,
                preferred_lifetime: preferred,
            })
        }
        OPT_MTU => match be32(opt, 4) {
            Some(mtu) if len == 8 => NdOption::Mtu(mtu),
            _ => return invalid("MTU option is not 8 bytes"),
        },
        OPT_ROUTE_INFO => {
            let plen = opt[2];
            // RFC 4191 2.3: length 1 for /0, 2 up to /64, 3 up to /128.
            let fits = match len {
                8 => plen == 0,
                16 => plen <= 64,
                24 => plen <= 128,
                _ => false,
            };
            let Some(lifetime) = be32(opt, 4).filter(|_| fits) else {
                return invalid("route information option length does not fit its prefix");
            };
            let mut octets = [0u8; 16];
            octets[..len - 8].copy_from_slice(&opt[8..len]);
            let preference = match (opt[3] >> 3) & 0x3 {
                0b01 => 1,
                0b11 => -1,
                _ => 0,
            };
            NdOption::Route(RouteInfo {
                prefix: mask(Ipv6Addr::from(octets), plen),
                len: plen,
                preference,
                lifetime,
            })
        }
        other => NdOption::Other { kind: other, data },
    };
    Ok((parsed, len))
}

/// The address with every bit beyond `len` cleared.
pub fn mask(addr: Ipv6Addr, len: u8) -> Ipv6Addr {
    let bits = u128::from(addr);
    let len = u32::from(len.min(128));
    let kept = if len == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - len))
    };
    Ipv6Addr::from(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rio(prefix_len: u8, prf: u8, words: u8, prefix: &[u8]) -> Vec<u8> {
        let mut o = vec![24, words, prefix_len, prf << 3, 0, 0, 0x07, 0x08];
        o.extend_from_slice(prefix);
        o
    }

    #[test]
    fn route_information() {
        let p = [0xfd, 0x9c, 0x03, 0x0c, 0x2d, 0xa4, 0x10, 0x00];
        let o = rio(64, 0b01, 2, &p);
        let opts = NdOptions { bytes: &o, base: 0 };
        let got: Vec<_> = opts.iter().collect();
        assert_eq!(
            got,
            vec![NdOption::Route(RouteInfo {
                prefix: "fd9c:30c:2da4:1000::".parse().unwrap(),
                len: 64,
                preference: 1,
                lifetime: 0x708,
            })]
        );
        assert!(opts.check().is_ok());
    }

    #[test]
    fn prefix_information_and_mtu() {
        let mut o = vec![
            3, 4, 64, 0xc0, 0, 0, 0x0e, 0x10, 0, 0, 0x07, 0x08, 0, 0, 0, 0,
        ];
        o.extend_from_slice(&"fd9c:30c:2da4:1::".parse::<Ipv6Addr>().unwrap().octets());
        o.extend_from_slice(&[5, 1, 0, 0, 0, 0, 0x05, 0x00]);
        let opts: Vec<_> = NdOptions { bytes: &o, base: 0 }.iter().collect();
        assert!(
            matches!(opts[0], NdOption::Prefix(p) if p.len == 64 && p.autonomous && p.valid_lifetime == 3600)
        );
        assert_eq!(opts[1], NdOption::Mtu(1280));
    }

    #[test]
    fn malformed_options_are_errors() {
        let zero = [1u8, 0, 0, 0, 0, 0, 0, 0];
        assert!(
            NdOptions {
                bytes: &zero,
                base: 0
            }
            .check()
            .is_err()
        );
        let full = rio(64, 0, 2, &[0; 8]);
        for len in 1..full.len() {
            let opts = NdOptions {
                bytes: &full[..len],
                base: 10,
            };
            let err = opts.check().expect_err("cut option must fail");
            assert_eq!(err.layer, Layer::NdOption);
            assert_eq!(err.offset, 10);
        }
        let too_long_prefix = rio(96, 0, 2, &[0; 8]);
        assert!(
            NdOptions {
                bytes: &too_long_prefix,
                base: 0
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn masks_prefixes() {
        let a: Ipv6Addr = "2001:db8:ffff:ffff::1".parse().unwrap();
        assert_eq!(mask(a, 48), "2001:db8:ffff::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(mask(a, 0), Ipv6Addr::UNSPECIFIED);
        assert_eq!(mask(a, 128), a);
    }
}

//! Tunnels: how an inner IP packet was carried. Protocol 41 is classified by
//! the inner addresses (ISATAP, 6to4, otherwise plain 6in4); Teredo is IPv6 in
//! UDP port 3544 behind optional authentication and origin indicators (RFC 4380
//! section 5.1.1); GRE carries IPv4 or IPv6 by EtherType.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::addr;
use super::bytes::{be16, ipv4};

pub const TEREDO_PORT: u16 = 3544;
pub const GTP_U_PORT: u16 = 2152;
pub const AYIYA_PORT: u16 = 5072;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// Protocol 41 with an ISATAP interface identifier on either inner address.
    Isatap,
    /// Protocol 41 with a 2002::/16 inner address.
    SixToFour,
    /// Any other IPv6 in IPv4 (configured tunnels, tunnel brokers).
    SixIn4,
    Teredo,
    SixIn6,
    FourIn4,
    FourIn6,
    Gre,
    /// GTP-U, the mobile core's user-plane tunnel (UDP 2152).
    GtpU,
    /// AYIYA, "anything in anything" (UDP 5072), used by tunnel brokers.
    Ayiya,
}

impl TunnelKind {
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Isatap => "isatap",
            TunnelKind::SixToFour => "6to4",
            TunnelKind::SixIn4 => "6in4",
            TunnelKind::Teredo => "teredo",
            TunnelKind::SixIn6 => "6in6",
            TunnelKind::FourIn4 => "4in4",
            TunnelKind::FourIn6 => "4in6",
            TunnelKind::Gre => "gre",
            TunnelKind::GtpU => "gtp-u",
            TunnelKind::Ayiya => "ayiya",
        }
    }

    /// Classifies IPv6 in IPv4 (protocol 41) from the inner addresses.
    #[inline]
    pub fn six_in_four(inner_src: &Ipv6Addr, inner_dst: &Ipv6Addr) -> TunnelKind {
        if addr::isatap_ipv4(inner_src).is_some() || addr::isatap_ipv4(inner_dst).is_some() {
            TunnelKind::Isatap
        } else if addr::six_to_four_ipv4(inner_src).is_some()
            || addr::six_to_four_ipv4(inner_dst).is_some()
        {
            TunnelKind::SixToFour
        } else {
            TunnelKind::SixIn4
        }
    }

    /// Classifies an IP-in-IP tunnel from the outer version and the inner addresses.
    pub fn ip_in_ip(outer_v4: bool, inner_src: IpAddr, inner_dst: IpAddr) -> TunnelKind {
        match (outer_v4, inner_src, inner_dst) {
            (true, IpAddr::V6(s), IpAddr::V6(d)) => TunnelKind::six_in_four(&s, &d),
            (false, IpAddr::V6(_), _) => TunnelKind::SixIn6,
            (true, _, _) => TunnelKind::FourIn4,
            (false, _, _) => TunnelKind::FourIn6,
        }
    }
}

/// The Teredo framing in front of the IPv6 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TeredoHeader {
    pub sport: u16,
    pub dport: u16,
    /// An authentication indicator was present (qualification with a server).
    pub auth: bool,
    /// Origin indication: the client's mapped address as seen by the server.
    pub origin: Option<(Ipv4Addr, u16)>,
    /// Offset of the IPv6 packet within the UDP payload.
    pub ipv6_at: usize,
}

/// How one IP layer was reached from the layer outside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tunnel {
    pub kind: TunnelKind,
    pub teredo: Option<TeredoHeader>,
}

/// Why a UDP payload is not read as Teredo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotTeredo {
    /// Not the Teredo port, or not IPv6 behind well-formed indicators: plain UDP.
    Other,
    /// The payload ends inside the indicators or the IPv6 header; `needed`
    /// bytes would hold what was read so far and the next field.
    Short { needed: usize },
}

/// Reads the Teredo indicators at the start of a UDP payload. An error when the
/// payload is not IPv6 behind well-formed indicators (then it is plain UDP, or
/// a Teredo packet cut short if the capture cut it).
pub fn teredo(sport: u16, dport: u16, payload: &[u8]) -> Result<TeredoHeader, NotTeredo> {
    if sport != TEREDO_PORT && dport != TEREDO_PORT {
        return Err(NotTeredo::Other);
    }
    let short = |needed: usize| Err(NotTeredo::Short { needed });
    let mut at = 0;
    let mut auth = false;
    let mut origin = None;
    if payload.starts_with(&[0, 1]) {
        // Authentication: indicator, id-len, au-len, client id, auth value, nonce(8), confirmation(1).
        let (Some(&id_len), Some(&au_len)) = (payload.get(2), payload.get(3)) else {
            return short(4);
        };
        at = 4 + usize::from(id_len) + usize::from(au_len) + 9;
        auth = true;
    }
    // Origin indication: 0x0000, then port and IPv4 address, both inverted.
    let rest = payload.get(at..).unwrap_or_default();
    if rest == [0] {
        return short(at + 8);
    }
    if rest.starts_with(&[0, 0]) {
        let (Some(port), Some(mapped)) = (be16(payload, at + 2), ipv4(payload, at + 4)) else {
            return short(at + 8);
        };
        origin = Some((Ipv4Addr::from(!u32::from(mapped)), !port));
        at += 8;
    }
    match payload.get(at).map(|b| b >> 4) {
        Some(6) if payload.len() >= at + 40 => Ok(TeredoHeader {
            sport,
            dport,
            auth,
            origin,
            ipv6_at: at,
        }),
        Some(6) | None => short(at + 40),
        Some(_) => Err(NotTeredo::Other),
    }
}

/// Where an IP packet starts in a GTP-U T-PDU payload.
pub fn gtp_u(sport: u16, dport: u16, payload: &[u8]) -> Option<usize> {
    if sport != GTP_U_PORT && dport != GTP_U_PORT {
        return None;
    }
    let flags = *payload.first()?;
    // Version 1, protocol type GTP, message type T-PDU.
    if flags >> 5 != 1 || flags & 0x10 == 0 || *payload.get(1)? != 0xff {
        return None;
    }
    let mut at = 8;
    if flags & 0x07 != 0 {
        let mut next_ext = *payload.get(11)?;
        at = 12;
        // Extension headers: length in 4-byte units, next type in the last byte.
        while next_ext != 0 {
            let units = usize::from(*payload.get(at)?);
            if units == 0 {
                return None;
            }
            at += units * 4;
            next_ext = *payload.get(at - 1)?;
        }
    }
    let version = payload.get(at)? >> 4;
    matches!(version, 4 | 6).then_some(at)
}

/// Where the carried IP packet starts in an AYIYA payload (forward opcode,
/// next header IPv6 or IPv4).
pub fn ayiya(sport: u16, dport: u16, payload: &[u8]) -> Option<usize> {
    if sport != AYIYA_PORT && dport != AYIYA_PORT {
        return None;
    }
    let id_len = 1usize << (payload.first()? >> 4);
    let sig_len = usize::from(payload.get(1)? >> 4) * 4;
    let opcode = payload.get(2)? & 0x0f;
    let next_header = *payload.get(3)?;
    let at = 8 + id_len + sig_len;
    let version = payload.get(at)? >> 4;
    let carries_ip = matches!((next_header, version), (41, 6) | (4, 4));
    (opcode == 1 && carries_ip).then_some(at)
}

/// GRE header length and the EtherType it carries (version 0 only).
pub fn gre(b: &[u8]) -> Option<(usize, u16)> {
    let flags = be16(b, 0)?;
    let protocol = be16(b, 2)?;
    if flags & 0x0007 != 0 {
        return None; // version 1 is PPTP's enhanced GRE, not IP
    }
    let len = 4
        + 4 * usize::from(flags & 0x8000 != 0 || flags & 0x4000 != 0)
        + 4 * usize::from(flags & 0x2000 != 0)
        + 4 * usize::from(flags & 0x1000 != 0);
    (b.len() >= len).then_some((len, protocol))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv6_header() -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0, 0, 0, 59, 21];
        h.extend_from_slice(&[0; 32]);
        h
    }

    #[test]
    fn teredo_indicators() {
        let mut p = vec![0, 1, 0, 0];
        p.extend_from_slice(&[0; 9]);
        p.extend_from_slice(&[0, 0, 0x63, 0xbf, !192, !0, !2, !45]);
        p.extend_from_slice(&ipv6_header());
        let t = teredo(3544, 1025, &p).unwrap();
        assert!(t.auth);
        assert_eq!(t.origin, Some((Ipv4Addr::new(192, 0, 2, 45), 40000)));
        assert_eq!(t.ipv6_at, 21);
        for len in 0..p.len() {
            let cut = teredo(3544, 1025, &p[..len]);
            assert!(
                matches!(cut, Err(NotTeredo::Short { needed }) if needed > len),
                "{len}: {cut:?}"
            );
        }
        assert_eq!(teredo(53, 1025, &p), Err(NotTeredo::Other));
        let mut not_ipv6 = ipv6_header();
        not_ipv6[0] = 0x45;
        assert_eq!(teredo(3544, 1025, &not_ipv6), Err(NotTeredo::Other));
        assert_eq!(teredo(3544, 1025, &[0, 7, 0, 0]), Err(NotTeredo::Other));
    }

    #[test]
    fn plain_teredo_bubble() {
        let t = teredo(1025, 3544, &ipv6_header()).unwrap();
        assert_eq!((t.auth, t.origin, t.ipv6_at), (false, None, 0));
    }

    #[test]
    fn gtp_u_with_extension_header() {
        let mut p = vec![0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0, 0, 0];
        p.extend_from_slice(&ipv6_header());
        assert_eq!(gtp_u(2152, 2152, &p), Some(16));
        for len in 0..17 {
            assert_eq!(gtp_u(2152, 2152, &p[..len]), None);
        }
        p[0] = 0x30;
        assert_eq!(gtp_u(2152, 2152, &p[..8 + 40]), None, "data at 8 is not IP");
    }

    #[test]
    fn ayiya_forward() {
        let mut p = vec![0x41, 0x52, 0x11, 41, 0, 0, 0, 0];
        p.extend_from_slice(&[0; 16 + 20]);
        p.extend_from_slice(&ipv6_header());
        assert_eq!(ayiya(5072, 5072, &p), Some(44));
        for len in 0..45 {
            assert_eq!(ayiya(5072, 5072, &p[..len]), None);
        }
    }

    #[test]
    fn gre_lengths() {
        assert_eq!(gre(&[0, 0, 0x86, 0xdd]), Some((4, 0x86dd)));
        assert_eq!(gre(&[0x20, 0, 0x08, 0, 0, 0, 0, 1]), Some((8, 0x0800)));
        assert_eq!(gre(&[0x20, 0, 0x08, 0]), None);
        assert_eq!(gre(&[0x30, 1, 0x88, 0x0b]), None);
    }
}

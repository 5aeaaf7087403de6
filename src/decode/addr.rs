//! IPv6 addresses that carry an IPv4 address: ISATAP interface identifiers
//! (RFC 5214), 6to4 prefixes (RFC 3056) and Teredo addresses (RFC 4380).

use std::net::{Ipv4Addr, Ipv6Addr};

/// The IPv4 address embedded in an ISATAP interface identifier
/// (`::0:5efe:a.b.c.d` or `::200:5efe:a.b.c.d`, the latter for global IPv4).
pub fn isatap_ipv4(a: &Ipv6Addr) -> Option<Ipv4Addr> {
    let o = a.octets();
    let marker = o[8] & !0x02 == 0 && o[9] == 0 && o[10] == 0x5e && o[11] == 0xfe;
    marker.then(|| Ipv4Addr::new(o[12], o[13], o[14], o[15]))
}

/// The IPv4 address of a 6to4 site prefix `2002:aabb:ccdd::/48`.
pub fn six_to_four_ipv4(a: &Ipv6Addr) -> Option<Ipv4Addr> {
    let o = a.octets();
    (o[0] == 0x20 && o[1] == 0x02).then(|| Ipv4Addr::new(o[2], o[3], o[4], o[5]))
}

/// Server and client of a Teredo address `2001:0000::/32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TeredoAddr {
    pub server: Ipv4Addr,
    pub client: Ipv4Addr,
    pub port: u16,
}

pub fn teredo(a: &Ipv6Addr) -> Option<TeredoAddr> {
    let o = a.octets();
    if o[..4] != [0x20, 0x01, 0, 0] {
        return None;
    }
    Some(TeredoAddr {
        server: Ipv4Addr::new(o[4], o[5], o[6], o[7]),
        port: !u16::from_be_bytes([o[10], o[11]]),
        client: Ipv4Addr::new(!o[12], !o[13], !o[14], !o[15]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isatap_identifiers() {
        let a: Ipv6Addr = "fd9c:30c:2da4:1::5efe:172.16.16.5".parse().unwrap();
        assert_eq!(isatap_ipv4(&a), Some(Ipv4Addr::new(172, 16, 16, 5)));
        let g: Ipv6Addr = "2001:db8::200:5efe:192.0.2.1".parse().unwrap();
        assert_eq!(isatap_ipv4(&g), Some(Ipv4Addr::new(192, 0, 2, 1)));
        let n: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(isatap_ipv4(&n), None);
    }

    #[test]
    fn six_to_four_and_teredo() {
        let a: Ipv6Addr = "2002:c000:0201::1".parse().unwrap();
        assert_eq!(six_to_four_ipv4(&a), Some(Ipv4Addr::new(192, 0, 2, 1)));
        // RFC 4380 section 4 example.
        let t: Ipv6Addr = "2001:0000:4136:e378:8000:63bf:3fff:fdd2".parse().unwrap();
        let t = teredo(&t).unwrap();
        assert_eq!(t.server, Ipv4Addr::new(65, 54, 227, 120));
        assert_eq!(t.client, Ipv4Addr::new(192, 0, 2, 45));
        assert_eq!(t.port, 40000);
    }
}

//! `--host` / `--net`: which decoded frames the live analysis looks at.
//!
//! Guarantees: a frame passes when any of its IP layers — the outer IPv4 of a
//! protocol-41 or Teredo tunnel, every packet inside it, and the packet an
//! ICMP error quotes (with the IPv6 inside a quoted protocol-41 packet) — has
//! a matching source or destination. This sees through tunnels, which a
//! kernel BPF filter cannot. With no address given, every frame passes.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::decode::{Decoded, Icmpv4Message, Icmpv6Message, Quoted, Transport};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressFilter {
    pub hosts: Vec<IpAddr>,
    pub nets: Vec<IpNet>,
}

impl AddressFilter {
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.nets.is_empty()
    }

    fn wants(&self, addr: &IpAddr) -> bool {
        self.hosts.contains(addr) || self.nets.iter().any(|n| n.contains(addr))
    }

    /// Whether the analysis should look at this frame.
    pub fn matches(&self, d: &Decoded<'_>) -> bool {
        if self.is_empty() {
            return true;
        }
        if d.ips
            .iter()
            .any(|ip| self.wants(&ip.src) || self.wants(&ip.dst))
        {
            return true;
        }
        let quoted: Option<&Quoted> = match &d.transport {
            Transport::Icmpv6(m) => match &m.message {
                Icmpv6Message::Error { quoted, .. } => quoted.as_ref(),
                _ => None,
            },
            Transport::Icmpv4(m) => match &m.message {
                Icmpv4Message::Error { quoted, .. } => quoted.as_ref(),
                _ => None,
            },
            _ => None,
        };
        quoted.is_some_and(|q| {
            std::iter::once(&q.ip)
                .chain(q.inner.as_ref())
                .any(|ip| self.wants(&ip.src) || self.wants(&ip.dst))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::decode::decode_bytes;
    use crate::synth::packet::{echo6, icmpv4, ipv4};

    const RAW: u32 = 101;

    fn isatap_echo() -> (Vec<u8>, Ipv4Addr, Ipv4Addr, Ipv6Addr, Ipv6Addr) {
        let (s4, d4) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
        let s6: Ipv6Addr = "2001:db8:1::5efe:c000:201".parse().unwrap();
        let d6: Ipv6Addr = "2001:db8:1000::1".parse().unwrap();
        let inner = echo6(s6, d6, 128, false, 1, 1, b"abc").bytes();
        (ipv4(s4, d4, 128, 41, 7, &inner), s4, d4, s6, d6)
    }

    fn filter(hosts: &[&str], nets: &[&str]) -> AddressFilter {
        AddressFilter {
            hosts: hosts.iter().map(|h| h.parse().unwrap()).collect(),
            nets: nets.iter().map(|n| n.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn matches_outer_and_tunnelled_addresses() {
        let (frame, ..) = isatap_echo();
        let d = decode_bytes(RAW, &frame);
        assert!(AddressFilter::default().matches(&d));
        assert!(filter(&["192.0.2.2"], &[]).matches(&d), "outer destination");
        assert!(
            filter(&["2001:db8:1000::1"], &[]).matches(&d),
            "inner destination"
        );
        assert!(
            filter(&[], &["2001:db8:1::/64"]).matches(&d),
            "inner source prefix"
        );
        assert!(!filter(&["192.0.2.9", "2001:db8::9"], &["10.0.0.0/8"]).matches(&d));
    }

    #[test]
    fn matches_the_packet_an_icmp_error_quotes() {
        let (offending, s4, d4, ..) = isatap_echo();
        let err = icmpv4(3, 2, [0; 4], &offending);
        let frame = ipv4(d4, s4, 64, 1, 9, &err);
        let d = decode_bytes(RAW, &frame);
        assert!(
            filter(&["2001:db8:1000::1"], &[]).matches(&d),
            "quoted inner packet"
        );
        assert!(!filter(&["2001:db8:1000::2"], &[]).matches(&d));
    }
}

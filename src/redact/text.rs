//! Finding addresses in free text (summaries, evidence notes, fix commands,
//! interface names, paths) and replacing them by their pseudonyms.
//!
//! Guarantees: every IPv4 address (dotted quad), IPv6 address (any textual
//! form RFC 4291 allows, including an embedded dotted quad and a zone after
//! `%`) and MAC address (six hex bytes separated by `:` or `-`) in the text is
//! replaced by its pseudonym in canonical form; a prefix length after an
//! address (`/64`) masks the pseudonym so that it names the pseudonym prefix.
//! Everything else is left byte for byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::addr::AddrMap;

/// The longest text an address can take (IPv6 with an embedded IPv4).
const MAX_ADDR_LEN: usize = 45;

fn is_addr_char(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':' || b == b'.' || b == b'-'
}

/// An address found at the start of a slice, and its length.
enum Found {
    Ip(IpAddr),
    Mac([u8; 6]),
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let b = s.as_bytes();
    if b.len() != 17 {
        return None;
    }
    let sep = b[2];
    if sep != b':' && sep != b'-' {
        return None;
    }
    let mut mac = [0u8; 6];
    for (i, slot) in mac.iter_mut().enumerate() {
        let at = i * 3;
        if i > 0 && b[at - 1] != sep {
            return None;
        }
        *slot = u8::from_str_radix(s.get(at..at + 2)?, 16).ok()?;
    }
    Some(mac)
}

/// The longest address at the start of `s` (which holds address characters only).
fn longest_at(s: &str) -> Option<(Found, usize)> {
    let limit = s.len().min(MAX_ADDR_LEN);
    for end in (2..=limit).rev() {
        let Some(candidate) = s.get(..end) else {
            continue;
        };
        if end == 17
            && let Some(mac) = parse_mac(candidate)
        {
            return Some((Found::Mac(mac), end));
        }
        if candidate.contains('-') {
            continue;
        }
        if candidate.contains(':') {
            if let Ok(a) = candidate.parse::<Ipv6Addr>() {
                return Some((Found::Ip(IpAddr::V6(a)), end));
            }
        } else if candidate.contains('.')
            && let Ok(a) = candidate.parse::<Ipv4Addr>()
        {
            return Some((Found::Ip(IpAddr::V4(a)), end));
        }
    }
    None
}

/// A prefix length (`/0` to `/128`) right after an address, and its length in bytes.
fn prefix_len_after(rest: &str) -> Option<(u8, usize)> {
    let digits = rest.strip_prefix('/')?;
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || n > 3 {
        return None;
    }
    Some((digits[..n].parse().ok()?, n + 1))
}

fn masked(a: IpAddr, len: u8) -> IpAddr {
    match a {
        IpAddr::V4(v4) => {
            let len = u32::from(len.min(32));
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let len = u32::from(len.min(128));
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

fn map_ip(m: &AddrMap, a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(v4) => IpAddr::V4(m.ipv4(v4)),
        IpAddr::V6(v6) => IpAddr::V6(m.ipv6(v6)),
    }
}

/// `text` with every address replaced by its pseudonym.
pub fn redact(m: &AddrMap, text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if !is_addr_char(bytes[i]) {
            i += 1;
            continue;
        }
        let run_end = i + bytes[i..].iter().take_while(|&&b| is_addr_char(b)).count();
        // A run without a separator holds no address (nor one shorter than a
        // MAC with dashes).
        let run = &bytes[i..run_end];
        let separated = run.iter().any(|&b| matches!(b, b':' | b'.'))
            || (run.len() >= 17 && run.contains(&b'-'));
        if !separated {
            i = run_end;
            continue;
        }
        let mut at = i;
        while at < run_end {
            // Runs are ASCII, so every index in them is a char boundary.
            let Some((found, len)) = longest_at(&text[at..run_end]) else {
                at += 1;
                continue;
            };
            out.push_str(&text[copied..at]);
            let mut end = at + len;
            match found {
                Found::Mac(mac) => {
                    let p = m.mac(mac);
                    out.push_str(&crate::topology::MacAddr(p).to_string());
                }
                Found::Ip(ip) => {
                    let mut mapped = map_ip(m, ip);
                    if let Some((plen, n)) = prefix_len_after(&text[end..]) {
                        mapped = masked(mapped, plen);
                        out.push_str(&mapped.to_string());
                        out.push_str(&text[end..end + n]);
                        end += n;
                    } else {
                        out.push_str(&mapped.to_string());
                    }
                }
            }
            copied = end;
            at = end;
        }
        i = run_end.max(at);
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::super::keyed::{Key, Keyed};
    use super::*;

    fn map() -> AddrMap {
        AddrMap::new(Keyed::new(Key::from_secret(b"text")))
    }

    #[test]
    fn replaces_every_form() {
        let m = map();
        let v4: Ipv4Addr = "172.16.16.25".parse().unwrap();
        let v6: Ipv6Addr = "fd9c:30c:2da4:111::25".parse().unwrap();
        let mac = [0x00, 0x15, 0x5d, 0x11, 0x00, 0x25];
        let text = "protocol 41 from 172.16.16.25, not fd9c:30c:2da4:111::25. MAC 00:15:5d:11:00:25 \
                    or 00-15-5D-11-00-25; route fd9c:30c:2da4:1001::/64 nexthop=fd9c:30c:2da4:111::25 \
                    (172.16.16.25:3544) fd9c:30c:2da4:1::5efe:172.16.16.25 DAV01 ISATAP01 2026-11-26T10:01:02.345678Z";
        let out = redact(&m, text);
        assert!(!out.contains("172.16.16.25"), "{out}");
        assert!(!out.contains("fd9c"), "{out}");
        assert!(!out.contains("00:15:5d"), "{out}");
        assert!(!out.to_lowercase().contains("00-15-5d"), "{out}");
        assert!(out.contains(&m.ipv4(v4).to_string()));
        assert!(out.contains(&format!("nexthop={}", m.ipv6(v6))));
        assert!(out.contains(&crate::topology::MacAddr(m.mac(mac)).to_string()));
        assert!(out.contains(&format!("{}:3544)", m.ipv4(v4))));
        assert!(
            out.contains("DAV01 ISATAP01 2026-11-26T10:01:02.345678Z"),
            "{out}"
        );
        let net: ipnet::Ipv6Net = "fd9c:30c:2da4:1001::/64".parse().unwrap();
        let mapped_net = ipnet::Ipv6Net::new(m.ipv6(net.network()), 64)
            .unwrap()
            .trunc();
        assert!(out.contains(&format!("route {mapped_net} ")), "{out}");
        let isatap: Ipv6Addr = "fd9c:30c:2da4:1::5efe:172.16.16.25".parse().unwrap();
        assert!(out.contains(&m.ipv6(isatap).to_string()));
    }

    #[test]
    fn leaves_other_text_alone() {
        let m = map();
        for s in [
            "rtt 1.5 ms, version 0.1.0, 10:01:02.345678, wrong-next-hop",
            "a-b-c de:ad be.ef façade ünïcödé",
            "",
        ] {
            assert_eq!(redact(&m, s), s);
        }
    }
}

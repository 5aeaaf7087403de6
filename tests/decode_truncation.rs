//! The decoder over hand-built frames: each full frame decodes to the fields
//! it was built with, and every prefix of it decodes without panicking; where
//! the prefix cuts a header, `Decoded::error` names that header's layer and
//! the frame offset where it starts, and where it cuts nothing (payload bytes,
//! a quote, after the last ND option) there is no error.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use isatap_trace::decode::ndp::NdOption;
use isatap_trace::decode::{
    Decoded, ErrorKind, Fragment, Icmpv4Message, Icmpv6Message, Layer, LinkKind, MAX_TUNNEL_DEPTH,
    Quoted, TCP_SYN, Transport, TunnelKind, decode_bytes,
};

// ---------------------------------------------------------------------------
// Frame building
// ---------------------------------------------------------------------------

const ETHERNET: u32 = 1;
const NULL: u32 = 0;
const RAW: u32 = 101;
const SLL: u32 = 113;
const SLL2: u32 = 276;

const STATION_MAC: [u8; 6] = [0x00, 0x15, 0x5d, 0x01, 0x02, 0x05];
const ROUTER_MAC: [u8; 6] = [0x00, 0x15, 0x5d, 0x01, 0x02, 0x31];

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = ROUTER_MAC.to_vec();
    f.extend_from_slice(&STATION_MAC);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in b.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// IPv4 fragmentation fields: identification, more fragments, offset in 8-byte units.
#[derive(Clone, Copy)]
struct Frag {
    ident: u16,
    more: bool,
    offset: u16,
}

const WHOLE: Frag = Frag {
    ident: 0x1234,
    more: false,
    offset: 0,
};

fn ipv4_with(
    proto: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    options: &[u8],
    frag: Frag,
    payload: &[u8],
) -> Vec<u8> {
    assert!(options.len().is_multiple_of(4));
    let ihl = 5 + options.len() / 4;
    let total = (ihl * 4 + payload.len()) as u16;
    let flags = (u16::from(frag.more) << 13) | frag.offset;
    let mut h = vec![0x40 | ihl as u8, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&frag.ident.to_be_bytes());
    h.extend_from_slice(&flags.to_be_bytes());
    h.extend_from_slice(&[ttl, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h.extend_from_slice(options);
    let sum = checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn ipv4(proto: u8, src: &str, dst: &str, ttl: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_with(proto, v4(src), v4(dst), ttl, &[], WHOLE, payload)
}

/// An IPv6 header; `payload` starts with any extension headers.
fn ipv6(next: u8, src: &str, dst: &str, hlim: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, hlim]);
    h.extend_from_slice(&v6(src).octets());
    h.extend_from_slice(&v6(dst).octets());
    h.extend_from_slice(payload);
    h
}

fn icmp(ty: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(body);
    let sum = checksum(&m);
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    m
}

fn echo(ty: u8, id: u16, seq: u16, data_len: usize) -> Vec<u8> {
    let [a, b] = id.to_be_bytes();
    let [c, d] = seq.to_be_bytes();
    let data: Vec<u8> = (0..data_len).map(|i| 0x61 + (i % 23) as u8).collect();
    icmp(ty, 0, [a, b, c, d], &data)
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = sport.to_be_bytes().to_vec();
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// A TCP header of 32 bytes (12 bytes of options).
fn tcp_syn(sport: u16, dport: u16, seq: u32) -> Vec<u8> {
    let mut t = sport.to_be_bytes().to_vec();
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(&[8 << 4, TCP_SYN, 0xfa, 0xf0, 0, 0, 0, 0]);
    t.extend_from_slice(&[2, 4, 0x05, 0xb4, 1, 3, 3, 8, 4, 2, 1, 1]);
    t
}

// ---------------------------------------------------------------------------
// Prefix checking
// ---------------------------------------------------------------------------

/// A header that a prefix may cut.
#[derive(Clone, Copy, Debug)]
struct Hdr {
    layer: Layer,
    start: usize,
    len: usize,
    /// A prefix ending exactly where this header would start is complete
    /// (ND options, echo data), not cut.
    may_be_absent: bool,
}

fn hdr(layer: Layer, start: usize, len: usize) -> Hdr {
    Hdr {
        layer,
        start,
        len,
        may_be_absent: false,
    }
}

fn optional(layer: Layer, start: usize, len: usize) -> Hdr {
    Hdr {
        layer,
        start,
        len,
        may_be_absent: true,
    }
}

/// Decodes every prefix of `frame` and checks the error against `headers`
/// (in frame order). Returns the decodes for further checks by the caller.
fn check_prefixes<'a>(
    name: &str,
    link_type: u32,
    frame: &'a [u8],
    headers: &[Hdr],
) -> Vec<Decoded<'a>> {
    let mut all = Vec::with_capacity(frame.len() + 1);
    for len in 0..=frame.len() {
        let d = decode_bytes(link_type, &frame[..len]);
        let cut = headers.iter().find(|h| {
            len < h.start + h.len && (len > h.start || (len == h.start && !h.may_be_absent))
        });
        match (cut, d.error) {
            (None, None) => {}
            (None, Some(e)) => panic!("{name}: prefix {len} cuts no header, yet: {e}"),
            (Some(h), None) => panic!("{name}: prefix {len} cuts {h:?}, no error"),
            (Some(h), Some(e)) => {
                assert_eq!(
                    (e.layer, e.offset),
                    (h.layer, h.start),
                    "{name}: prefix {len} cuts {h:?}: {e}"
                );
                match e.kind {
                    ErrorKind::Truncated { needed, have } => {
                        assert_eq!(have as usize, len - h.start, "{name}: prefix {len}: {e}");
                        assert!(needed > have, "{name}: prefix {len}: {e}");
                    }
                    other => panic!("{name}: prefix {len}: {other:?} is not a truncation"),
                }
            }
        }
        all.push(d);
    }
    // Whatever the link type, no prefix makes the decoder panic.
    for lt in [0, 1, 9, 12, 101, 107, 108, 113, 228, 229, 242, 276, 9999] {
        for len in 0..=frame.len() {
            let _ = decode_bytes(lt, &frame[..len]);
        }
    }
    all
}

fn echo_of(d: &Decoded<'_>) -> Option<(u8, u16, u16)> {
    match &d.transport {
        Transport::Icmpv6(m) => match &m.message {
            Icmpv6Message::EchoRequest(e) | Icmpv6Message::EchoReply(e) => {
                Some((m.ty, e.id, e.seq))
            }
            _ => None,
        },
        Transport::Icmpv4(m) => match &m.message {
            Icmpv4Message::EchoRequest(e) | Icmpv4Message::EchoReply(e) => {
                Some((m.ty, e.id, e.seq))
            }
            _ => None,
        },
        _ => None,
    }
}

fn quoted_of(d: &Decoded<'_>) -> Option<Quoted> {
    match &d.transport {
        Transport::Icmpv6(m) => match &m.message {
            Icmpv6Message::Error { quoted, .. } => *quoted,
            _ => None,
        },
        Transport::Icmpv4(m) => match &m.message {
            Icmpv4Message::Error { quoted, .. } => *quoted,
            _ => None,
        },
        _ => None,
    }
}

fn addrs(d: &Decoded<'_>) -> Vec<(IpAddr, IpAddr, u8)> {
    d.ips
        .iter()
        .map(|ip| (ip.src, ip.dst, ip.hop_limit))
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

const STATION_ISATAP: &str = "fd9c:30c:2da4:1::5efe:172.16.16.5";
const CLIENT: &str = "fd9c:30c:2da4:1000::7";

#[test]
fn isatap_echo_request_over_ethernet() {
    let inner = ipv6(58, STATION_ISATAP, CLIENT, 64, &echo(128, 0x1234, 7, 32));
    let outer = ipv4(41, "172.16.16.5", "172.16.16.31", 128, &inner);
    let frame = eth(0x0800, &outer);
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.error, None);
    assert_eq!(d.link.kind, LinkKind::Ethernet);
    assert_eq!(d.link.src_mac, Some(STATION_MAC));
    assert_eq!(
        addrs(&d),
        vec![
            (ip("172.16.16.5"), ip("172.16.16.31"), 128),
            (ip(STATION_ISATAP), ip(CLIENT), 64),
        ]
    );
    let (tunnel, outer_ip) = d.tunnel().unwrap();
    assert_eq!(tunnel.kind, TunnelKind::Isatap);
    assert_eq!(outer_ip.protocol, 41);
    assert_eq!(d.innermost().unwrap().offset, 34);
    assert_eq!(echo_of(&d), Some((128, 0x1234, 7)));
    check_prefixes(
        "isatap echo",
        ETHERNET,
        &frame,
        &[
            hdr(Layer::Ethernet, 0, 14),
            hdr(Layer::Ipv4, 14, 20),
            hdr(Layer::Ipv6, 34, 40),
            hdr(Layer::Icmpv6, 74, 8),
        ],
    );
}

fn router_advert() -> Vec<u8> {
    let mut opts = vec![1, 1];
    opts.extend_from_slice(&ROUTER_MAC);
    // Prefix information: fd9c:30c:2da4:1::/64, on-link + autonomous.
    opts.extend_from_slice(&[3, 4, 64, 0xc0]);
    opts.extend_from_slice(&86_400u32.to_be_bytes());
    opts.extend_from_slice(&14_400u32.to_be_bytes());
    opts.extend_from_slice(&[0; 4]);
    opts.extend_from_slice(&v6("fd9c:30c:2da4:1::").octets());
    // Route information: fd9c:30c:2da4:1000::/64, high preference, 1800 s.
    opts.extend_from_slice(&[24, 2, 64, 0b01 << 3]);
    opts.extend_from_slice(&1800u32.to_be_bytes());
    opts.extend_from_slice(&v6("fd9c:30c:2da4:1000::").octets()[..8]);
    // MTU 1280.
    opts.extend_from_slice(&[5, 1, 0, 0]);
    opts.extend_from_slice(&1280u32.to_be_bytes());
    let mut body = Vec::new();
    body.extend_from_slice(&0u32.to_be_bytes()); // reachable time
    body.extend_from_slice(&0u32.to_be_bytes()); // retrans timer
    body.extend_from_slice(&opts);
    // Current hop limit 64, no flags, router lifetime 1800 s.
    icmp(134, 0, [64, 0, 0x07, 0x08], &body)
}

#[test]
fn router_advert_over_vlan_with_prefix_and_route() {
    let ra = router_advert();
    let packet = ipv6(58, "fe80::31", "ff02::1", 255, &ra);
    let mut tagged = vec![0x20, 100]; // priority 1, VLAN 100
    tagged.extend_from_slice(&0x86ddu16.to_be_bytes());
    tagged.extend_from_slice(&packet);
    let frame = eth(0x8100, &tagged);
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.error, None);
    assert_eq!(d.link.vlan_ids(), &[100]);
    assert_eq!(addrs(&d), vec![(ip("fe80::31"), ip("ff02::1"), 255)]);
    let Transport::Icmpv6(m) = d.transport else {
        panic!("{:?}", d.transport)
    };
    let Icmpv6Message::RouterAdvert(adv) = m.message else {
        panic!("{:?}", m.message)
    };
    assert_eq!((adv.cur_hop_limit, adv.router_lifetime), (64, 1800));
    let opts: Vec<_> = adv.options.iter().collect();
    assert_eq!(opts.len(), 4);
    assert_eq!(opts[0], NdOption::SourceLinkAddr(&ROUTER_MAC));
    let NdOption::Prefix(p) = opts[1] else {
        panic!("{:?}", opts[1])
    };
    assert_eq!((p.prefix, p.len), (v6("fd9c:30c:2da4:1::"), 64));
    assert!(p.on_link && p.autonomous);
    assert_eq!(p.valid_lifetime, 86_400);
    let NdOption::Route(r) = opts[2] else {
        panic!("{:?}", opts[2])
    };
    assert_eq!(
        (r.prefix, r.len, r.preference, r.lifetime),
        (v6("fd9c:30c:2da4:1000::"), 64, 1, 1800)
    );
    assert_eq!(opts[3], NdOption::Mtu(1280));
    let icmp_at = 18 + 40;
    let opt_at = icmp_at + 16;
    check_prefixes(
        "router advert",
        ETHERNET,
        &frame,
        &[
            hdr(Layer::Ethernet, 0, 14),
            hdr(Layer::Vlan, 14, 4),
            hdr(Layer::Ipv6, 18, 40),
            hdr(Layer::Icmpv6, icmp_at, 16),
            optional(Layer::NdOption, opt_at, 8),
            optional(Layer::NdOption, opt_at + 8, 32),
            optional(Layer::NdOption, opt_at + 40, 16),
            optional(Layer::NdOption, opt_at + 56, 8),
        ],
    );
}

#[test]
fn teredo_with_authentication_and_origin_indicators() {
    let client = "2001:0:4136:e378:8000:63bf:3fff:fdd2";
    let inner = ipv6(58, client, "2001:db8::1", 21, &echo(129, 0x4444, 9, 16));
    let mut payload = vec![0, 1, 2, 3]; // authentication: id-len 2, au-len 3
    payload.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd, 0xee]);
    payload.extend_from_slice(&[0x11; 8]); // nonce
    payload.push(0); // confirmation
    // Origin indication: port 40000, address 192.0.2.45, both obfuscated.
    payload.extend_from_slice(&[0, 0]);
    payload.extend_from_slice(&(!40000u16).to_be_bytes());
    payload.extend_from_slice(&(!u32::from(v4("192.0.2.45"))).to_be_bytes());
    let teredo_len = payload.len();
    payload.extend_from_slice(&inner);
    let frame = eth(
        0x0800,
        &ipv4(
            17,
            "65.54.227.120",
            "192.0.2.45",
            50,
            &udp(3544, 40000, &payload),
        ),
    );
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.error, None);
    let (tunnel, outer) = d.tunnel().unwrap();
    assert_eq!(tunnel.kind, TunnelKind::Teredo);
    assert_eq!(outer.src, ip("65.54.227.120"));
    let t = tunnel.teredo.unwrap();
    assert!(t.auth);
    assert_eq!(t.origin, Some((v4("192.0.2.45"), 40000)));
    assert_eq!((t.sport, t.dport, t.ipv6_at), (3544, 40000, teredo_len));
    assert_eq!(
        d.innermost().map(|i| (i.src, i.hop_limit)),
        Some((ip(client), 21))
    );
    assert_eq!(echo_of(&d), Some((129, 0x4444, 9)));
    let udp_at = 14 + 20;
    let teredo_at = udp_at + 8;
    let ipv6_at = teredo_at + teredo_len;
    check_prefixes(
        "teredo",
        ETHERNET,
        &frame,
        &[
            hdr(Layer::Ethernet, 0, 14),
            hdr(Layer::Ipv4, 14, 20),
            hdr(Layer::Udp, udp_at, 8),
            // The indicators and the IPv6 header they must be followed by.
            hdr(Layer::Teredo, teredo_at, teredo_len + 40),
            hdr(Layer::Icmpv6, ipv6_at + 40, 8),
        ],
    );
}

#[test]
fn icmpv4_protocol_unreachable_quoting_protocol_41() {
    let probe = ipv6(58, STATION_ISATAP, CLIENT, 64, &echo(128, 0x0101, 3, 24));
    let dropped = ipv4(41, "172.16.16.5", "172.16.16.31", 127, &probe);
    // Routers quote at least the header and 8 bytes; this one quotes 576 bytes' worth.
    let error = icmp(3, 2, [0; 4], &dropped);
    let frame = eth(0x0800, &ipv4(1, "172.16.16.31", "172.16.16.5", 255, &error));
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.error, None);
    let Transport::Icmpv4(m) = d.transport else {
        panic!("{:?}", d.transport)
    };
    assert_eq!((m.ty, m.code), (3, 2));
    let q = quoted_of(&d).unwrap();
    assert_eq!(
        (q.ip.src, q.ip.dst, q.ip.protocol, q.ip.hop_limit),
        (ip("172.16.16.5"), ip("172.16.16.31"), 41, 127)
    );
    let inner = q.inner.unwrap();
    assert_eq!(
        (inner.src, inner.dst, inner.protocol, inner.hop_limit),
        (ip(STATION_ISATAP), ip(CLIENT), 58, 64)
    );
    assert_eq!(inner.echo, Some((0x0101, 3)));
    assert_eq!(q.probe().echo, Some((0x0101, 3)));
    let icmp_at = 34;
    let quote_at = icmp_at + 8;
    let decodes = check_prefixes(
        "icmpv4 unreachable",
        ETHERNET,
        &frame,
        &[
            hdr(Layer::Ethernet, 0, 14),
            hdr(Layer::Ipv4, 14, 20),
            hdr(Layer::Icmpv4, icmp_at, 8),
        ],
    );
    // A cut quote keeps what it holds: the outer quoted header once whole, the
    // tunnelled header once whole, the echo fields once present.
    for (len, d) in decodes.iter().enumerate().skip(quote_at) {
        let q = quoted_of(d);
        let quoted = len - quote_at;
        assert_eq!(q.is_some(), quoted >= 20, "prefix {len}");
        let inner = q.and_then(|q| q.inner);
        assert_eq!(inner.is_some(), quoted >= 60, "prefix {len}");
        let has_echo = inner.and_then(|i| i.echo).is_some();
        assert_eq!(has_echo, quoted >= 68, "prefix {len}");
    }
}

#[test]
fn icmpv6_time_exceeded_quoting_an_echo() {
    let probe = ipv6(58, STATION_ISATAP, CLIENT, 1, &echo(128, 0x0202, 11, 40));
    let error = icmp(3, 0, [0; 4], &probe);
    let frame = eth(
        0x86dd,
        &ipv6(58, "fd9c:30c:2da4:111::31", STATION_ISATAP, 64, &error),
    );
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.error, None);
    assert!(d.tunnel().is_none());
    let Transport::Icmpv6(m) = d.transport else {
        panic!("{:?}", d.transport)
    };
    assert_eq!((m.ty, m.code), (3, 0));
    let q = quoted_of(&d).unwrap();
    assert_eq!(
        (
            q.ip.src,
            q.ip.dst,
            q.ip.hop_limit,
            q.ip.icmp_type,
            q.ip.echo
        ),
        (
            ip(STATION_ISATAP),
            ip(CLIENT),
            1,
            Some(128),
            Some((0x0202, 11))
        )
    );
    assert_eq!(q.inner, None);
    let decodes = check_prefixes(
        "icmpv6 time exceeded",
        ETHERNET,
        &frame,
        &[
            hdr(Layer::Ethernet, 0, 14),
            hdr(Layer::Ipv6, 14, 40),
            hdr(Layer::Icmpv6, 54, 8),
        ],
    );
    let quote_at = 62;
    for (len, d) in decodes.iter().enumerate().skip(quote_at) {
        let q = quoted_of(d);
        assert_eq!(q.is_some(), len - quote_at >= 40, "prefix {len}");
        let echo = q.and_then(|q| q.ip.echo);
        assert_eq!(echo.is_some(), len - quote_at >= 48, "prefix {len}");
    }
}

#[test]
fn ipv4_options_and_fragments() {
    let router_alert = [0x94, 0x04, 0, 0];
    let dns = udp(53000, 53, &[0x12; 40]);
    let first = Frag {
        ident: 0xbeef,
        more: true,
        offset: 0,
    };
    let frame = eth(
        0x0800,
        &ipv4_with(
            17,
            v4("10.0.0.1"),
            v4("10.0.0.53"),
            64,
            &router_alert,
            first,
            &dns,
        ),
    );
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.error, None);
    let l = d.innermost().unwrap();
    assert_eq!(
        (l.fragment, l.ident, l.protocol, l.hop_limit),
        (Fragment::First, 0xbeef, 17, 64)
    );
    let Transport::Udp(u) = d.transport else {
        panic!("{:?}", d.transport)
    };
    assert_eq!((u.sport, u.dport, u.payload.len()), (53000, 53, 40));
    check_prefixes(
        "ipv4 first fragment with options",
        ETHERNET,
        &frame,
        &[
            hdr(Layer::Ethernet, 0, 14),
            hdr(Layer::Ipv4, 14, 24),
            hdr(Layer::Udp, 38, 8),
        ],
    );

    // A later fragment carries no transport header: its bytes are not read as one.
    let later = Frag {
        ident: 0xbeef,
        more: false,
        offset: 6,
    };
    let frame = eth(
        0x0800,
        &ipv4_with(
            17,
            v4("10.0.0.1"),
            v4("10.0.0.53"),
            64,
            &router_alert,
            later,
            &[0xff; 30],
        ),
    );
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.error, None);
    assert_eq!(d.innermost().unwrap().fragment, Fragment::Later);
    assert_eq!(d.transport, Transport::None);
    check_prefixes(
        "ipv4 later fragment",
        ETHERNET,
        &frame,
        &[hdr(Layer::Ethernet, 0, 14), hdr(Layer::Ipv4, 14, 24)],
    );
}

#[test]
fn ipv6_extension_headers() {
    let mut exts = vec![60, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop, PadN
    exts.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]); // destination options
    exts.extend_from_slice(&[58, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]); // fragment: first, M=1
    exts.extend_from_slice(&echo(128, 0x0303, 1, 8));
    let frame = eth(0x86dd, &ipv6(0, STATION_ISATAP, CLIENT, 63, &exts));
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.error, None);
    let l = d.innermost().unwrap();
    assert_eq!(
        (l.protocol, l.fragment, l.ident, l.hop_limit),
        (58, Fragment::First, 0xdead_beef, 63)
    );
    assert_eq!(echo_of(&d), Some((128, 0x0303, 1)));
    check_prefixes(
        "ipv6 extension headers",
        ETHERNET,
        &frame,
        &[
            hdr(Layer::Ethernet, 0, 14),
            hdr(Layer::Ipv6, 14, 40),
            hdr(Layer::Ipv6Extension, 54, 8),
            hdr(Layer::Ipv6Extension, 62, 8),
            hdr(Layer::Ipv6Extension, 70, 8),
            hdr(Layer::Icmpv6, 78, 8),
        ],
    );
}

#[test]
fn udp_dns_query() {
    let frame = eth(
        0x0800,
        &ipv4(
            17,
            "172.16.16.5",
            "172.16.16.2",
            128,
            &udp(51000, 53, &[7; 29]),
        ),
    );
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.error, None);
    let Transport::Udp(u) = d.transport else {
        panic!("{:?}", d.transport)
    };
    assert_eq!((u.sport, u.dport, u.payload.len()), (51000, 53, 29));
    check_prefixes(
        "udp",
        ETHERNET,
        &frame,
        &[
            hdr(Layer::Ethernet, 0, 14),
            hdr(Layer::Ipv4, 14, 20),
            hdr(Layer::Udp, 34, 8),
        ],
    );
}

#[test]
fn tcp_syn_over_ipv6() {
    let frame = eth(
        0x86dd,
        &ipv6(
            6,
            STATION_ISATAP,
            CLIENT,
            128,
            &tcp_syn(49152, 3389, 0x0102_0304),
        ),
    );
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.error, None);
    let Transport::Tcp(t) = d.transport else {
        panic!("{:?}", d.transport)
    };
    assert_eq!(
        (t.sport, t.dport, t.seq, t.flags),
        (49152, 3389, 0x0102_0304, TCP_SYN)
    );
    check_prefixes(
        "tcp",
        ETHERNET,
        &frame,
        &[
            hdr(Layer::Ethernet, 0, 14),
            hdr(Layer::Ipv6, 14, 40),
            hdr(Layer::Tcp, 54, 20),
        ],
    );
}

#[test]
fn linux_cooked_sll() {
    let mut frame = vec![0, 4, 0, 1, 0, 6];
    frame.extend_from_slice(&STATION_MAC);
    frame.extend_from_slice(&[0, 0, 0x86, 0xdd]);
    frame.extend_from_slice(&ipv6(
        58,
        CLIENT,
        STATION_ISATAP,
        57,
        &echo(129, 0x0404, 2, 16),
    ));
    let d = decode_bytes(SLL, &frame);
    assert_eq!(d.error, None);
    assert_eq!(d.link.kind, LinkKind::LinuxSll);
    assert_eq!(
        (d.link.pkttype, d.link.src_mac),
        (Some(4), Some(STATION_MAC))
    );
    assert_eq!(addrs(&d), vec![(ip(CLIENT), ip(STATION_ISATAP), 57)]);
    assert_eq!(echo_of(&d), Some((129, 0x0404, 2)));
    check_prefixes(
        "sll",
        SLL,
        &frame,
        &[
            hdr(Layer::LinuxSll, 0, 16),
            hdr(Layer::Ipv6, 16, 40),
            hdr(Layer::Icmpv6, 56, 8),
        ],
    );
}

#[test]
fn linux_cooked_sll2_with_6to4() {
    let mut frame = vec![0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6];
    frame.extend_from_slice(&STATION_MAC);
    frame.extend_from_slice(&[0, 0]);
    let inner = ipv6(
        58,
        "2002:c000:201::1",
        "2002:cb00:7101::2",
        60,
        &echo(128, 5, 6, 10),
    );
    frame.extend_from_slice(&ipv4(41, "192.0.2.1", "203.0.113.1", 50, &inner));
    let d = decode_bytes(SLL2, &frame);
    assert_eq!(d.error, None);
    assert_eq!(
        (d.link.kind, d.link.ifindex),
        (LinkKind::LinuxSll2, Some(3))
    );
    assert_eq!(d.tunnel().unwrap().0.kind, TunnelKind::SixToFour);
    assert_eq!(d.innermost().unwrap().hop_limit, 60);
    assert_eq!(echo_of(&d), Some((128, 5, 6)));
    check_prefixes(
        "sll2 6to4",
        SLL2,
        &frame,
        &[
            hdr(Layer::LinuxSll2, 0, 20),
            hdr(Layer::Ipv4, 20, 20),
            hdr(Layer::Ipv6, 40, 40),
            hdr(Layer::Icmpv6, 80, 8),
        ],
    );
}

#[test]
fn bsd_null_loopback() {
    let mut frame = vec![2, 0, 0, 0];
    frame.extend_from_slice(&ipv4(
        1,
        "127.0.0.1",
        "127.0.0.1",
        64,
        &echo(8, 0x0505, 1, 56),
    ));
    let d = decode_bytes(NULL, &frame);
    assert_eq!(d.error, None);
    assert_eq!(d.link.kind, LinkKind::Null);
    assert_eq!(echo_of(&d), Some((8, 0x0505, 1)));
    check_prefixes(
        "null ipv4",
        NULL,
        &frame,
        &[
            hdr(Layer::Null, 0, 4),
            hdr(Layer::Ipv4, 4, 20),
            hdr(Layer::Icmpv4, 24, 8),
        ],
    );

    // AF_INET6 as Darwin writes it, in the capturing host's (little-endian) order.
    let mut frame = vec![30, 0, 0, 0];
    frame.extend_from_slice(&ipv6(58, "::1", "::1", 64, &echo(128, 6, 7, 0)));
    let d = decode_bytes(NULL, &frame);
    assert_eq!(d.error, None);
    assert_eq!(echo_of(&d), Some((128, 6, 7)));
    check_prefixes(
        "null ipv6",
        NULL,
        &frame,
        &[
            hdr(Layer::Null, 0, 4),
            hdr(Layer::Ipv6, 4, 40),
            hdr(Layer::Icmpv6, 44, 8),
        ],
    );
}

#[test]
fn raw_ip_announces_nothing() {
    let frame = ipv4(
        41,
        "172.16.16.5",
        "172.16.16.31",
        128,
        &ipv6(58, STATION_ISATAP, CLIENT, 64, &echo(128, 1, 1, 0)),
    );
    let d = decode_bytes(RAW, &frame);
    assert_eq!(d.error, None);
    assert_eq!(d.tunnel().unwrap().0.kind, TunnelKind::Isatap);
    check_prefixes(
        "raw",
        RAW,
        &frame,
        &[
            hdr(Layer::Ipv4, 0, 20),
            hdr(Layer::Ipv6, 20, 40),
            hdr(Layer::Icmpv6, 60, 8),
        ],
    );
}

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

/// IPv4 carrying IPv6 carrying IPv6 ... `levels` IP headers in all.
fn nested_protocol_41(levels: usize) -> Vec<u8> {
    let mut packet = echo(128, 9, 9, 0);
    let mut next = 58;
    for _ in 1..levels {
        packet = ipv6(next, "2001:db8::1", "2001:db8::2", 64, &packet);
        next = 41;
    }
    ipv4(41, "192.0.2.1", "192.0.2.2", 64, &packet)
}

#[test]
fn tunnels_nest_at_most_max_tunnel_depth() {
    // The cap itself decodes.
    let ok = nested_protocol_41(MAX_TUNNEL_DEPTH + 1);
    let d = decode_bytes(RAW, &ok);
    assert_eq!(d.error, None);
    assert_eq!(d.ips.len(), MAX_TUNNEL_DEPTH + 1);
    assert_eq!(echo_of(&d), Some((128, 9, 9)));
    assert_eq!(d.ips[1].via.unwrap().kind, TunnelKind::SixIn4);
    assert_eq!(d.ips[2].via.unwrap().kind, TunnelKind::SixIn6);

    // One more, and many more, stop with a typed error at the first layer too many.
    for levels in [MAX_TUNNEL_DEPTH + 2, 64] {
        let frame = nested_protocol_41(levels);
        let d = decode_bytes(RAW, &frame);
        assert_eq!(d.ips.len(), MAX_TUNNEL_DEPTH + 1, "{levels}");
        let e = d.error.expect("too deep");
        assert_eq!(e.kind, ErrorKind::TunnelTooDeep);
        assert_eq!(e.offset, 20 + 40 * MAX_TUNNEL_DEPTH, "{levels}");
        assert_eq!(e.layer, Layer::Ipv6);
        assert_eq!(d.transport, Transport::None);
        assert!(e.to_string().contains("nested tunnels"), "{e}");
    }
}

#[test]
fn long_extension_header_chains_terminate() {
    // 4000 destination-options headers, each pointing to the next: far more
    // than any packet has. Decoding ends, quickly, with what parsed.
    let mut exts = Vec::new();
    for _ in 0..4000 {
        exts.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
    }
    exts.extend_from_slice(&[58, 0, 1, 4, 0, 0, 0, 0]);
    exts.extend_from_slice(&echo(128, 1, 2, 0));
    let frame = eth(0x86dd, &ipv6(60, "2001:db8::1", "2001:db8::2", 64, &exts));
    let started = Instant::now();
    for len in (0..frame.len()).step_by(7).chain([frame.len()]) {
        let d = decode_bytes(ETHERNET, &frame[..len]);
        if len >= 14 + 40 {
            assert_eq!(d.ips.len(), 1, "prefix {len}");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.ips.len(), 1);
    assert_eq!(d.ips[0].fragment, Fragment::Whole);

    // Maximal-length headers (2048 bytes each) chained to the end of the frame.
    let mut exts = Vec::new();
    for _ in 0..30 {
        let mut h = vec![0u8; 2048];
        h[0] = 43;
        h[1] = 255;
        exts.extend_from_slice(&h);
    }
    let frame = eth(0x86dd, &ipv6(43, "2001:db8::1", "2001:db8::2", 64, &exts));
    let started = Instant::now();
    for len in (0..frame.len()).step_by(61).chain([frame.len()]) {
        let _ = decode_bytes(ETHERNET, &frame[..len]);
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn extension_chain_past_the_payload_length_is_invalid_not_truncated() {
    // Every header is captured, but the last names another where the IPv6
    // payload ends: damage in the packet, not a capture cut short.
    let exts = [60, 0, 1, 4, 0, 0, 0, 0, 60, 0, 1, 4, 0, 0, 0, 0];
    let mut frame = eth(0x86dd, &ipv6(60, STATION_ISATAP, CLIENT, 64, &exts));
    // Bytes after the IPv6 payload (Ethernet padding) are not part of the chain.
    frame.extend_from_slice(&[0; 8]);
    let d = decode_bytes(ETHERNET, &frame);
    assert_eq!(d.ips.len(), 1);
    assert_eq!(
        d.error,
        Some(isatap_trace::decode::DecodeError::invalid(
            Layer::Ipv6Extension,
            14 + 40 + 16,
            "extension headers run past the IP payload length"
        ))
    );
    // The same chain cut by the capture is truncated, as before.
    let d = decode_bytes(ETHERNET, &frame[..14 + 40 + 12]);
    assert!(
        matches!(
            d.error,
            Some(e) if e.layer == Layer::Ipv6Extension
                && matches!(e.kind, ErrorKind::Truncated { .. })
        ),
        "{:?}",
        d.error
    );
}

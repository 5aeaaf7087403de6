//! One line per decoded frame, for `isatap-trace decode`: text in the spirit of
//! `tcpdump -nn` with every tunnel layer shown, or one JSON object per line.
//!
//! Guarantees: the caller's buffer is reused (no allocation per frame beyond
//! its growth); capture-derived text is stripped of control characters (text)
//! or escaped (JSON).

use std::fmt::Write;
use std::net::IpAddr;

use super::names;
use super::sanitize::{push_json_string, push_terminal_safe};
use super::time::{write_epoch, write_time_of_day};
use crate::capture::Frame;
use crate::decode::ndp::NdOption;
use crate::decode::{
    Decoded, Fragment, Icmpv4Message, Icmpv6Message, IpLayer, QuotedIp, TCP_ACK, TCP_FIN, TCP_RST,
    TCP_SYN, Transport,
};

/// Appends the text line for a frame (without newline).
pub fn write_text(out: &mut String, frame: &Frame<'_>, d: &Decoded<'_>) {
    let _ = write!(out, "{} ", frame.index);
    write_time_of_day(out, frame.ts_ns);
    for vlan in d.link.vlan_ids() {
        let _ = write!(out, " vlan {vlan}");
    }
    let last = d.ips.len().saturating_sub(1);
    for (i, ip) in d.ips.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { " | " });
        write_ip(out, ip, i == last);
        if let Some(next) = d.ips.get(i + 1).and_then(|n| n.via) {
            if let Some(t) = next.teredo {
                let _ = write!(out, " UDP {} > {}", t.sport, t.dport);
                if let Some((addr, port)) = t.origin {
                    let _ = write!(out, " origin {addr}:{port}");
                }
                if t.auth {
                    out.push_str(" auth");
                }
            }
            let _ = write!(out, " {}", next.kind.name());
        }
    }
    if d.ips.is_empty() && d.error.is_none() {
        match d.link.ethertype {
            0x0806 => out.push_str(" ARP"),
            0 => out.push_str(" non-IP"),
            t => {
                let _ = write!(out, " ethertype 0x{t:04x}");
            }
        }
    }
    if !matches!(d.transport, Transport::None) {
        out.push_str(" | ");
        write_transport(out, &d.transport);
    } else if d.is_teredo_bubble() {
        out.push_str(" | bubble");
    }
    if let Some(e) = d.error {
        let _ = write!(out, " [{e}]");
    }
    if let Some(c) = frame.comment {
        out.push_str(" # ");
        push_terminal_safe(out, c);
    }
}

fn write_ip(out: &mut String, ip: &IpLayer, innermost: bool) {
    let family = if ip.is_v6() { "IPv6" } else { "IPv4" };
    let _ = write!(out, "{family} {} > {}", ip.src, ip.dst);
    if innermost {
        let _ = write!(
            out,
            " {} {}",
            if ip.is_v6() { "hlim" } else { "ttl" },
            ip.hop_limit
        );
    }
    match ip.fragment {
        Fragment::Whole => {}
        Fragment::First => {
            let _ = write!(out, " frag first id {}", ip.ident);
        }
        Fragment::Later => {
            let _ = write!(out, " frag id {} proto {}", ip.ident, ip.protocol);
        }
    }
}

fn write_transport(out: &mut String, t: &Transport<'_>) {
    match t {
        Transport::None => {}
        Transport::Icmpv6(m) => {
            out.push_str("ICMPv6 ");
            write_icmp_name(
                out,
                names::icmpv6_type(m.ty),
                names::icmpv6_code(m.ty, m.code),
                m.ty,
                m.code,
            );
            match &m.message {
                Icmpv6Message::EchoRequest(e) | Icmpv6Message::EchoReply(e) => {
                    let _ = write!(out, " id {} seq {} len {}", e.id, e.seq, e.data.len());
                }
                Icmpv6Message::Error { param, quoted } => {
                    match m.ty {
                        2 => {
                            let _ = write!(out, " mtu {param}");
                        }
                        4 => {
                            let _ = write!(out, " pointer {param}");
                        }
                        _ => {}
                    }
                    if let Some(q) = quoted {
                        write_quoted(out, &q.ip, q.inner.as_ref());
                    }
                }
                Icmpv6Message::RouterSolicit(_) => {}
                Icmpv6Message::RouterAdvert(ra) => {
                    let _ = write!(out, " lifetime {}", ra.router_lifetime);
                    if ra.cur_hop_limit != 0 {
                        let _ = write!(out, " hlim {}", ra.cur_hop_limit);
                    }
                    for opt in ra.options.iter() {
                        match opt {
                            NdOption::Prefix(p) => {
                                let _ = write!(out, " prefix {}/{}", p.prefix, p.len);
                            }
                            NdOption::Route(r) => {
                                let _ = write!(out, " route {}/{}", r.prefix, r.len);
                                if r.lifetime == 0 {
                                    out.push_str(" (withdrawn)");
                                }
                            }
                            NdOption::Mtu(mtu) => {
                                let _ = write!(out, " mtu {mtu}");
                            }
                            NdOption::SourceLinkAddr(a) => write_lladdr(out, a),
                            _ => {}
                        }
                    }
                }
                Icmpv6Message::NeighborSolicit { target, options } => {
                    let _ = write!(out, " who-has {target}");
                    if let Some(a) = options.source_link_addr() {
                        write_lladdr(out, a);
                    }
                }
                Icmpv6Message::NeighborAdvert {
                    router,
                    solicited,
                    override_,
                    target,
                    options,
                } => {
                    let _ = write!(out, " tgt {target}");
                    let flags: String = [(*router, 'R'), (*solicited, 'S'), (*override_, 'O')]
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, c)| *c)
                        .collect();
                    if !flags.is_empty() {
                        let _ = write!(out, " [{flags}]");
                    }
                    if let Some(a) = options.target_link_addr() {
                        write_lladdr(out, a);
                    }
                }
                Icmpv6Message::Redirect {
                    target,
                    destination,
                    ..
                } => {
                    let _ = write!(out, " {destination} via {target}");
                }
                Icmpv6Message::Other => {}
            }
        }
        Transport::Icmpv4(m) => {
            out.push_str("ICMP ");
            write_icmp_name(
                out,
                names::icmpv4_type(m.ty),
                names::icmpv4_code(m.ty, m.code),
                m.ty,
                m.code,
            );
            match &m.message {
                Icmpv4Message::EchoRequest(e) | Icmpv4Message::EchoReply(e) => {
                    let _ = write!(out, " id {} seq {} len {}", e.id, e.seq, e.data.len());
                }
                Icmpv4Message::Error { param, quoted } => {
                    if m.ty == 3 && m.code == 4 {
                        let _ = write!(out, " mtu {param}");
                    }
                    if let Some(q) = quoted {
                        write_quoted(out, &q.ip, q.inner.as_ref());
                    }
                }
                Icmpv4Message::Other => {}
            }
        }
        Transport::Udp(u) => {
            let _ = write!(out, "UDP {} > {} len {}", u.sport, u.dport, u.payload.len());
        }
        Transport::Tcp(t) => {
            let _ = write!(out, "TCP {} > {} [", t.sport, t.dport);
            for (bit, c) in [
                (TCP_SYN, 'S'),
                (TCP_FIN, 'F'),
                (TCP_RST, 'R'),
                (TCP_ACK, '.'),
            ] {
                if t.flags & bit != 0 {
                    out.push(c);
                }
            }
            let _ = write!(out, "] seq {}", t.seq);
        }
        Transport::Other(p) => {
            let _ = write!(out, "proto {p}");
        }
    }
}

fn write_icmp_name(out: &mut String, ty: Option<&str>, code: Option<&str>, t: u8, c: u8) {
    match ty {
        Some(name) => out.push_str(name),
        None => {
            let _ = write!(out, "type {t}");
        }
    }
    match code {
        Some(name) => {
            let _ = write!(out, " {name}");
        }
        None if c != 0 => {
            let _ = write!(out, " code {c}");
        }
        None => {}
    }
}

fn write_quoted(out: &mut String, ip: &QuotedIp, inner: Option<&QuotedIp>) {
    out.push_str(" [quoting ");
    write_quoted_ip(out, ip);
    if let Some(inner) = inner {
        out.push_str(" | ");
        write_quoted_ip(out, inner);
    }
    out.push(']');
}

fn write_quoted_ip(out: &mut String, q: &QuotedIp) {
    let family = if q.src.is_ipv6() { "IPv6" } else { "IPv4" };
    let hl = if q.src.is_ipv6() { "hlim" } else { "ttl" };
    let _ = write!(out, "{family} {} > {} {hl} {}", q.src, q.dst, q.hop_limit);
    if let Some((id, seq)) = q.echo {
        let _ = write!(out, " echo id {id} seq {seq}");
    } else if let Some((s, d)) = q.ports {
        let _ = write!(out, " {} {s} > {d}", proto_name(q.protocol));
    } else {
        let _ = write!(out, " {}", proto_name(q.protocol));
    }
}

fn proto_name(p: u8) -> &'static str {
    match p {
        1 => "ICMP",
        6 => "TCP",
        17 => "UDP",
        41 => "IPv6-in-IPv4",
        58 => "ICMPv6",
        _ => "proto",
    }
}

fn write_lladdr(out: &mut String, a: &[u8]) {
    out.push_str(" lladdr ");
    write_mac(out, a);
}

fn write_mac(out: &mut String, a: &[u8]) {
    for (i, b) in a.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02x}");
    }
}

/// Appends the JSON object for a frame (without newline).
pub fn write_json(out: &mut String, frame: &Frame<'_>, d: &Decoded<'_>) {
    let _ = write!(out, "{{\"frame\":{},\"ts\":", frame.index);
    write_epoch(out, frame.ts_ns);
    let _ = write!(
        out,
        ",\"link_type\":{},\"len\":{},\"caplen\":{}",
        frame.link_type,
        frame.orig_len,
        frame.bytes.len()
    );
    out.push_str(",\"vlan\":[");
    for (i, v) in d.link.vlan_ids().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{v}");
    }
    out.push(']');
    json_mac(out, "link_src", d.link.src_mac.as_ref());
    json_mac(out, "link_dst", d.link.dst_mac.as_ref());
    let tunnel = d.tunnel();
    out.push_str(",\"tunnel\":");
    match tunnel {
        Some((t, _)) => {
            let _ = write!(out, "\"{}\"", t.kind.name());
        }
        None => out.push_str("null"),
    }
    json_addr(out, "outer_src", tunnel.map(|(_, o)| o.src));
    json_addr(out, "outer_dst", tunnel.map(|(_, o)| o.dst));
    let inner = d.innermost();
    json_addr(out, "src", inner.map(|i| i.src));
    json_addr(out, "dst", inner.map(|i| i.dst));
    json_num(out, "protocol", inner.map(|i| u32::from(i.protocol)));
    json_num(out, "hop_limit", inner.map(|i| u32::from(i.hop_limit)));
    let (ty, code, echo, quoted) = match &d.transport {
        Transport::Icmpv6(m) => {
            let echo = match &m.message {
                Icmpv6Message::EchoRequest(e) | Icmpv6Message::EchoReply(e) => Some((e.id, e.seq)),
                _ => None,
            };
            let quoted = match &m.message {
                Icmpv6Message::Error { quoted, .. } => quoted.as_ref(),
                _ => None,
            };
            (Some(m.ty), Some(m.code), echo, quoted)
        }
        Transport::Icmpv4(m) => {
            let echo = match &m.message {
                Icmpv4Message::EchoRequest(e) | Icmpv4Message::EchoReply(e) => Some((e.id, e.seq)),
                _ => None,
            };
            let quoted = match &m.message {
                Icmpv4Message::Error { quoted, .. } => quoted.as_ref(),
                _ => None,
            };
            (Some(m.ty), Some(m.code), echo, quoted)
        }
        _ => (None, None, None, None),
    };
    json_num(out, "icmp_type", ty.map(u32::from));
    json_num(out, "icmp_code", code.map(u32::from));
    json_num(out, "echo_id", echo.map(|e| u32::from(e.0)));
    json_num(out, "echo_seq", echo.map(|e| u32::from(e.1)));
    let ports = match &d.transport {
        Transport::Udp(u) => Some((u.sport, u.dport)),
        Transport::Tcp(t) => Some((t.sport, t.dport)),
        _ => None,
    };
    json_num(out, "sport", ports.map(|p| u32::from(p.0)));
    json_num(out, "dport", ports.map(|p| u32::from(p.1)));
    out.push_str(",\"quoted\":");
    match quoted {
        Some(q) => {
            json_quoted(out, &q.ip);
            if let Some(inner) = &q.inner {
                out.pop();
                out.push_str(",\"inner\":");
                json_quoted(out, inner);
                out.push('}');
            }
        }
        None => out.push_str("null"),
    }
    out.push_str(",\"error\":");
    match d.error {
        Some(e) => push_json_string(out, &e.to_string()),
        None => out.push_str("null"),
    }
    if let Some(c) = frame.comment {
        out.push_str(",\"comment\":");
        push_json_string(out, &String::from_utf8_lossy(c));
    }
    out.push('}');
}

fn json_quoted(out: &mut String, q: &QuotedIp) {
    out.push('{');
    out.push_str("\"src\":");
    let _ = write!(out, "\"{}\"", q.src);
    let _ = write!(out, ",\"dst\":\"{}\"", q.dst);
    let _ = write!(
        out,
        ",\"protocol\":{},\"hop_limit\":{}",
        q.protocol, q.hop_limit
    );
    json_num(out, "echo_id", q.echo.map(|e| u32::from(e.0)));
    json_num(out, "echo_seq", q.echo.map(|e| u32::from(e.1)));
    json_num(out, "sport", q.ports.map(|p| u32::from(p.0)));
    json_num(out, "dport", q.ports.map(|p| u32::from(p.1)));
    out.push('}');
}

fn json_addr(out: &mut String, key: &str, a: Option<IpAddr>) {
    match a {
        Some(a) => {
            let _ = write!(out, ",\"{key}\":\"{a}\"");
        }
        None => {
            let _ = write!(out, ",\"{key}\":null");
        }
    }
}

fn json_num(out: &mut String, key: &str, v: Option<u32>) {
    match v {
        Some(v) => {
            let _ = write!(out, ",\"{key}\":{v}");
        }
        None => {
            let _ = write!(out, ",\"{key}\":null");
        }
    }
}

fn json_mac(out: &mut String, key: &str, m: Option<&[u8; 6]>) {
    let _ = write!(out, ",\"{key}\":");
    match m {
        Some(m) => {
            out.push('"');
            write_mac(out, m);
            out.push('"');
        }
        None => out.push_str("null"),
    }
}

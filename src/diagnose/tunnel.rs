//! Tunnel rules: ISATAP packets whose outer source is not the IPv4 embedded in
//! their inner source (`isatap-source-mismatch`, NAT in the path), and
//! protocol 41 that is refused or vanishes (`protocol-41-blocked`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{Analysis, Evidence, Finding, Kind, Severity, fixes};
use crate::decode::TunnelKind;
use crate::flow::FastMap;
use crate::flow::facts::Ends;

/// The outer IPv4 source differs from the one embedded in the ISATAP source.
pub fn source_mismatch(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    let mut by_host: BTreeMap<(IpAddr, IpAddr), Vec<Evidence>> = BTreeMap::new();
    for m in &a.facts.source_mismatches {
        // The router relays others' packets; only the station's own are checked.
        if a.router_v4() == Some(m.outer_src) {
            continue;
        }
        by_host
            .entry((m.inner_src, m.outer_src))
            .or_default()
            .push(Evidence {
                capture: m.at.capture,
                frame: m.at.frame,
                note: format!(
                    "inner source {} embeds {}, outer source is {}",
                    m.inner_src, m.embedded, m.outer_src
                ),
            });
    }
    for ((inner, outer_src), mut evidence) in by_host {
        let embedded_v4 = Analysis::embedded_v4(&inner);
        let embedded = embedded_v4.map_or_else(String::new, |v| v.to_string());
        // The station's own capture shows the untranslated packet: cite it too.
        if let Some(pair) = a.facts.tunnels.iter().find_map(|(Ends { src, .. }, p)| {
            (embedded_v4.map(IpAddr::V4) == Some(*src) && p.kind == TunnelKind::Isatap).then_some(p)
        }) {
            evidence.push(Evidence {
                capture: pair.first.capture,
                frame: pair.first.frame,
                note: format!("the station sends it from {embedded}"),
            });
        }
        out.push(Finding {
            kind: Kind::IsatapSourceMismatch,
            severity: Severity::Error,
            node: format!("station {embedded} / path to {}", a.router_name()),
            summary: format!(
                "Protocol 41 from the station {embedded} ({inner}) arrives with outer source {outer_src} instead of {embedded}: \
                 something translates addresses (NAT) between the station and the router, and the router drops \
                 such packets (RFC 5214 source check)."
            ),
            evidence,
            fix: format!(
                "Route {embedded} to the ISATAP router without address translation (exempt {embedded} → {} from NAT on the device that rewrites it to {outer_src}); ISATAP cannot cross NAT.",
                a.router_v4().map_or_else(|| "the router".to_owned(), |r| r.to_string())
            ),
            flows: Vec::new(),
        });
    }
}

/// ICMPv4 "protocol unreachable"/"administratively prohibited" for protocol
/// 41, or protocol 41 that leaves and nothing at all comes back.
pub fn protocol_41_blocked(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    for e in &a.facts.tunnel_errors {
        let refused = e.ty == 3 && matches!(e.code, 2 | 9 | 10 | 13);
        if !refused {
            continue;
        }
        let why = if e.code == 2 {
            "protocol unreachable"
        } else {
            "administratively prohibited"
        };
        let by_router = a.router_v4() == Some(e.from);
        let by_target = e.from == e.tunnel_dst;
        let (node, fix) = if e.code == 2 && (by_router || by_target) {
            let name = if by_router {
                a.router_name()
            } else {
                format!("host {}", e.from)
            };
            (name.clone(), fixes::enable_isatap_router(&name))
        } else {
            (
                format!("firewall {}", e.from),
                format!(
                    "On {}: allow IP protocol 41 from {} to {}; on a Windows host: {}",
                    e.from,
                    e.tunnel_src,
                    e.tunnel_dst,
                    fixes::allow_protocol_41(&e.tunnel_src.to_string())
                ),
            )
        };
        out.push(Finding {
            kind: Kind::Protocol41Blocked,
            severity: Severity::Error,
            node,
            summary: format!(
                "{} refuses protocol 41 from {} to {} (ICMP {why}): the ISATAP tunnel cannot pass.",
                e.from, e.tunnel_src, e.tunnel_dst
            ),
            evidence: vec![Evidence {
                capture: e.at.capture,
                frame: e.at.frame,
                note: format!(
                    "ICMP destination unreachable ({why}) quoting protocol 41 to {}",
                    e.tunnel_dst
                ),
            }],
            fix,
            flows: flows_between(a, e.tunnel_src, e.tunnel_dst),
        });
    }
    silent_drop(a, out);
}

/// Flows whose requests travel in the tunnel from `src` to `dst`.
fn flows_between(a: &Analysis<'_>, src: IpAddr, dst: IpAddr) -> Vec<u32> {
    a.flows
        .iter()
        .filter(|f| {
            f.path
                .iter()
                .any(|s| a.via(s).outer.is_some_and(|o| o.src == src && o.dst == dst))
        })
        .map(|f| f.id)
        .collect()
}

/// Protocol 41 leaves a host again and again and nothing ever comes back,
/// and no capture shows it arriving at its destination.
fn silent_drop(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    // The captures that show each host sending tunnel traffic, gathered
    // once: looking them up pair by pair would be quadratic in the pairs.
    let mut sends_in: FastMap<IpAddr, u64> = FastMap::default();
    for (ends, p) in a.facts.tunnels.iter() {
        *sends_in.entry(ends.src).or_default() |= p.captures;
    }
    for (&Ends { src, dst }, pair) in a.facts.tunnels.iter() {
        // Silence is judged once the first packet's timeout has run out.
        if pair.kind != TunnelKind::Isatap || pair.packets < 3 || !a.judged(pair.first.ts_ns) {
            continue;
        }
        let answered = a.facts.tunnels.contains(&Ends { src: dst, dst: src });
        // A capture taken at `dst` (the router's, or one where `dst` itself
        // sends tunnel traffic) that shows the packets: they were not blocked.
        let mut dst_captures = sends_in.get(&dst).copied().unwrap_or(0);
        if a.router_v4() == Some(dst) {
            for c in 0..a.captures.len().min(64) {
                if a.is_router_capture(c as u16) {
                    dst_captures |= 1 << c;
                }
            }
        }
        let arrived = pair.captures & dst_captures != 0;
        if answered || arrived {
            continue;
        }
        // Refused with an ICMP error (its own finding), or sent with a
        // source that NAT rewrites, so that it arrives under another one.
        let refused = || {
            a.facts
                .tunnel_errors
                .iter()
                .any(|e| e.tunnel_src == src && e.tunnel_dst == dst)
        };
        let translated = || {
            a.facts
                .source_mismatches
                .iter()
                .any(|m| IpAddr::V4(m.embedded) == src)
        };
        if refused() || translated() {
            continue;
        }
        let node = format!("path {src} → {dst}");
        out.push(Finding {
            kind: Kind::Protocol41Blocked,
            severity: Severity::Error,
            node,
            summary: format!(
                "{} protocol-41 packets left {src} for {dst} and nothing ever came back from {dst}: \
                 a firewall between them drops IP protocol 41.",
                pair.packets
            ),
            evidence: vec![
                Evidence {
                    capture: pair.first.capture,
                    frame: pair.first.frame,
                    note: format!("first protocol-41 packet {src} → {dst}"),
                },
                Evidence {
                    capture: pair.last.capture,
                    frame: pair.last.frame,
                    note: format!("last protocol-41 packet {src} → {dst}, still unanswered"),
                },
            ],
            fix: format!(
                "On every firewall between {src} and {dst}: allow IP protocol 41 (not TCP/UDP 41) both ways; on a Windows host: {}",
                fixes::allow_protocol_41(&src.to_string())
            ),
            flows: flows_between(a, src, dst),
        });
    }
}

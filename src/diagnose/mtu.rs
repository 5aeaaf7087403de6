//! `packet-too-big`: an ICMPv6 Packet Too Big, or an ICMPv4 "fragmentation
//! needed" about a protocol-41 packet, reported by a node on the path.

use super::{Analysis, Evidence, Finding, Kind, Severity, fixes};

pub fn packet_too_big(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    for flow in a.flows {
        if flow.first_error.is_none() {
            continue;
        }
        let mut first = None;
        let mut evidence = Vec::new();
        for (_, detail) in a.probes(flow).take(16) {
            let Some(detail) = detail else { continue };
            for e in detail.errors.iter().filter(|e| e.v6 && e.ty == 2) {
                first.get_or_insert(*e);
                evidence.push(Evidence {
                    capture: e.seen.capture,
                    frame: e.seen.frame,
                    note: format!(
                        "Packet Too Big from {}, MTU {}",
                        a.describe(&e.src),
                        e.param
                    ),
                });
            }
        }
        let Some(e) = first else { continue };
        // Path-MTU discovery works when the probes after the first Packet Too
        // Big get through (the station fragments or shrinks them).
        let failing = flow.answered == 0;
        out.push(Finding {
            kind: Kind::PacketTooBig,
            severity: if failing { Severity::Error } else { Severity::Warning },
            node: a.node_name(&e.src),
            summary: format!(
                "{} reports that the requests to {} exceed its MTU of {} bytes{}",
                a.describe(&e.src),
                flow.key.dst,
                e.param,
                if failing {
                    ", and none of the requests is answered: send smaller packets or let path-MTU discovery work."
                } else {
                    "; the station adapts and later requests are answered (path-MTU discovery works)."
                }
            ),
            evidence,
            fix: format!(
                "On the station: {}  (or keep probes at most {} bytes: ping -l {})",
                fixes::set_isatap_mtu(None, e.param),
                e.param,
                e.param.saturating_sub(48)
            ),
            flows: vec![flow.id],
        });
    }
    for t in &a.facts.tunnel_errors {
        if t.ty != 3 || t.code != 4 {
            continue;
        }
        let inner_mtu = t.param.saturating_sub(20);
        out.push(Finding {
            kind: Kind::PacketTooBig,
            severity: Severity::Warning,
            node: a.node_name(&t.from),
            summary: format!(
                "{} needs fragmentation for protocol 41 from {} to {}: the IPv4 path MTU is {}, so the ISATAP MTU must be at most {inner_mtu}.",
                a.describe(&t.from),
                t.tunnel_src,
                t.tunnel_dst,
                t.param
            ),
            evidence: vec![Evidence {
                capture: t.at.capture,
                frame: t.at.frame,
                note: format!("ICMP fragmentation needed, next-hop MTU {}", t.param),
            }],
            fix: format!("On {}: {}", t.tunnel_src, fixes::set_isatap_mtu(None, inner_mtu.max(1280))),
            flows: Vec::new(),
        });
    }
}

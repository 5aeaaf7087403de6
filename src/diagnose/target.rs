//! The target's side: the request reached the DA client's side and nothing
//! came back (`no-reply-from-target`).

use super::{Analysis, Evidence, Finding, Kind, Severity, fixes};
use crate::flow::table::Sighting;
use crate::flow::{FlowKind, Verdict};

/// Unanswered pings whose requests reached the client side; runs after the
/// other rules and leaves alone the flows they already explain.
pub fn no_reply_from_target(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    let explained: std::collections::HashSet<u32> =
        out.iter().flat_map(|f| f.flows.iter().copied()).collect();
    for flow in a.flows {
        if flow.kind != FlowKind::Ping
            || flow.verdict != Verdict::Unanswered
            || flow.rejected > 0
            || flow.errored > 0
            || explained.contains(&flow.id)
        {
            continue;
        }
        let owner = a.topology.owner_of(&flow.key.dst);
        let mut client_side: Vec<&Sighting> = Vec::new();
        let mut at_owner: Vec<&Sighting> = Vec::new();
        for (_, detail) in a.probes(flow).take(8) {
            let Some(detail) = detail else { continue };
            for s in detail.requests.iter().filter(|s| a.via(s).outer.is_none()) {
                let link = a.via(s).link;
                let at_node = a.node_of_capture(s.capture);
                let toward_owner = owner.is_some_and(|o| {
                    o.mac.is_some_and(|m| link.dst_mac == Some(m.0))
                        || at_node.is_some_and(|n| n.name == o.name)
                });
                if link.raw && at_node.is_some()
                    || link.raw && owner.is_some() && !a.is_router_capture(s.capture)
                {
                    client_side.push(s);
                } else if toward_owner {
                    at_owner.push(s);
                }
            }
        }
        let (seen, certain) = match (client_side.first(), at_owner.first()) {
            (Some(_), _) => (client_side, true),
            (None, Some(_)) => (at_owner, false),
            (None, None) => continue,
        };
        let last = seen.iter().min_by_key(|s| s.hop_limit).copied();
        let Some(last) = last else { continue };
        let node_name = owner.map_or_else(|| "the DA node".to_owned(), |o| o.name.clone());
        let summary = if certain {
            format!(
                "The requests reach {} ({node_name}'s client side, capture `{}`, hop limit {}) and nothing answers: \
                 the client's firewall drops ICMPv6 echo, or the client is offline.",
                flow.key.dst,
                a.label(last.capture),
                last.hop_limit
            )
        } else {
            format!(
                "The requests reach {node_name}, which owns {}'s prefix, and nothing answers; no capture shows the client side, \
                 so this assumes {node_name} delivered them: the client's firewall drops ICMPv6 echo, or the client is offline.",
                flow.key.dst
            )
        };
        out.push(Finding {
            kind: Kind::NoReplyFromTarget,
            severity: if certain {
                Severity::Error
            } else {
                Severity::Warning
            },
            node: format!("DA client {}", flow.key.dst),
            summary,
            evidence: seen
                .iter()
                .take(4)
                .map(|s| Evidence {
                    capture: s.capture,
                    frame: s.frame,
                    note: format!(
                        "request to {} (hop limit {}), never answered",
                        flow.key.dst, s.hop_limit
                    ),
                })
                .collect(),
            fix: format!(
                "On {} (or in its GPO): {}",
                flow.key.dst,
                fixes::allow_echo_on_client()
            ),
            flows: vec![flow.id],
        });
    }
}

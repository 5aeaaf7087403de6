//! Forwarding rules on the router's side: a client prefix sent to the wrong
//! DA node (`wrong-next-hop`), a next hop that never answers Neighbor
//! Solicitation (`neighbor-unreachable`), a router without a route
//! (`missing-published-route` from its Destination Unreachable), and packets
//! circling between two nodes (`routing-loop`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};

use ipnet::Ipv6Net;

use super::{Analysis, Evidence, Finding, Kind, Severity, fixes};
use crate::decode::ndp::mask;
use crate::flow::facts::is_routable;
use crate::flow::table::Sighting;
use crate::topology::{DaNode, MacAddr};

fn prefix64(addr: &IpAddr) -> Option<Ipv6Net> {
    match addr {
        IpAddr::V6(a) => Ipv6Net::new(mask(*a, 64), 64).ok(),
        IpAddr::V4(_) => None,
    }
}

/// Native copies of a request one hop past the router (forwarded by it).
fn forwarded<'a>(
    a: &Analysis<'_>,
    sent: u8,
    requests: &'a [Sighting],
) -> impl Iterator<Item = &'a Sighting> {
    let router_mac = a.router_mac();
    requests.iter().filter(move |s| {
        let via = a.via(s);
        via.outer.is_none()
            && !via.link.raw
            && via.link.dst_mac.is_some()
            && (router_mac.is_some() && via.link.src_mac == router_mac
                || router_mac.is_none() && s.hop_limit.checked_add(1) == Some(sent))
    })
}

/// The router forwards a client prefix to a DA node that does not own it.
pub fn wrong_next_hop(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    // (prefix, wrong node) → evidence and flows.
    let mut wrong: BTreeMap<(Ipv6Net, String), (Vec<Evidence>, Vec<u32>)> = BTreeMap::new();
    for flow in a.flows {
        let Some(owner) = a.topology.owner_of(&flow.key.dst) else {
            continue;
        };
        for (probe, detail) in a.probes(flow).take(16) {
            let Some(detail) = detail else { continue };
            // Seen leaving the router (a node's own capture says "arrives", below).
            let leaving = forwarded(a, probe.sent_hop_limit, &detail.requests)
                .filter(|s| a.node_of_capture(s.capture).is_none());
            for s in leaving {
                let dst_mac = a.via(s).link.dst_mac;
                let Some(node) = dst_mac.and_then(|m| a.node_of_mac(&m)) else {
                    continue;
                };
                if node.name == owner.name {
                    continue;
                }
                let entry = wrong
                    .entry((owner.client_prefix, node.name.clone()))
                    .or_default();
                entry.0.push(Evidence {
                    capture: s.capture,
                    frame: s.frame,
                    note: format!(
                        "request to {} leaves for {} (MAC {})",
                        flow.key.dst,
                        node.name,
                        MacAddr(dst_mac.unwrap_or_default())
                    ),
                });
                entry.1.push(flow.id);
            }
            for s in detail.requests.iter().filter(|s| a.via(s).outer.is_none()) {
                if let Some(node) = a.node_of_capture(s.capture)
                    && node.name != owner.name
                {
                    let entry = wrong
                        .entry((owner.client_prefix, node.name.clone()))
                        .or_default();
                    entry.0.push(Evidence {
                        capture: s.capture,
                        frame: s.frame,
                        note: format!("request to {} arrives at {}", flow.key.dst, node.name),
                    });
                    entry.1.push(flow.id);
                }
            }
        }
    }
    for ((prefix, wrong_name), (mut evidence, flows)) in wrong {
        let (Some(owner), Some(wrong_node)) = (
            a.topology
                .da_nodes
                .iter()
                .find(|n| n.client_prefix == prefix),
            a.topology.node_by_name(&wrong_name),
        ) else {
            continue;
        };
        if let Some(mac) = wrong_node.mac
            && let Some(na) = a
                .facts
                .neighbor_adverts
                .iter()
                .find(|na| na.mac == Some(mac.0) && na.target == wrong_node.ipv6)
        {
            evidence.push(Evidence {
                capture: na.at.capture,
                frame: na.at.frame,
                note: format!(
                    "{} answers for {} with MAC {mac}",
                    wrong_node.name, wrong_node.ipv6
                ),
            });
        }
        let router = a.router_name();
        out.push(Finding {
            kind: Kind::WrongNextHop,
            severity: Severity::Error,
            node: router.clone(),
            summary: format!(
                "{router} forwards {prefix} to {} ({}), but {} ({}) owns that client prefix: the published route's nexthop is wrong.",
                wrong_node.name, wrong_node.ipv6, owner.name, owner.ipv6
            ),
            evidence,
            fix: fixes::replace_next_hop(
                &prefix.to_string(),
                &a.router_lan_interface(),
                &wrong_node.ipv6.to_string(),
                &owner.ipv6.to_string(),
            ),
            flows,
        });
    }
}

/// Flows whose requests reached the router and got "address unreachable"
/// back, or never left it.
fn stuck_at_router(a: &Analysis<'_>) -> Vec<(u32, IpAddr, Vec<Evidence>)> {
    let mut out = Vec::new();
    for flow in a.flows {
        // Only flows an ICMP error answered can show one.
        if flow.first_error.is_none() {
            continue;
        }
        let mut evidence = Vec::new();
        for (_, detail) in a.probes(flow).take(8) {
            let Some(detail) = detail else { continue };
            for e in &detail.errors {
                if e.v6 && e.ty == 1 && e.code == 3 && a.is_router_address(&e.src) {
                    evidence.push(Evidence {
                        capture: e.seen.capture,
                        frame: e.seen.frame,
                        note: format!(
                            "{} answers Destination Unreachable (address unreachable)",
                            a.router_name()
                        ),
                    });
                }
            }
        }
        if !evidence.is_empty() {
            out.push((flow.id, flow.key.dst, evidence));
        }
    }
    out
}

/// A next hop that never answers Neighbor Solicitation.
pub fn neighbor_unreachable(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    let mut solicited: BTreeMap<Ipv6Addr, Vec<Evidence>> = BTreeMap::new();
    let mut solicitor: BTreeMap<Ipv6Addr, (IpAddr, u16)> = BTreeMap::new();
    for ns in &a.facts.neighbor_solicits {
        // Duplicate address detection (from ::) and link-local targets are not
        // next hops; a solicitation still within its timeout is not judged.
        if ns.src.is_unspecified() || !is_routable(&ns.target) || !a.judged(ns.at.ts_ns) {
            continue;
        }
        solicited.entry(ns.target).or_default().push(Evidence {
            capture: ns.at.capture,
            frame: ns.at.frame,
            note: format!("Neighbor Solicitation for {} from {}", ns.target, ns.src),
        });
        solicitor
            .entry(ns.target)
            .or_insert((ns.src, ns.at.capture));
    }
    let stuck = stuck_at_router(a);
    for (target, mut evidence) in solicited {
        if a.facts
            .neighbor_adverts
            .iter()
            .any(|na| na.target == target)
        {
            continue;
        }
        if evidence.len() < 2 && stuck.is_empty() {
            continue;
        }
        let asker = solicitor.get(&target).copied();
        // The router solicits next hops; an unknown solicitor seen in the
        // router's own capture (and not a DA node) is taken to be the router.
        // It is named by name (the node to fix); the summary says which
        // address it solicited from (a router resolving the next hop of a
        // forwarded packet solicits from its link-local address).
        let (node, who) = match asker {
            Some((s, _)) if a.is_router_address(&s) => (a.router_name(), a.router_name()),
            Some((IpAddr::V6(s), c))
                if a.is_router_capture(c) && a.topology.node_by_address(&s).is_none() =>
            {
                (a.router_name(), format!("{} ({s})", a.router_name()))
            }
            Some((s, _)) => (a.describe(&s), a.describe(&s)),
            None => (a.router_name(), a.router_name()),
        };
        let mut flows = Vec::new();
        let mut owners: Vec<&DaNode> = Vec::new();
        for (flow, dst, ev) in &stuck {
            flows.push(*flow);
            evidence.extend(ev.iter().cloned());
            if let Some(owner) = a.topology.owner_of(dst)
                && !owners.iter().any(|o| o.name == owner.name)
            {
                owners.push(owner);
            }
        }
        let (summary, fix) = match a.topology.node_by_address(&target) {
            Some(down) => (
                format!(
                    "{} ({target}) never answers the Neighbor Solicitations of {who}: the DA node is down or not on the VLAN, so everything routed through it is lost.",
                    down.name
                ),
                format!(
                    "On {}: Get-NetIPAddress -IPAddress {target}  (the address must be present and Preferred; check the VLAN port)",
                    down.name
                ),
            ),
            None => {
                let fix = match owners.as_slice() {
                    [owner] => fixes::replace_next_hop(
                        &owner.client_prefix.to_string(),
                        &a.router_lan_interface(),
                        &target.to_string(),
                        &owner.ipv6.to_string(),
                    ),
                    _ => format!(
                        "netsh interface ipv6 show route  (find the route with nexthop={target} on {node} and correct its nexthop to the DA node's address)"
                    ),
                };
                (
                    format!(
                        "{who} resolves the next hop {target}, which no node answers: the route's nexthop is mistyped{}.",
                        match owners.as_slice() {
                            [owner] => format!(" (it should be {} {})", owner.name, owner.ipv6),
                            _ => String::new(),
                        }
                    ),
                    fix,
                )
            }
        };
        out.push(Finding {
            kind: Kind::NeighborUnreachable,
            severity: Severity::Error,
            node,
            summary,
            evidence,
            fix,
            flows,
        });
    }
}

/// The router answers Destination Unreachable "no route": it has no route to
/// the client prefix.
pub fn no_route_at_router(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    for flow in a.flows {
        if flow.first_error.is_none() {
            continue;
        }
        let mut evidence = Vec::new();
        for (_, detail) in a.probes(flow).take(8) {
            let Some(detail) = detail else { continue };
            for e in &detail.errors {
                if e.v6 && e.ty == 1 && e.code == 0 && a.is_router_address(&e.src) {
                    evidence.push(Evidence {
                        capture: e.seen.capture,
                        frame: e.seen.frame,
                        note: format!(
                            "{} answers Destination Unreachable (no route) for {}",
                            a.router_name(),
                            flow.key.dst
                        ),
                    });
                }
            }
        }
        if evidence.is_empty() {
            continue;
        }
        let owner = a.topology.owner_of(&flow.key.dst);
        let prefix = owner
            .map(|o| o.client_prefix)
            .or_else(|| prefix64(&flow.key.dst));
        let Some(prefix) = prefix else { continue };
        let router = a.router_name();
        out.push(Finding {
            kind: Kind::MissingPublishedRoute,
            severity: Severity::Error,
            node: router.clone(),
            summary: format!(
                "{router} answers \"no route to destination\" for {}: it has no route to {prefix}{}.",
                flow.key.dst,
                owner.map_or_else(String::new, |o| format!(" ({}'s client prefix)", o.name))
            ),
            evidence,
            fix: fixes::add_published_route(
                &prefix.to_string(),
                &a.router_lan_interface(),
                &owner.map_or_else(
                    || "<IPv6 address of the DA node that owns this prefix>".to_owned(),
                    |o| o.ipv6.to_string(),
                ),
            ),
            flows: vec![flow.id],
        });
    }
}

/// The same packet seen again and again in one capture with a falling hop limit.
pub fn routing_loop(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    for flow in a.flows {
        // A looping request never reaches its target.
        if flow.verdict == crate::flow::Verdict::Answered {
            continue;
        }
        for (probe, detail) in a.probes(flow).take(16) {
            let Some(detail) = detail else { continue };
            // A loop shows the same request three times or more, hop limit falling.
            if probe.request_sightings < 3
                || probe.sent_hop_limit < probe.lowest_hop_limit.saturating_add(2)
            {
                continue;
            }
            let mut by_capture: BTreeMap<u16, Vec<&Sighting>> = BTreeMap::new();
            for s in detail.requests.iter().filter(|s| a.via(s).outer.is_none()) {
                by_capture.entry(s.capture).or_default().push(s);
            }
            let Some((_, mut looped)) = by_capture.into_iter().find(|(_, v)| {
                let mut limits: Vec<u8> = v.iter().map(|s| s.hop_limit).collect();
                limits.sort_unstable();
                limits.dedup();
                limits.len() >= 3
            }) else {
                continue;
            };
            looped.sort_by_key(|s| std::cmp::Reverse(s.hop_limit));
            let macs: Vec<[u8; 6]> = looped
                .iter()
                .map(|s| a.via(s).link)
                .flat_map(|link| [link.src_mac, link.dst_mac])
                .flatten()
                .fold(Vec::new(), |mut v, m| {
                    if !v.contains(&m) {
                        v.push(m);
                    }
                    v
                });
            let nodes: Vec<&DaNode> = macs.iter().filter_map(|m| a.node_of_mac(m)).collect();
            let owner = a.topology.owner_of(&flow.key.dst);
            let router = a.router_name();
            let (node, fix) = match (owner, nodes.first()) {
                (Some(o), _) if nodes.iter().any(|n| n.name == o.name) => (
                    o.name.clone(),
                    format!(
                        "On {}: netsh interface ipv6 show route {}  (it must point to the IP-HTTPS interface; check netsh interface httpstunnel show interfaces)",
                        o.name, o.client_prefix
                    ),
                ),
                (Some(o), Some(n)) => (
                    router.clone(),
                    fixes::replace_next_hop(
                        &o.client_prefix.to_string(),
                        &a.router_lan_interface(),
                        &n.ipv6.to_string(),
                        &o.ipv6.to_string(),
                    ),
                ),
                _ => (
                    router.clone(),
                    format!(
                        "netsh interface ipv6 show route {}  (on {router} and on the node it forwards to: each must send the prefix onward, not back)",
                        prefix64(&flow.key.dst)
                            .map_or_else(|| flow.key.dst.to_string(), |p| p.to_string())
                    ),
                ),
            };
            let first = looped[0].hop_limit;
            let last = probe.lowest_hop_limit;
            let between = if nodes.is_empty() {
                macs.iter()
                    .map(|m| MacAddr(*m).to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            } else {
                let mut names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
                if a.router_mac().is_some_and(|m| macs.contains(&m)) {
                    names.insert(0, router.clone());
                }
                names.join(" and ")
            };
            let mut evidence: Vec<Evidence> = looped
                .iter()
                .take(4)
                .map(|s| Evidence {
                    capture: s.capture,
                    frame: s.frame,
                    note: format!("the same request again, hop limit {}", s.hop_limit),
                })
                .collect();
            let time_exceeded = detail.errors.iter().find(|e| e.v6 && e.ty == 3);
            if let Some(te) = time_exceeded {
                evidence.push(Evidence {
                    capture: te.seen.capture,
                    frame: te.seen.frame,
                    note: format!("Time Exceeded from {}", a.describe(&te.src)),
                });
            }
            out.push(Finding {
                kind: Kind::RoutingLoop,
                severity: Severity::Error,
                node,
                summary: format!(
                    "The request to {} circles between {between}: the captures show it {} times with the hop limit falling from {first} to {last}{}.",
                    flow.key.dst,
                    probe.request_sightings,
                    if time_exceeded.is_some() { ", until Time Exceeded" } else { "" }
                ),
                evidence,
                fix,
                flows: vec![flow.id],
            });
            break;
        }
    }
}

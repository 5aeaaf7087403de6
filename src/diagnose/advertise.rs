//! Router Solicitation / Advertisement rules: a router that never advertises
//! (`no-router-advertisement`) and advertisements that do not publish a DA
//! client prefix (`missing-published-route`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::Ipv6Net;

use super::{Analysis, Evidence, Finding, Kind, Severity, fixes};
use crate::decode::TunnelKind;
use crate::decode::addr::isatap_ipv4;
use crate::decode::ndp::mask;
use crate::flow::facts::{RouterAdvertSeen, SolicitSeen};

/// Stations solicit an ISATAP router over protocol 41 and no RA ever comes back.
pub fn no_router_advertisement(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    let mut by_router: BTreeMap<IpAddr, Vec<&SolicitSeen>> = BTreeMap::new();
    for rs in a
        .facts
        .router_solicits
        .iter()
        .filter(|rs| a.judged(rs.at.ts_ns))
    {
        // Solicitations that NAT rewrote or a firewall refused are explained
        // by those findings, not by the router.
        let translated = a
            .facts
            .source_mismatches
            .iter()
            .any(|m| m.inner_src == rs.src);
        let refused = rs.outer.is_some_and(|o| {
            a.facts
                .tunnel_errors
                .iter()
                .any(|e| e.tunnel_src == o.src && e.tunnel_dst == o.dst)
        });
        if translated || refused {
            continue;
        }
        if let Some(o) = rs.outer
            && o.kind == TunnelKind::Isatap
        {
            by_router.entry(o.dst).or_default().push(rs);
        }
    }
    for (router, solicits) in by_router {
        let answered = a
            .facts
            .router_adverts
            .iter()
            .any(|ra| ra.outer.is_some_and(|o| o.src == router));
        if answered {
            continue;
        }
        let node = if a.router_v4() == Some(router) {
            a.router_name()
        } else {
            format!("ISATAP router {router}")
        };
        let stations: Vec<String> = unique(
            solicits
                .iter()
                .filter_map(|rs| rs.outer.map(|o| o.src.to_string())),
        );
        let captures: Vec<u16> = unique(solicits.iter().map(|rs| rs.at.capture));
        let per_capture = solicits.len() / captures.len().max(1);
        let reached = captures.iter().find(|&&c| a.is_router_capture(c));
        let evidence = solicits
            .iter()
            .map(|rs| Evidence {
                capture: rs.at.capture,
                frame: rs.at.frame,
                note: format!(
                    "Router Solicitation from {} to {router} over protocol 41",
                    rs.outer
                        .map_or_else(|| rs.src.to_string(), |o| o.src.to_string())
                ),
            })
            .collect();
        out.push(Finding {
            kind: Kind::NoRouterAdvertisement,
            severity: Severity::Error,
            node: node.clone(),
            summary: format!(
                "{} solicited {node} {per_capture} time{} over protocol 41 and no Router Advertisement ever came back{}: \
                 the router's ISATAP interface does not advertise, so ISATAP hosts get no prefix and no routes.",
                stations.join(", "),
                if per_capture == 1 { "" } else { "s" },
                reached.map_or_else(String::new, |&c| format!(
                    " although the solicitations reached the router (capture `{}`)",
                    a.label(c)
                ))
            ),
            evidence,
            fix: fixes::enable_advertising(a.router_isatap_interface().as_deref()),
            flows: Vec::new(),
        });
    }
}

/// The last RA each capture saw from `router_v4`.
fn latest_adverts<'a>(a: &Analysis<'a>, router_v4: IpAddr) -> Vec<&'a RouterAdvertSeen> {
    let mut latest: BTreeMap<u16, &RouterAdvertSeen> = BTreeMap::new();
    for ra in &a.facts.router_adverts {
        let from_router = ra.outer.is_some_and(|o| o.src == router_v4)
            || Analysis::embedded_v4(&ra.src).map(IpAddr::V4) == Some(router_v4);
        if from_router {
            latest.insert(ra.at.capture, ra);
        }
    }
    latest.into_values().collect()
}

fn publishes(ra: &RouterAdvertSeen, prefix: &Ipv6Net) -> bool {
    let covered =
        |p: std::net::Ipv6Addr, len: u8| Ipv6Net::new(p, len).is_ok_and(|net| net.contains(prefix));
    ra.content
        .routes
        .iter()
        .any(|r| r.lifetime > 0 && covered(r.prefix, r.len))
        || ra.content.prefixes.iter().any(|p| covered(p.prefix, p.len))
}

fn describe_ra(ra: &RouterAdvertSeen) -> String {
    let mut parts: Vec<String> = ra
        .content
        .prefixes
        .iter()
        .map(|p| format!("prefix {}/{}", p.prefix, p.len))
        .collect();
    parts.extend(ra.content.routes.iter().map(|r| {
        let withdrawn = if r.lifetime == 0 { " (lifetime 0)" } else { "" };
        format!("route {}/{}{withdrawn}", r.prefix, r.len)
    }));
    if parts.is_empty() {
        parts.push("no prefix and no route".into());
    }
    format!(
        "Router Advertisement (router lifetime {}): {}",
        ra.content.router_lifetime,
        parts.join(", ")
    )
}

/// The router's advertisements do not publish a client prefix.
pub fn missing_published_route(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    let Some(router_v4) = a.router_v4() else {
        return;
    };
    let adverts = latest_adverts(a, router_v4);
    if adverts.is_empty() {
        return;
    }
    // Client prefixes that must be published: the topology's, or (without
    // one) the /64s ISATAP hosts tried to reach.
    let mut wanted: Vec<(Ipv6Net, Option<String>, Vec<u32>)> = Vec::new();
    if a.topology_given {
        for node in &a.topology.da_nodes {
            wanted.push((node.client_prefix, Some(node.ipv6.to_string()), Vec::new()));
        }
    }
    for flow in a.flows {
        let (IpAddr::V6(src), IpAddr::V6(dst)) = (flow.key.src, flow.key.dst) else {
            continue;
        };
        if isatap_ipv4(&src).is_none() {
            continue;
        }
        let Ok(net) = Ipv6Net::new(mask(dst, 64), 64) else {
            continue;
        };
        match wanted.iter_mut().find(|(p, _, _)| p.contains(&net)) {
            Some(w) => w.2.push(flow.id),
            None if !a.topology_given => {
                let owner = a
                    .topology
                    .owner_of(&flow.key.dst)
                    .map(|n| n.ipv6.to_string());
                wanted.push((net, owner, vec![flow.id]));
            }
            None => {}
        }
    }
    for (prefix, nexthop, flows) in wanted {
        let missing: Vec<&&RouterAdvertSeen> = adverts
            .iter()
            .filter(|ra| !publishes(ra, &prefix))
            .collect();
        if missing.is_empty() {
            continue;
        }
        // Without a topology, a missing route only matters when hosts have no
        // default route through the router either.
        let no_default = missing.iter().all(|ra| ra.content.router_lifetime == 0);
        if !a.topology_given && !no_default {
            continue;
        }
        let owner = a
            .topology
            .da_nodes
            .iter()
            .find(|n| n.client_prefix == prefix)
            .map(|n| n.name.clone());
        let node = a.router_name();
        let severity = if no_default {
            Severity::Error
        } else {
            Severity::Warning
        };
        let consequence = if no_default {
            "ISATAP hosts have no route to it (the advertisement carries no default route), so the station cannot send to those clients"
        } else {
            "hosts reach it only through the default route"
        };
        out.push(Finding {
            kind: Kind::MissingPublishedRoute,
            severity,
            node: node.clone(),
            summary: format!(
                "{node}'s Router Advertisements do not publish {prefix}{}: {consequence}.",
                owner.map_or_else(String::new, |o| format!(" ({o}'s client prefix)"))
            ),
            evidence: missing
                .iter()
                .map(|ra| Evidence {
                    capture: ra.at.capture,
                    frame: ra.at.frame,
                    note: describe_ra(ra),
                })
                .collect(),
            fix: fixes::add_published_route(
                &prefix.to_string(),
                &a.router_lan_interface(),
                nexthop
                    .as_deref()
                    .unwrap_or("<IPv6 address of the DA node that owns this prefix>"),
            ),
            flows,
        });
    }
}

fn unique<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

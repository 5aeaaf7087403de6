//! Inferring the deployment from what the captures show: the ISATAP router
//! (who sends the Router Advertisements, where stations send protocol 41),
//! its prefix, its LAN-side MAC and address, the DA nodes it forwards to (by
//! MAC, resolved through Neighbor Discovery) and which client prefix each owns.
//!
//! Guarantees: a given topology is never overridden, only completed (missing
//! MACs, router LAN address); every conclusion that rests on an assumption is
//! listed in [`Inferred::assumptions`] in words an administrator can check.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv6Net;

use super::{DaNode, MacAddr, Router, Topology};
use crate::decode::addr::isatap_ipv4;
use crate::decode::ndp::mask;
use crate::decode::{Mac, TunnelKind};
use crate::flow::facts::is_routable;
use crate::flow::table::{FlowKey, ProbeTable, Sighting, Via};
use crate::flow::{Facts, Protocol};

/// What inference needs to know about each capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureMeta {
    pub label: String,
    /// pcapng interface names by interface id.
    pub interfaces: Vec<Option<String>>,
}

/// A topology with the assumptions made to complete it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inferred {
    pub topology: Topology,
    pub assumptions: Vec<String>,
}

/// Completes `given` (or builds a topology from nothing) from the captures.
pub fn infer(
    given: Option<&Topology>,
    facts: &Facts,
    table: &ProbeTable,
    captures: &[CaptureMeta],
) -> Inferred {
    let mut out = Inferred {
        topology: given.cloned().unwrap_or_default(),
        assumptions: Vec::new(),
    };
    let router_v4 = match out.topology.router.as_ref().map(|r| r.ipv4) {
        Some(v4) => Some(v4),
        None => router_ipv4(facts, table, &mut out.assumptions),
    };
    let Some(router_v4) = router_v4 else {
        return out;
    };
    let sightings = forwarded_requests(table, router_v4);
    let router_mac = router_lan_mac(&sightings);
    if out.topology.router.is_none() {
        let isatap_prefix = isatap_prefix(facts, table, router_v4, &mut out.assumptions);
        out.topology.router = Some(Router {
            name: format!("ISATAP router {router_v4}"),
            ipv4: router_v4,
            ipv6: None,
            isatap_prefix,
            lan_interface: None,
            isatap_interface: None,
            mac: None,
        });
    }
    // The name of the interface the router forwards from, when its own capture names it.
    let router_name = out.topology.router_name();
    let lan_interface = router_mac.and_then(|mac| {
        sightings
            .iter()
            .filter(|f| {
                captures
                    .get(usize::from(f.seen.capture))
                    .is_some_and(|c| super::is_router_label(&c.label, &router_name))
            })
            .find(|f| f.via.link.src_mac == Some(mac))
            .and_then(|f| interface_name(captures, &f.seen, &f.via))
    });
    if let Some(router) = out.topology.router.as_mut() {
        if router.mac.is_none() {
            router.mac = router_mac.map(MacAddr);
        }
        if router.ipv6.is_none()
            && let Some(addr) = router_mac.and_then(|m| facts.address_of_mac(&m))
        {
            router.ipv6 = Some(addr);
            out.assumptions.push(format!(
                "the router's LAN address is {addr}: its MAC {} forwards the tunnelled requests and answers Neighbor Discovery for it",
                MacAddr(router_mac.unwrap_or_default())
            ));
        }
        if router.lan_interface.is_none() {
            router.lan_interface = lan_interface;
        }
    }
    if given.is_some_and(|g| !g.da_nodes.is_empty()) {
        learn_node_macs(&mut out, facts);
        return out;
    }
    infer_nodes(&mut out, facts, table, captures, router_mac, &sightings);
    out
}

/// The IPv4 address of the ISATAP router.
fn router_ipv4(facts: &Facts, table: &ProbeTable, notes: &mut Vec<String>) -> Option<Ipv4Addr> {
    let mut votes: BTreeMap<Ipv4Addr, usize> = BTreeMap::new();
    for ra in &facts.router_adverts {
        if let Some(IpAddr::V4(v4)) = ra.outer.map(|o| o.src) {
            *votes.entry(v4).or_default() += 1;
        }
    }
    if let Some((v4, _)) = votes.iter().max_by_key(|(_, n)| **n) {
        notes.push(format!(
            "the ISATAP router is {v4}: it sends the Router Advertisements over protocol 41"
        ));
        return Some(*v4);
    }
    for rs in &facts.router_solicits {
        if let Some(IpAddr::V4(v4)) = rs.outer.map(|o| o.dst) {
            *votes.entry(v4).or_default() += 1;
        }
    }
    if let Some((v4, _)) = votes.iter().max_by_key(|(_, n)| **n) {
        notes.push(format!(
            "the ISATAP router is {v4}: stations send their Router Solicitations to it"
        ));
        return Some(*v4);
    }
    // Where ISATAP hosts send their tunnelled requests.
    let mut sent_to = RunVotes::new(&mut votes);
    for (_, key, detail) in requests(table) {
        for s in detail {
            if let Some(o) = table.via(s).outer
                && o.kind == TunnelKind::Isatap
                && let (IpAddr::V4(dst), IpAddr::V6(inner)) = (o.dst, key.src)
                && isatap_ipv4(&inner).is_some()
            {
                sent_to.add(dst);
            }
        }
    }
    drop(sent_to);
    let (v4, _) = votes.iter().max_by_key(|(_, n)| **n)?;
    notes.push(format!(
        "the ISATAP router is {v4}: ISATAP hosts send their tunnelled requests to it (no Router Advertisement was captured)"
    ));
    Some(*v4)
}

/// Votes added to a count a run of equal ones at a time: over the tens of
/// thousands of probes of a busy capture nearly every vote goes to one
/// address, and a map lookup per vote took twice as long as the walk over
/// the probes itself (1.9 against 0.9 ms on the 2-million-frame replay).
/// The counts are complete once it is dropped.
struct RunVotes<'a, K: Ord + Copy> {
    counts: &'a mut BTreeMap<K, usize>,
    run: Option<(K, usize)>,
}

impl<'a, K: Ord + Copy> RunVotes<'a, K> {
    fn new(counts: &'a mut BTreeMap<K, usize>) -> Self {
        RunVotes { counts, run: None }
    }

    fn add(&mut self, key: K) {
        match &mut self.run {
            Some((k, n)) if *k == key => *n += 1,
            _ => {
                self.flush();
                self.run = Some((key, 1));
            }
        }
    }

    fn flush(&mut self) {
        if let Some((k, n)) = self.run.take() {
            *self.counts.entry(k).or_default() += n;
        }
    }
}

impl<K: Ord + Copy> Drop for RunVotes<'_, K> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Request sightings of every kept probe, with the probe's sent hop limit.
fn requests(table: &ProbeTable) -> impl Iterator<Item = (u8, &FlowKey, &[Sighting])> + '_ {
    table.probes.iter().filter_map(|p| {
        let d = table.detail(p)?;
        let key = &table.flows.get(p.flow as usize)?.key;
        Some((p.sent_hop_limit, key, d.requests.as_slice()))
    })
}

/// A request the router forwarded: where it was seen, and where it went.
struct Forwarded {
    seen: Sighting,
    via: Via,
    dst: IpAddr,
}

/// Native copies of tunnelled requests one hop after the router: the packets
/// the router forwarded toward the DA nodes.
fn forwarded_requests(table: &ProbeTable, router_v4: Ipv4Addr) -> Vec<Forwarded> {
    let mut out = Vec::new();
    for (sent, key, detail) in requests(table) {
        let via_router = detail.iter().any(|s| {
            table
                .via(s)
                .outer
                .is_some_and(|o| o.dst == IpAddr::V4(router_v4) && o.kind == TunnelKind::Isatap)
        });
        if !via_router {
            continue;
        }
        out.extend(
            detail
                .iter()
                .map(|s| (s, table.via(s)))
                .filter(|(s, via)| {
                    via.outer.is_none() && !via.link.raw && s.hop_limit.checked_add(1) == Some(sent)
                })
                .map(|(s, via)| Forwarded {
                    seen: *s,
                    via: *via,
                    dst: key.dst,
                }),
        );
    }
    out
}

fn router_lan_mac(forwarded: &[Forwarded]) -> Option<Mac> {
    let mut votes: BTreeMap<Mac, usize> = BTreeMap::new();
    for f in forwarded {
        if let Some(m) = f.via.link.src_mac {
            *votes.entry(m).or_default() += 1;
        }
    }
    votes.into_iter().max_by_key(|(_, n)| *n).map(|(m, _)| m)
}

fn isatap_prefix(
    facts: &Facts,
    table: &ProbeTable,
    router_v4: Ipv4Addr,
    notes: &mut Vec<String>,
) -> Option<Ipv6Net> {
    let from_ra = facts
        .router_adverts
        .iter()
        .filter(|ra| ra.outer.is_some_and(|o| o.src == IpAddr::V4(router_v4)))
        .flat_map(|ra| ra.content.prefixes.iter())
        .find(|p| p.autonomous && p.len == 64);
    if let Some(p) = from_ra {
        return Ipv6Net::new(p.prefix, p.len).ok();
    }
    let from_hosts = table
        .flows
        .iter()
        .filter(|f| {
            matches!(
                f.key.protocol,
                Protocol::Icmpv6Echo | Protocol::Udp | Protocol::Tcp
            )
        })
        .find_map(|f| match f.key.src {
            IpAddr::V6(a) if isatap_ipv4(&a).is_some() && is_routable(&a) => Some(a),
            _ => None,
        })?;
    let net = Ipv6Net::new(mask(from_hosts, 64), 64).ok()?;
    notes.push(format!(
        "the ISATAP prefix is {net}: the stations' ISATAP addresses are in it (no Prefix Information captured)"
    ));
    Some(net)
}

/// The name of the interface a sighting was captured on, if a fix command can
/// carry it: names come from strangers' files and go into commands an
/// administrator pastes, so one with control characters, bidirectional
/// overrides, or characters a shell would act on inside double quotes is left
/// out (the fix then shows a placeholder).
fn interface_name(captures: &[CaptureMeta], s: &Sighting, via: &Via) -> Option<String> {
    captures
        .get(usize::from(s.capture))?
        .interfaces
        .get(via.link.interface as usize)?
        .clone()
        .filter(|name| usable_in_command(name))
}

/// Longest interface name Windows allows (IF_MAX_STRING_SIZE).
const MAX_INTERFACE_NAME: usize = 256;

fn usable_in_command(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_INTERFACE_NAME
        && !name.chars().any(|c| {
            c.is_control()
                || matches!(
                    c,
                    '"' | '%' | '$' | '`' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                )
        })
}

/// Given DA nodes without a MAC: learn it from Neighbor Advertisements.
fn learn_node_macs(out: &mut Inferred, facts: &Facts) {
    for node in &mut out.topology.da_nodes {
        if node.mac.is_none()
            && let Some(mac) = facts.macs_of(&node.ipv6).next()
        {
            node.mac = Some(MacAddr(mac));
        }
    }
}

/// DA nodes: the next hops the router forwards to, the prefixes each carries.
fn infer_nodes(
    out: &mut Inferred,
    facts: &Facts,
    table: &ProbeTable,
    captures: &[CaptureMeta],
    router_mac: Option<Mac>,
    forwarded: &[Forwarded],
) {
    // Next-hop MAC → prefixes forwarded to it.
    let mut next_hops: BTreeMap<Mac, Vec<Ipv6Net>> = BTreeMap::new();
    for f in forwarded {
        if let (Some(dst_mac), IpAddr::V6(dst)) = (f.via.link.dst_mac, f.dst)
            && Some(dst_mac) != router_mac
            && let Ok(net) = Ipv6Net::new(mask(dst, 64), 64)
        {
            let list = next_hops.entry(dst_mac).or_default();
            if !list.contains(&net) {
                list.push(net);
            }
        }
    }
    // Which capture is which node's: one with client prefixes on a MAC-less
    // (IP-HTTPS) interface, where that MAC receives requests and solicits
    // its own neighbors.
    let mut node_capture: BTreeMap<Mac, u16> = BTreeMap::new();
    for capture in facts.raw_link_prefixes.keys() {
        let mut votes: BTreeMap<Mac, usize> = BTreeMap::new();
        let mut vote = |m: Option<Mac>| {
            if let Some(m) = m.filter(|m| Some(*m) != router_mac) {
                *votes.entry(m).or_default() += 1;
            }
        };
        for (_, _, detail) in requests(table) {
            for (_, via) in detail
                .iter()
                .map(|s| (s, table.via(s)))
                .filter(|(s, via)| s.capture == *capture && via.outer.is_none())
            {
                vote(via.link.dst_mac);
            }
        }
        for ns in facts
            .neighbor_solicits
            .iter()
            .filter(|ns| ns.at.capture == *capture && !ns.src.is_unspecified())
        {
            vote(ns.mac);
        }
        if let Some((mac, _)) = votes.into_iter().max_by_key(|(_, n)| *n) {
            node_capture.entry(mac).or_insert(*capture);
        }
    }
    let mut macs: Vec<Mac> = next_hops.keys().copied().collect();
    macs.extend(
        node_capture
            .keys()
            .copied()
            .filter(|m| !next_hops.contains_key(m)),
    );
    for mac in macs {
        let Some(ipv6) = facts.address_of_mac(&mac) else {
            out.assumptions.push(format!(
                "MAC {} receives forwarded requests but no Neighbor Discovery names its address; it is left out of the topology",
                MacAddr(mac)
            ));
            continue;
        };
        let capture = node_capture.get(&mac).copied();
        let own_lan = mask(ipv6, 64);
        // The busiest /64 on the node's MAC-less side that is not its own LAN.
        let owned = capture
            .and_then(|c| facts.raw_link_prefixes.get(&c))
            .and_then(|counts| {
                counts
                    .iter()
                    .filter(|(p, _)| **p != own_lan)
                    .max_by_key(|(p, n)| (**n, std::cmp::Reverse(**p)))
                    .map(|(p, _)| *p)
            })
            .and_then(|p| Ipv6Net::new(p, 64).ok());
        let (client_prefix, how) = match (owned, next_hops.get(&mac).and_then(|v| v.first())) {
            (Some(p), _) => (
                p,
                format!(
                    "its capture `{}` shows {p} on its IP-HTTPS side",
                    captures
                        .get(usize::from(capture.unwrap_or(0)))
                        .map_or("?", |c| c.label.as_str())
                ),
            ),
            (None, Some(p)) => (
                *p,
                "the router forwards that prefix to it (assumed right: no capture of the node shows its clients)".to_owned(),
            ),
            (None, None) => continue,
        };
        if out
            .topology
            .da_nodes
            .iter()
            .any(|n| n.client_prefix == client_prefix)
        {
            continue;
        }
        let name = capture
            .and_then(|c| captures.get(usize::from(c)))
            .map_or_else(|| format!("DA node {ipv6}"), |c| c.label.to_uppercase());
        out.assumptions.push(format!(
            "{name} ({ipv6}, MAC {}) is a DA node owning {client_prefix}: {how}",
            MacAddr(mac)
        ));
        out.topology.da_nodes.push(DaNode {
            name,
            ipv6,
            ipv4: None,
            client_prefix,
            mac: Some(MacAddr(mac)),
            interface: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn votes_counted_in_runs_add_up_to_every_vote() {
        let mut counts = BTreeMap::from([('a', 10)]);
        let mut votes = RunVotes::new(&mut counts);
        for v in "aabaccca".chars() {
            votes.add(v);
        }
        drop(votes);
        assert_eq!(counts, BTreeMap::from([('a', 14), ('b', 1), ('c', 3)]));
    }

    #[test]
    fn interface_names_a_command_can_carry() {
        for ok in [
            "VLAN111",
            "Ethernet 2",
            "vEthernet (Internal)",
            "Intel(R) 82574L Gigabit Network Connection #2",
            "isatap.corp.contoso.com",
        ] {
            assert!(usable_in_command(ok), "{ok}");
        }
        for bad in [
            "",
            "eth0\u{1b}[2J",
            "eth0\u{7}",
            "eth0\u{9b}31m",
            "eth0\r\nnetsh",
            "\u{202e}exe.gnp",
            "VLAN\" & del x & \"",
            "%COMSPEC%",
            "$(Remove-Item x)",
            "`whoami`",
        ] {
            assert!(!usable_in_command(bad), "{bad:?}");
        }
        assert!(!usable_in_command(&"x".repeat(MAX_INTERFACE_NAME + 1)));
    }
}

//! The ladder of a failing flow: one representative probe followed across the
//! vantage points — every sighting of its request, of the ICMP errors that
//! quoted it and of its replies, in the order the packet travelled, with
//! where it stopped and why.
//!
//! Guarantees: columns are every capture, ordered along the path (the
//! prober's side, the ISATAP router, the DA nodes, other captures), then the
//! target; rows follow the hop limit (each copy after the node that forwarded
//! it), never the clocks of different captures; an event names the capture
//! and frame it was seen in, so every arrow can be checked in the capture.

use std::cmp::Reverse;
use std::net::IpAddr;

use serde::Serialize;

use super::model::TunnelEntry;
use super::names;
use super::time::iso8601;
use crate::diagnose::Analysis;
use crate::flow::FlowSummary;
use crate::flow::summary::reply_accepted;
use crate::flow::table::{ErrorSighting, Probe, ProbeDetail, Protocol, Sighting};
use crate::topology::MacAddr;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Ladder {
    /// The representative probe: "echo request seq 3".
    pub probe: String,
    pub columns: Vec<LadderColumn>,
    pub events: Vec<LadderEvent>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LadderColumn {
    /// The capture label, or `target`.
    pub label: String,
    /// `station`, `router`, `da-node`, `other` (a capture of unknown role) or `target`.
    pub role: &'static str,
    /// The topology name of the node (ISATAP01, DAV01), or who the target is.
    pub name: Option<String>,
    /// False for the target when no capture was taken there.
    pub captured: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LadderEvent {
    /// `request`, `error` or `reply`.
    pub kind: &'static str,
    /// The column the packet was seen at.
    pub column: usize,
    /// The column the arrow comes from (the previous sighting, or who sent it).
    pub from_column: Option<usize>,
    pub capture: String,
    pub frame: u64,
    /// The capture's own clock (clocks of different captures disagree).
    pub time: String,
    pub hop_limit: u8,
    pub src: String,
    pub dst: String,
    pub tunnel: Option<TunnelEntry>,
    pub link_dst: Option<String>,
    /// The node the link destination MAC belongs to.
    pub next_hop: Option<String>,
    /// What the packet is: "echo request seq 3", "ICMPv6 dest-unreach no-route from DAV01 (…)".
    pub what: String,
    /// A reply the prober drops (tunnelled from an IPv4 that is not its router).
    pub dropped: bool,
    /// Set on the last sighting of a packet that went no further: why.
    pub stop: Option<String>,
}

fn is_time_exceeded(e: &ErrorSighting) -> bool {
    (e.v6 && e.ty == 3) || (!e.v6 && e.ty == 11)
}

/// The prober got an answer: an acceptable reply (from `target`) where it
/// sent from, or a traceroute hop's Time Exceeded.
fn answered(
    a: &Analysis<'_>,
    p: &Probe,
    d: &ProbeDetail,
    target: IpAddr,
    routers: &[IpAddr],
) -> bool {
    let prober = p.sent_at().map(|(c, _)| c);
    d.replies.iter().any(|r| {
        prober.is_none_or(|c| r.capture == c)
            && reply_accepted(a.via(r).outer.as_ref(), target, routers)
    }) || d.errors.iter().any(is_time_exceeded)
}

/// What a probe is: "echo request seq 3", "UDP probe to port 33440, hop limit 2".
pub(crate) fn probe_text(f: &FlowSummary, p: &Probe) -> String {
    let hop = |s: String| {
        if f.kind == crate::flow::FlowKind::Traceroute {
            format!("{s}, hop limit {}", p.sent_hop_limit)
        } else {
            s
        }
    };
    hop(match f.key.protocol {
        Protocol::Icmpv6Echo | Protocol::IcmpEcho => format!("echo request seq {}", p.n),
        Protocol::Udp => format!("UDP probe to port {}", p.n & 0xffff),
        Protocol::Tcp => format!("TCP SYN to port {}", f.key.id),
    })
}

fn error_text(a: &Analysis<'_>, e: &ErrorSighting) -> String {
    let (family, ty, code) = if e.v6 {
        (
            "ICMPv6",
            names::icmpv6_type(e.ty),
            names::icmpv6_code(e.ty, e.code),
        )
    } else {
        (
            "ICMPv4",
            names::icmpv4_type(e.ty),
            names::icmpv4_code(e.ty, e.code),
        )
    };
    let mut s = format!(
        "{family} {}",
        ty.map_or_else(|| format!("type {}", e.ty), str::to_owned)
    );
    match code {
        Some(c) => {
            s.push(' ');
            s.push_str(c);
        }
        None if e.code != 0 => s.push_str(&format!(" code {}", e.code)),
        None => {}
    }
    if (e.v6 && e.ty == 2) || (!e.v6 && e.ty == 3 && e.code == 4) {
        s.push_str(&format!(" mtu {}", e.param));
    }
    format!("{s} from {}", a.describe(&e.src))
}

/// Orders sightings as the packet travelled: falling hop limit; at equal hop
/// limit the copy at the node that forwarded it (where the previous copy was)
/// first, then by path position (`forward`: left to right, else right to left).
fn travel<T>(
    mut items: Vec<T>,
    seen: impl Fn(&T) -> &Sighting,
    column: &dyn Fn(u16) -> usize,
    forward: bool,
) -> Vec<T> {
    items.sort_by_key(|t| {
        let s = seen(t);
        let c = column(s.capture);
        (
            Reverse(s.hop_limit),
            if forward { c } else { usize::MAX - c },
            s.frame,
        )
    });
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    let mut rest = items;
    while !rest.is_empty() {
        let hop = seen(&rest[0]).hop_limit;
        let n = rest.iter().take_while(|t| seen(t).hop_limit == hop).count();
        let mut group: Vec<T> = rest.drain(..n).collect();
        if let Some(prev) = out.last().map(|t| column(seen(t).capture)) {
            // Stable: keeps the path order among the rest.
            group.sort_by_key(|t| column(seen(t).capture) != prev);
        }
        out.extend(group);
    }
    out
}

/// The ladder of one failing flow, if any of its probes was kept in detail.
pub fn build(a: &Analysis<'_>, f: &FlowSummary) -> Option<Ladder> {
    let routers = a.routers_v4();
    let kept: Vec<(&Probe, &ProbeDetail)> = a
        .probes(f)
        .filter_map(|(p, d)| Some((p, d?)))
        .filter(|(_, d)| !(d.requests.is_empty() && d.replies.is_empty() && d.errors.is_empty()))
        .collect();
    let failing: Vec<&(&Probe, &ProbeDetail)> = kept
        .iter()
        .filter(|(p, d)| !answered(a, p, d, f.key.dst, &routers))
        .collect();
    let pool: Vec<&(&Probe, &ProbeDetail)> = if failing.is_empty() {
        kept.iter().collect()
    } else {
        failing
    };
    // The most informative probe: seen at the most captures, with what came back.
    let score = |d: &ProbeDetail| {
        let mut captures: Vec<u16> = d
            .requests
            .iter()
            .chain(&d.replies)
            .map(|s| s.capture)
            .chain(d.errors.iter().map(|e| e.seen.capture))
            .collect();
        captures.sort_unstable();
        captures.dedup();
        captures.len() * 4
            + 2 * usize::from(!d.errors.is_empty())
            + usize::from(!d.replies.is_empty())
    };
    let &&(probe, detail) = pool.iter().rev().max_by_key(|(_, d)| score(d))?;
    let columns_order = columns(a, f, probe, detail);
    let mut column_of = vec![0usize; a.captures.len()];
    for (pos, (capture, _)) in columns_order.iter().enumerate() {
        if let Some(c) = capture {
            column_of[usize::from(*c)] = pos;
        }
    }
    let column = |c: u16| column_of.get(usize::from(c)).copied().unwrap_or(0);
    let target_column = columns_order.len() - 1;
    let origin = |addr: IpAddr| -> Option<usize> {
        if addr == f.key.dst {
            return Some(target_column);
        }
        let role_column = |role: &str, name: Option<&str>| {
            columns_order.iter().position(|(_, col)| {
                col.role == role && name.is_none_or(|n| col.name.as_deref() == Some(n))
            })
        };
        if a.is_router_address(&addr) {
            return role_column("router", None);
        }
        let node = match addr {
            IpAddr::V6(v6) => a.node_by_address(&v6),
            IpAddr::V4(_) => a.node_of_ipv4(&addr),
        };
        if let Some(node) = node {
            return role_column("da-node", Some(&node.name));
        }
        (addr == f.key.src)
            .then(|| role_column("station", None))
            .flatten()
    };
    let label = |c: u16| a.label(c).to_owned();
    // `src` and `dst`: the packet's addresses.
    let event = |kind: &'static str, s: &Sighting, (src, dst): (IpAddr, IpAddr), what: String| {
        let via = a.via(s);
        LadderEvent {
            kind,
            column: column(s.capture),
            from_column: None,
            capture: label(s.capture),
            frame: s.frame,
            time: iso8601(s.ts_ns),
            hop_limit: s.hop_limit,
            src: src.to_string(),
            dst: dst.to_string(),
            tunnel: via.outer.map(|o| TunnelEntry {
                kind: o.kind.name(),
                src: o.src.to_string(),
                dst: o.dst.to_string(),
            }),
            link_dst: via.link.dst_mac.map(|m| MacAddr(m).to_string()),
            next_hop: via.link.dst_mac.and_then(|m| {
                a.node_of_mac(&m)
                    .map(|n| n.name.clone())
                    .or_else(|| (a.router_mac() == Some(m)).then(|| a.router_name()))
            }),
            what,
            dropped: false,
            stop: None,
        }
    };
    let prober = probe.sent_at().map(|(c, _)| c);
    let mut events = Vec::new();

    // The request, out.
    let requests = travel(detail.requests.iter().collect(), |s| *s, &column, true);
    let what = probe_text(f, probe);
    let mut previous: Option<usize> = None;
    for s in &requests {
        let mut e = event("request", s, (f.key.src, f.key.dst), what.clone());
        e.from_column = previous;
        previous = Some(e.column);
        events.push(e);
    }
    let errors = travel(detail.errors.iter().collect(), |e| &e.seen, &column, false);
    let first_error = errors.first().map(|e| error_text(a, e));
    if detail.replies.is_empty()
        && let Some(last) = events.last_mut()
    {
        last.stop = Some(match &first_error {
            Some(err) => format!("not seen beyond this point; {err} came back instead"),
            None => "not seen beyond this point; nothing came back".to_owned(),
        });
    }

    // What came back instead: ICMP errors quoting it.
    let mut previous: Option<usize> = None;
    for err in &errors {
        let mut e = event("error", &err.seen, (err.src, err.dst), error_text(a, err));
        e.from_column = previous.or_else(|| origin(err.src));
        previous = Some(e.column);
        events.push(e);
    }
    let error_reached_prober = errors
        .iter()
        .any(|e| prober.is_none_or(|c| e.seen.capture == c));
    if !errors.is_empty()
        && !error_reached_prober
        && let Some(last) = events.last_mut()
    {
        last.stop = Some("not seen beyond this point".to_owned());
    }

    // The replies.
    let replies = travel(detail.replies.iter().collect(), |s| *s, &column, false);
    let reply_what = match f.key.protocol {
        Protocol::Icmpv6Echo | Protocol::IcmpEcho => format!("echo reply seq {}", probe.n),
        Protocol::Udp => "UDP reply".to_owned(),
        Protocol::Tcp => "TCP answer (SYN-ACK or RST)".to_owned(),
    };
    let mut previous: Option<usize> = None;
    for s in &replies {
        let mut e = event("reply", s, (f.key.dst, f.key.src), reply_what.clone());
        e.from_column = previous.or_else(|| origin(f.key.dst));
        e.dropped = !reply_accepted(a.via(s).outer.as_ref(), f.key.dst, &routers);
        previous = Some(e.column);
        events.push(e);
    }
    if !replies.is_empty() && !answered(a, probe, detail, f.key.dst, &routers) {
        let last = replies.last().copied();
        if let (Some(s), Some(e)) = (last, events.last_mut()) {
            let at_prober = prober.is_none_or(|c| s.capture == c);
            e.stop = Some(match (at_prober, e.dropped, a.via(s).outer) {
                (true, true, Some(o)) => format!(
                    "dropped here: protocol 41 from {}, which is not the ISATAP router (RFC 5214 source check)",
                    o.src
                ),
                _ => match prober {
                    Some(c) => format!(
                        "not seen beyond this point; it never reached {}",
                        a.label(c)
                    ),
                    None => "not seen beyond this point".to_owned(),
                },
            });
        }
    }
    Some(Ladder {
        probe: what,
        columns: columns_order.into_iter().map(|(_, c)| c).collect(),
        events,
    })
}

/// Every capture as a column, ordered along the path, then the target.
fn columns(
    a: &Analysis<'_>,
    f: &FlowSummary,
    probe: &Probe,
    detail: &ProbeDetail,
) -> Vec<(Option<u16>, LadderColumn)> {
    let prober = probe.sent_at().map(|(c, _)| c);
    let highest = detail.requests.iter().map(|r| r.hop_limit).max();
    let mut cols: Vec<(u8, u16, LadderColumn)> = Vec::new();
    for (i, c) in a.captures.iter().enumerate() {
        let idx = i as u16;
        let (rank, role, name) = if a.is_router_capture(idx) {
            (
                1,
                "router",
                a.topology.router.as_ref().map(|r| r.name.clone()),
            )
        } else if let Some(node) = a.node_of_capture(idx) {
            (2, "da-node", Some(node.name.clone()))
        } else if prober == Some(idx)
            || detail
                .requests
                .iter()
                .any(|r| r.capture == idx && Some(r.hop_limit) == highest)
        {
            (0, "station", None)
        } else {
            (3, "other", None)
        };
        cols.push((
            rank,
            idx,
            LadderColumn {
                label: c.label.clone(),
                role,
                name,
                captured: true,
            },
        ));
    }
    cols.sort_by_key(|(rank, idx, _)| (*rank, *idx));
    let mut out: Vec<(Option<u16>, LadderColumn)> = cols
        .into_iter()
        .map(|(_, idx, col)| (Some(idx), col))
        .collect();
    let owner = a
        .topology
        .owner_of(&f.key.dst)
        .map(|n| format!("DA client behind {}", n.name));
    out.push((
        None,
        LadderColumn {
            label: "target".to_owned(),
            role: "target",
            name: owner,
            captured: false,
        },
    ));
    out
}

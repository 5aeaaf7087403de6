//! Per-flow conclusions: ping or traceroute, how many probes were answered,
//! the verdict, round-trip times, the path of a representative probe across
//! the capture points, and for traceroutes the hops.
//!
//! Guarantees: a reply only counts when the prober would accept it: a reply
//! that arrives through an ISATAP tunnel from an IPv4 address that is neither
//! a known ISATAP router nor the one embedded in its inner source is dropped
//! by the host (RFC 5214 source check) and counted as `rejected`, not answered.

use std::net::IpAddr;

use super::observe::{Outer, TRACEROUTE_BASE_PORT};
use super::table::{ErrorSighting, Flow, FlowKey, Probe, ProbeTable, Protocol, Sighting};
use crate::decode::TunnelKind;
use crate::decode::addr::isatap_ipv4;

/// Ping (constant hop limit) or traceroute (rising hop limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowKind {
    Ping,
    Traceroute,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Answered,
    Partial,
    Unanswered,
    Error,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Answered => "answered",
            Verdict::Partial => "partial",
            Verdict::Unanswered => "unanswered",
            Verdict::Error => "error",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RttStats {
    pub min_ms: f64,
    pub median_ms: f64,
    pub max_ms: f64,
}

/// One traceroute hop.
#[derive(Clone, Debug, PartialEq)]
pub struct Hop {
    pub hop: u8,
    /// Who answered (Time Exceeded sender, or the target).
    pub address: Option<IpAddr>,
    pub rtt_ms: Option<f64>,
    pub probes: u32,
    pub answered: u32,
    /// The target itself answered at this hop.
    pub target: bool,
}

/// Everything the report and the rules need to know about one flow.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowSummary {
    /// 1-based, in order of first appearance.
    pub id: u32,
    pub index: u32,
    pub key: FlowKey,
    pub kind: FlowKind,
    pub probes: u32,
    pub answered: u32,
    /// Probes whose only replies were dropped by the prober's source check.
    pub rejected: u32,
    /// Probes an ICMP error (other than a traceroute's Time Exceeded) answered.
    pub errored: u32,
    pub verdict: Verdict,
    pub rtt: Option<RttStats>,
    /// Where a representative probe's request was seen, nearest the prober first.
    pub path: Vec<Sighting>,
    pub hops: Vec<Hop>,
    /// The first ICMP error quoting a probe of this flow.
    pub first_error: Option<ErrorSighting>,
}

/// A reply through an ISATAP tunnel is accepted by the prober when it comes
/// from a known router or from the IPv4 embedded in its own inner source.
pub fn reply_accepted(outer: Option<&Outer>, inner_src: IpAddr, routers: &[IpAddr]) -> bool {
    let Some(outer) = outer else {
        return true;
    };
    if outer.kind != TunnelKind::Isatap || routers.contains(&outer.src) {
        return true;
    }
    match (inner_src, outer.src) {
        (IpAddr::V6(inner), IpAddr::V4(src)) => isatap_ipv4(&inner) == Some(src),
        _ => true,
    }
}

fn is_time_exceeded(e: &ErrorSighting) -> bool {
    (e.v6 && e.ty == 3) || (!e.v6 && e.ty == 11)
}

/// Port unreachable from the target: how a UDP traceroute's last hop answers.
fn is_port_unreachable(e: &ErrorSighting) -> bool {
    (e.v6 && e.ty == 1 && e.code == 4) || (!e.v6 && e.ty == 3 && e.code == 3)
}

/// Summaries of the flows worth reporting, in order of first appearance.
pub fn summarize(table: &ProbeTable, routers: &[IpAddr]) -> Vec<FlowSummary> {
    let mut out = Vec::new();
    for (index, flow) in table.flows.iter().enumerate() {
        if let Some(mut s) = summarize_flow(table, flow, routers) {
            s.index = index as u32;
            out.push(s);
        }
    }
    for (i, s) in out.iter_mut().enumerate() {
        s.id = i as u32 + 1;
    }
    out
}

fn summarize_flow(table: &ProbeTable, flow: &Flow, routers: &[IpAddr]) -> Option<FlowSummary> {
    let probes: Vec<&Probe> = flow
        .probes
        .iter()
        .map(|&p| &table.probes[p as usize])
        .collect();
    let sent: Vec<u8> = probes
        .iter()
        .filter(|p| p.sent_at.is_some())
        .map(|p| p.sent_hop_limit)
        .collect();
    let min_sent = sent.iter().copied().min().unwrap_or(0);
    let rising = sent.iter().any(|&h| h != min_sent) && min_sent <= 3;
    let kind = if rising {
        FlowKind::Traceroute
    } else {
        FlowKind::Ping
    };
    let any_error = probes.iter().any(|p| p.errors > 0);
    // UDP and TCP only matter as traceroute probes, or as probes an error
    // quoted (UDP: only to the traceroute ports; a quoted DNS answer is no probe).
    let probe_port = |p: &&Probe| (p.n & 0xffff) as u16 >= TRACEROUTE_BASE_PORT;
    let matters = match flow.key.protocol {
        Protocol::Udp => {
            kind == FlowKind::Traceroute || (any_error && probes.iter().any(probe_port))
        }
        Protocol::Tcp => kind == FlowKind::Traceroute || any_error,
        _ => true,
    };
    if !matters {
        return None;
    }
    let target = flow.key.dst;
    let mut answered = 0;
    let mut rejected = 0;
    let mut errored = 0;
    let mut first_error: Option<ErrorSighting> = None;
    let mut rtts = Vec::new();
    let mut path = Vec::new();
    for probe in &probes {
        let detail = table.detail(probe);
        let target_errors: Vec<&ErrorSighting> = detail
            .map(|d| d.errors.iter().collect())
            .unwrap_or_default();
        for e in &target_errors {
            if first_error
                .is_none_or(|f| (e.seen.capture, e.seen.frame) < (f.seen.capture, f.seen.frame))
                && !is_time_exceeded(e)
            {
                first_error = Some(**e);
            }
        }
        let port_unreachable = target_errors
            .iter()
            .any(|e| is_port_unreachable(e) && e.seen.src == target);
        // Answered means: the prober got an acceptable reply. When the
        // prober's side was captured, the reply must show up there.
        let prober = probe.sent_at.map(|(capture, _)| capture);
        let (has_reply, accepted) = match detail {
            Some(d) => {
                let at_prober = |r: &&Sighting| prober.is_none_or(|c| r.capture == c);
                let accepted = d
                    .replies
                    .iter()
                    .filter(at_prober)
                    .any(|r| reply_accepted(r.outer.as_ref(), r.src, routers));
                (!d.replies.is_empty(), accepted)
            }
            None => {
                let tunnel_ok = probe
                    .reply_tunnel_src
                    .is_none_or(|src| routers.contains(&src));
                let at_prober = prober.is_none() || probe.reply_at.is_some();
                (probe.replies > 0, tunnel_ok && at_prober)
            }
        };
        if (has_reply && accepted) || port_unreachable {
            answered += 1;
            if let (Some((_, sent_ts)), Some(reply_ts)) = (probe.sent_at, probe.reply_at) {
                rtts.push(reply_ts.saturating_sub(sent_ts) as f64 / 1e6);
            }
        } else if has_reply
            && detail.is_some_and(|d| {
                d.replies
                    .iter()
                    .any(|r| !reply_accepted(r.outer.as_ref(), r.src, routers))
            })
        {
            rejected += 1;
        } else if target_errors
            .iter()
            .any(|e| kind == FlowKind::Ping || !is_time_exceeded(e))
        {
            errored += 1;
        }
        if path.is_empty()
            && let Some(d) = detail
            && !d.requests.is_empty()
        {
            path = d.requests.clone();
            path.sort_by(|a, b| {
                b.hop_limit
                    .cmp(&a.hop_limit)
                    .then(a.capture.cmp(&b.capture))
                    .then(a.frame.cmp(&b.frame))
            });
        }
    }
    let hops = if kind == FlowKind::Traceroute {
        hops_of(table, &probes, target, routers)
    } else {
        Vec::new()
    };
    let total = probes.len() as u32;
    // A traceroute probe is answered by its hop (Time Exceeded) or the target.
    if kind == FlowKind::Traceroute {
        answered = hops.iter().map(|h| h.answered).sum();
    }
    let verdict = match kind {
        FlowKind::Ping => match (answered, errored) {
            (a, _) if a == total && total > 0 => Verdict::Answered,
            (a, _) if a > 0 => Verdict::Partial,
            (_, e) if e > 0 => Verdict::Error,
            _ => Verdict::Unanswered,
        },
        FlowKind::Traceroute => {
            if hops.iter().any(|h| h.target && h.answered > 0) {
                Verdict::Answered
            } else if first_error.is_some() {
                Verdict::Error
            } else if hops.iter().any(|h| h.answered > 0) {
                Verdict::Partial
            } else {
                Verdict::Unanswered
            }
        }
    };
    Some(FlowSummary {
        id: 0,
        index: 0,
        key: flow.key,
        kind,
        probes: total,
        answered,
        rejected,
        errored,
        verdict,
        rtt: rtt_stats(&mut rtts),
        path,
        hops,
        first_error,
    })
}

fn rtt_stats(rtts: &mut [f64]) -> Option<RttStats> {
    if rtts.is_empty() {
        return None;
    }
    rtts.sort_by(f64::total_cmp);
    let median = if rtts.len() % 2 == 1 {
        rtts[rtts.len() / 2]
    } else {
        (rtts[rtts.len() / 2 - 1] + rtts[rtts.len() / 2]) / 2.0
    };
    Some(RttStats {
        min_ms: rtts[0],
        median_ms: median,
        max_ms: rtts[rtts.len() - 1],
    })
}

/// Traceroute hops: probes grouped by the hop limit they left the prober
/// with; each hop answered by a Time Exceeded sender or by the target.
fn hops_of(table: &ProbeTable, probes: &[&Probe], target: IpAddr, routers: &[IpAddr]) -> Vec<Hop> {
    let mut hops: Vec<Hop> = Vec::new();
    for probe in probes.iter().filter(|p| p.sent_at.is_some()) {
        let hop_no = probe.sent_hop_limit;
        let index = match hops.iter().position(|h| h.hop == hop_no) {
            Some(i) => i,
            None => {
                hops.push(Hop {
                    hop: hop_no,
                    address: None,
                    rtt_ms: None,
                    probes: 0,
                    answered: 0,
                    target: false,
                });
                hops.len() - 1
            }
        };
        let hop = &mut hops[index];
        hop.probes += 1;
        let Some(detail) = table.detail(probe) else {
            continue;
        };
        // The answer: a reply from the target, or an ICMP error from a hop.
        let answer: Option<(IpAddr, &Sighting, bool)> = detail
            .replies
            .iter()
            .find(|r| reply_accepted(r.outer.as_ref(), r.src, routers))
            .map(|r| (r.src, r, true))
            .or_else(|| {
                detail
                    .errors
                    .iter()
                    .map(|e| (e.seen.src, &e.seen, e.seen.src == target))
                    .next()
            });
        let Some((from, seen, is_target)) = answer else {
            continue;
        };
        hop.answered += 1;
        hop.address.get_or_insert(from);
        hop.target |= is_target;
        let sent = detail
            .requests
            .iter()
            .filter(|r| r.capture == seen.capture)
            .max_by_key(|r| r.hop_limit);
        if let (Some(sent), None) = (sent, hop.rtt_ms) {
            hop.rtt_ms = Some(seen.ts_ns.saturating_sub(sent.ts_ns) as f64 / 1e6);
        }
    }
    hops.sort_by_key(|h| h.hop);
    hops
}

//! Rules that turn flows, control-plane facts and the topology into findings:
//! what died where, the evidence frames, the node to fix and the command that
//! fixes it.
//!
//! Guarantees: every finding cites frames of the captures it rests on; no rule
//! fires without packet evidence; findings come out errors first, then
//! warnings, each kind in a stable order, with duplicates merged. In a live
//! capture no rule calls something unanswered before its timeout has run out
//! ([`Analysis::judged_until`]).

mod advertise;
mod captures;
pub mod context;
mod fixes;
mod forwarding;
mod mtu;
mod return_path;
mod target;
mod tunnel;

use std::fmt;

pub use context::Analysis;

/// Stable finding identifiers (used in JSON; names never change meaning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    NoRouterAdvertisement,
    MissingPublishedRoute,
    WrongNextHop,
    NeighborUnreachable,
    ReturnBypassesIsatapRouter,
    ReturnViaWrongNode,
    NoReplyFromTarget,
    IsatapSourceMismatch,
    Protocol41Blocked,
    RoutingLoop,
    PacketTooBig,
    CaptureTruncated,
    CaptureMalformed,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::NoRouterAdvertisement,
        Kind::MissingPublishedRoute,
        Kind::WrongNextHop,
        Kind::NeighborUnreachable,
        Kind::ReturnBypassesIsatapRouter,
        Kind::ReturnViaWrongNode,
        Kind::NoReplyFromTarget,
        Kind::IsatapSourceMismatch,
        Kind::Protocol41Blocked,
        Kind::RoutingLoop,
        Kind::PacketTooBig,
        Kind::CaptureTruncated,
        Kind::CaptureMalformed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::NoRouterAdvertisement => "no-router-advertisement",
            Kind::MissingPublishedRoute => "missing-published-route",
            Kind::WrongNextHop => "wrong-next-hop",
            Kind::NeighborUnreachable => "neighbor-unreachable",
            Kind::ReturnBypassesIsatapRouter => "return-bypasses-isatap-router",
            Kind::ReturnViaWrongNode => "return-via-wrong-node",
            Kind::NoReplyFromTarget => "no-reply-from-target",
            Kind::IsatapSourceMismatch => "isatap-source-mismatch",
            Kind::Protocol41Blocked => "protocol-41-blocked",
            Kind::RoutingLoop => "routing-loop",
            Kind::PacketTooBig => "packet-too-big",
            Kind::CaptureTruncated => "capture-truncated",
            Kind::CaptureMalformed => "capture-malformed",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A frame that shows part of a finding.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Evidence {
    pub capture: u16,
    pub frame: u64,
    pub note: String,
}

/// One diagnosis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    /// The node to fix, by name.
    pub node: String,
    /// One sentence.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// The command (or commands, one per line) that fixes it.
    pub fix: String,
    /// Ids of the flows this finding explains.
    pub flows: Vec<u32>,
}

/// Most evidence frames cited per finding.
pub const MAX_EVIDENCE: usize = 8;

/// Runs every rule.
pub fn diagnose(a: &Analysis<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    advertise::no_router_advertisement(a, &mut findings);
    advertise::missing_published_route(a, &mut findings);
    forwarding::wrong_next_hop(a, &mut findings);
    forwarding::neighbor_unreachable(a, &mut findings);
    forwarding::no_route_at_router(a, &mut findings);
    forwarding::routing_loop(a, &mut findings);
    return_path::bypasses_router(a, &mut findings);
    return_path::via_wrong_node(a, &mut findings);
    tunnel::source_mismatch(a, &mut findings);
    tunnel::protocol_41_blocked(a, &mut findings);
    mtu::packet_too_big(a, &mut findings);
    target::no_reply_from_target(a, &mut findings);
    captures::damaged(a, &mut findings);
    let mut merged = merge(findings);
    for f in &mut merged {
        f.evidence = pick_evidence(std::mem::take(&mut f.evidence));
        f.flows.sort_unstable();
        f.flows.dedup();
    }
    merged.sort_by_key(|f| (f.severity, f.kind));
    merged
}

/// At most [`MAX_EVIDENCE`] frames, taken in turn from each capture so that
/// every vantage point that shows the fault is cited.
fn pick_evidence(mut all: Vec<Evidence>) -> Vec<Evidence> {
    all.sort();
    all.dedup();
    if all.len() <= MAX_EVIDENCE {
        return all;
    }
    let mut by_capture: Vec<std::collections::VecDeque<Evidence>> = Vec::new();
    for e in all {
        match by_capture
            .iter_mut()
            .find(|q| q.front().is_some_and(|f| f.capture == e.capture))
        {
            Some(q) => q.push_back(e),
            None => by_capture.push(std::collections::VecDeque::from([e])),
        }
    }
    let mut picked = Vec::with_capacity(MAX_EVIDENCE);
    while picked.len() < MAX_EVIDENCE {
        let before = picked.len();
        for q in &mut by_capture {
            if picked.len() < MAX_EVIDENCE
                && let Some(e) = q.pop_front()
            {
                picked.push(e);
            }
        }
        if picked.len() == before {
            break;
        }
    }
    picked.sort();
    picked
}

/// Findings of the same kind about the same node and fix are one finding.
fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        match out
            .iter_mut()
            .find(|o| o.kind == f.kind && o.node == f.node && o.fix == f.fix)
        {
            Some(o) => {
                // The most severe observation tells the story.
                if f.severity < o.severity {
                    o.severity = f.severity;
                    o.summary = f.summary;
                }
                o.evidence.extend(f.evidence);
                o.flows.extend(f.flows);
            }
            None => out.push(f),
        }
    }
    out
}

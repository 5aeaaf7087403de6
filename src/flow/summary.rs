//! Per-flow conclusions: ping or traceroute, how many probes were answered,
//! the verdict, round-trip times, the path of a representative probe across
//! the capture points, and for traceroutes the hops.
//!
//! A flow's round-trip times are drawn from its detailed probes and from the
//! table's samples of its tallied ones; the samples are grouped by flow only
//! when a report asks ([`FlowSummary::rtt`], [`Samples`]): a text report that
//! lists a few hundred of 17 000 flows needs theirs alone.
//!
//! Guarantees: a reply only counts when the prober would accept it: a reply
//! that arrives through an ISATAP tunnel from an IPv4 address that is neither
//! a known ISATAP router nor the one embedded in its inner source is dropped
//! by the host (RFC 5214 source check) and counted as `rejected`, not answered.
//! During a live capture ([`summarize_until`]) a probe is judged only once it
//! was answered or its timeout ran out; until then it is left out.

use std::net::IpAddr;

use super::observe::{Outer, TRACEROUTE_BASE_PORT};
use super::table::{ErrorSighting, Flow, FlowKey, Probe, ProbeTable, Protocol, Sighting};
use super::tally::{RttSample, Tally};
use std::collections::HashMap;

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
    /// Round-trip times of the answered detailed probes, in milliseconds;
    /// [`FlowSummary::rtt`] adds the tallied ones.
    pub probe_rtts_ms: Vec<f64>,
    /// The capture whose tally counts (the prober's), when probes were
    /// tallied: the one whose round-trip samples are the flow's.
    pub tallied_in: Option<u16>,
    /// Where a representative probe's request was seen, nearest the prober first.
    pub path: Vec<Sighting>,
    pub hops: Vec<Hop>,
    /// The first ICMP error quoting a probe of this flow (boxed: most flows
    /// have none, and inline it would make every summary half as large again).
    pub first_error: Option<Box<ErrorSighting>>,
}

impl FlowSummary {
    /// Lowest, median and highest round-trip time of the answered probes,
    /// detailed and tallied; `samples` must hold this flow's ([`Samples`]).
    pub fn rtt(&self, samples: &Samples) -> Option<RttStats> {
        let flow = self.index as usize;
        let tallied = match self.tallied_in {
            Some(_) => samples.count(flow),
            None => 0,
        };
        let mut rtts = Vec::with_capacity(self.probe_rtts_ms.len() + tallied);
        rtts.extend_from_slice(&self.probe_rtts_ms);
        if let Some(capture) = self.tallied_in {
            rtts.extend(samples.of_flow(flow, capture).map(f64::from));
        }
        rtt_stats(&mut rtts)
    }
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
    summarize_until(table, routers, None)
}

/// Whether a probe can be judged at `judged_until` (ns since the epoch, on
/// the capture's clock): it was answered (a reply or an ICMP error quoting it
/// was seen), or its request left at or before that instant, so its timeout
/// has run out. A probe seen only through its answer is always judged.
/// `None` judges every probe (a capture file: nothing more will come).
pub fn judged(probe: &Probe, judged_until: Option<i64>) -> bool {
    let Some(cutoff) = judged_until else {
        return true;
    };
    probe.replies > 0 || probe.errors > 0 || probe.sent_at().is_none_or(|(_, ts)| ts <= cutoff)
}

/// Probes still waiting for their answer, and the flows they belong to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pending {
    pub flows: u32,
    pub probes: u32,
}

/// What [`judged`] leaves out at `judged_until`, tallied probes included.
pub fn pending(table: &ProbeTable, judged_until: Option<i64>) -> Pending {
    let tallied = waiting_tallied(table, judged_until);
    let mut out = Pending::default();
    for index in 0..table.flows.len() {
        let waiting = table
            .probes_of(index)
            .iter()
            .filter(|&&p| !judged(&table.probes[p as usize], judged_until))
            .count() as u32
            + tallied.get(&(index as u32)).copied().unwrap_or(0);
        if waiting > 0 {
            out.flows += 1;
            out.probes += waiting;
        }
    }
    out
}

/// Tallied requests still within their timeout at `judged_until`, by flow.
fn waiting_tallied(table: &ProbeTable, judged_until: Option<i64>) -> HashMap<u32, u32> {
    let mut out = HashMap::new();
    if let Some(cutoff) = judged_until {
        for w in table.tallied_waiting().filter(|w| w.ts_ns > cutoff) {
            *out.entry(w.flow).or_insert(0) += 1;
        }
    }
    out
}

/// Round-trip samples of tallied probes, grouped by flow, in milliseconds:
/// of every flow ([`Samples::of`]) or of the flows a report lists
/// ([`Samples::of_flows`]), which the table's samples, in the order taken,
/// cannot give without a pass over all of them.
pub struct Samples {
    offsets: Vec<u32>,
    ms: Vec<f32>,
    captures: Captures,
}

/// The capture of each sample.
enum Captures {
    /// Every sample was taken in this one (one file, the common case): the
    /// grouped samples are then half the memory to write.
    One(u16),
    /// Each sample's, beside it in `Samples::ms`.
    Each(Vec<u16>),
}

impl Samples {
    /// The samples of every flow.
    pub fn of(table: &ProbeTable) -> Samples {
        let taken = &table.rtt_samples;
        let capture = |at: usize| taken.capture_of(at);
        Samples::grouped(
            table.flows.len(),
            taken.samples(),
            capture,
            taken.only_capture(),
        )
    }

    /// The samples of the flows numbered `flows` (indices into
    /// [`ProbeTable::flows`]); other flows have none here. One pass over all
    /// samples (on all cores) picks out those few, and only they are grouped.
    pub fn of_flows(table: &ProbeTable, flows: impl IntoIterator<Item = usize>) -> Samples {
        let mut wanted = vec![false; table.flows.len()];
        for flow in flows {
            if let Some(w) = wanted.get_mut(flow) {
                *w = true;
            }
        }
        let taken = &table.rtt_samples;
        let picked = crate::parallel::filter_map(taken.samples(), |at, s| {
            (wanted.get(s.flow as usize) == Some(&true)).then_some((at, *s))
        });
        let samples: Vec<RttSample> = picked.iter().map(|&(_, s)| s).collect();
        let capture = |i: usize| taken.capture_of(picked[i].0);
        Samples::grouped(table.flows.len(), &samples, capture, taken.only_capture())
    }

    /// `samples` grouped by flow, sample number `at` taken in capture
    /// `capture(at)`, or all in capture `only`.
    fn grouped(
        flows: usize,
        samples: &[RttSample],
        capture: impl Fn(usize) -> u16,
        only: Option<u16>,
    ) -> Samples {
        let group = |s: &RttSample| s.flow as usize;
        let (offsets, ms) = super::group_by(samples, flows, group, |_, s| s.ms);
        let captures = match only {
            Some(capture) => Captures::One(capture),
            None => {
                let (_, each) = super::group_by(samples, flows, group, |at, _| capture(at));
                Captures::Each(each)
            }
        };
        Samples {
            offsets,
            ms,
            captures,
        }
    }

    /// How many samples flow `flow` has, all captures together.
    fn count(&self, flow: usize) -> usize {
        (self.offsets[flow + 1] - self.offsets[flow]) as usize
    }

    /// The samples of flow `flow` taken in capture `capture`.
    fn of_flow(&self, flow: usize, capture: u16) -> impl Iterator<Item = f32> + '_ {
        let range = self.offsets[flow] as usize..self.offsets[flow + 1] as usize;
        let (one, each) = match &self.captures {
            Captures::One(c) => (Some(*c), &[][..]),
            Captures::Each(each) => (None, &each[range.clone()]),
        };
        self.ms[range]
            .iter()
            .enumerate()
            .filter(move |&(at, _)| one.unwrap_or_else(|| each[at]) == capture)
            .map(|(_, ms)| *ms)
    }
}

/// [`summarize`] as of `judged_until` (live capture): probes that are not
/// [`judged`] yet are left out, and a flow with no judged probe is not
/// summarised, so nothing is called unanswered before its timeout has run out.
pub fn summarize_until(
    table: &ProbeTable,
    routers: &[IpAddr],
    judged_until: Option<i64>,
) -> Vec<FlowSummary> {
    debug_assert!(
        table.is_grouped(),
        "ProbeTable::group must run before summarizing"
    );
    let waiting = waiting_tallied(table, judged_until);
    let mut out = crate::parallel::filter_map(&table.flows, |index, flow| {
        if index % TOUCH_RUN == 0 {
            // This run's details (its probes were asked for a run ago), and
            // the next run's probes.
            ask_for_details(table, index..index + TOUCH_RUN);
            ask_for_probes(table, index + TOUCH_RUN..index + 2 * TOUCH_RUN);
        }
        let waiting = waiting.get(&(index as u32)).copied().unwrap_or(0);
        let mut s = summarize_flow(table, index, flow, routers, judged_until, waiting)?;
        s.index = index as u32;
        Some(s)
    });
    for (i, s) in out.iter_mut().enumerate() {
        s.id = i as u32 + 1;
    }
    out
}

/// Flows whose probes are asked for together before they are summarised: a
/// flow's probes lie far apart (they were made at different times), and
/// asking for a run of flows' at once lets the misses overlap instead of
/// each stalling its own flow.
const TOUCH_RUN: usize = 8;

/// Starts loading the probes of `flows` into the cache (a hint only).
fn ask_for_probes(table: &ProbeTable, flows: std::ops::Range<usize>) {
    each_probe_of(table, flows, super::prefetch::prefetch);
}

/// Starts loading the details of the probes of `flows` into the cache (a
/// hint only; reads the probes, which should be loaded by then).
fn ask_for_details(table: &ProbeTable, flows: std::ops::Range<usize>) {
    each_probe_of(table, flows, |probe| {
        if let Some(detail) = table.detail(probe) {
            super::prefetch::prefetch(detail);
        }
    });
}

/// Calls `f` on each probe of `flows`, those past the last flow left out.
#[inline]
fn each_probe_of(table: &ProbeTable, flows: std::ops::Range<usize>, mut f: impl FnMut(&Probe)) {
    for flow in flows.start..flows.end.min(table.flows.len()) {
        for &p in table.probes_of(flow) {
            f(&table.probes[p as usize]);
        }
    }
}

fn summarize_flow(
    table: &ProbeTable,
    index: usize,
    flow: &Flow,
    routers: &[IpAddr],
    judged_until: Option<i64>,
    // Tallied requests still within their timeout (live capture).
    waiting: u32,
) -> Option<FlowSummary> {
    let listed = table.probes_of(index);
    let probes: Vec<&Probe> = listed
        .iter()
        .map(|&p| &table.probes[p as usize])
        .filter(|p| judged(p, judged_until))
        .collect();
    if probes.is_empty() && !listed.is_empty() {
        // Every probe is still within its timeout.
        return None;
    }
    let sent = || {
        probes
            .iter()
            .filter(|p| p.sent_at().is_some())
            .map(|p| p.sent_hop_limit)
    };
    let min_sent = sent().min().unwrap_or(0);
    let rising = sent().any(|h| h != min_sent) && min_sent <= 3;
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
        let errors: &[ErrorSighting] = detail.map_or(&[], |d| &d.errors);
        // A ping's Time Exceeded is an error; a traceroute's is its hop's answer.
        let is_failure = |e: &ErrorSighting| kind == FlowKind::Ping || !is_time_exceeded(e);
        for e in errors {
            if first_error
                .is_none_or(|f| (e.seen.capture, e.seen.frame) < (f.seen.capture, f.seen.frame))
                && is_failure(e)
            {
                first_error = Some(*e);
            }
        }
        let port_unreachable = errors
            .iter()
            .any(|e| is_port_unreachable(e) && e.src == target);
        // Answered means: the prober got an acceptable reply. When the
        // prober's side was captured, the reply must show up there.
        let prober = probe.sent_at().map(|(capture, _)| capture);
        // Judged from the counts when replies were seen but not all kept.
        let accepted_by_counts = || {
            let tunnel_ok = probe
                .reply_tunnel_src
                .is_none_or(|src| routers.contains(&src));
            let at_prober = prober.is_none() || probe.reply_at().is_some();
            tunnel_ok && at_prober
        };
        let (has_reply, accepted) = match detail {
            Some(d) => {
                let at_prober = |r: &&Sighting| prober.is_none_or(|c| r.capture == c);
                let accepted = d
                    .replies
                    .iter()
                    .filter(at_prober)
                    .any(|r| reply_accepted(table.via(r).outer.as_ref(), target, routers))
                    || (d.replies.len() < probe.replies as usize && accepted_by_counts());
                (probe.replies > 0, accepted)
            }
            None => (probe.replies > 0, accepted_by_counts()),
        };
        if (has_reply && accepted) || port_unreachable {
            answered += 1;
            if let (Some((_, sent_ts)), Some(reply_ts)) = (probe.sent_at(), probe.reply_at()) {
                rtts.push(reply_ts.saturating_sub(sent_ts) as f64 / 1e6);
            }
        } else if has_reply
            && detail.is_some_and(|d| {
                d.replies
                    .iter()
                    .any(|r| !reply_accepted(table.via(r).outer.as_ref(), target, routers))
            })
        {
            rejected += 1;
        } else if errors.iter().any(is_failure)
            || (errors.len() < probe.errors as usize && kind == FlowKind::Ping)
        {
            errored += 1;
        }
        if path.is_empty()
            && let Some(d) = detail
            && !d.requests.is_empty()
        {
            path = d.requests.to_vec();
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
    let mut total = probes.len() as u32;
    // The tallied probes, as the prober's capture saw them: the one with the
    // most requests, the highest hop limit (nearest the prober), the first read.
    let prober = |t: &&Tally| (t.requests, t.highest_hop, std::cmp::Reverse(t.capture));
    let tally = flow.tallies.iter().max_by_key(prober);
    if let Some(t) = tally {
        total += t.requests.saturating_sub(waiting);
        answered += t.answered_native;
        if t.tunnel_src.is_none_or(|src| routers.contains(&src)) {
            answered += t.answered_tunnel;
        } else {
            rejected += t.answered_tunnel;
        }
        if kind == FlowKind::Ping {
            errored += t.errors;
        }
    }
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
        probe_rtts_ms: rtts,
        tallied_in: tally.map(|t| t.capture),
        path,
        hops,
        first_error: first_error.map(Box::new),
    })
}

fn rtt_stats(rtts: &mut [f64]) -> Option<RttStats> {
    if rtts.is_empty() {
        return None;
    }
    let min_ms = rtts.iter().copied().fold(f64::INFINITY, f64::min);
    let max_ms = rtts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (half, odd) = (rtts.len() / 2, rtts.len() % 2 == 1);
    let (below, &mut upper, _) = rtts.select_nth_unstable_by(half, f64::total_cmp);
    let median_ms = if odd {
        upper
    } else {
        // The lower middle is the largest of the half below.
        let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    };
    Some(RttStats {
        min_ms,
        median_ms,
        max_ms,
    })
}

/// Traceroute hops: probes grouped by the hop limit they left the prober
/// with; each hop answered by a Time Exceeded sender or by the target.
fn hops_of(table: &ProbeTable, probes: &[&Probe], target: IpAddr, routers: &[IpAddr]) -> Vec<Hop> {
    let mut hops: Vec<Hop> = Vec::new();
    for probe in probes.iter().filter(|p| p.sent_at().is_some()) {
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
            .find(|r| reply_accepted(table.via(r).outer.as_ref(), target, routers))
            .map(|r| (target, r, true))
            .or_else(|| {
                detail
                    .errors
                    .iter()
                    .map(|e| (e.src, &e.seen, e.src == target))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Limits;
    use std::net::Ipv4Addr;

    /// A table with `flows` flows and these round-trip samples: (capture, flow, ms).
    fn table_with(flows: usize, taken: &[(u16, u32, f32)]) -> ProbeTable {
        let mut table = ProbeTable::new(Limits::default());
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        for id in 0..flows as u16 {
            table.flows.push(Flow {
                key: FlowKey {
                    protocol: Protocol::IcmpEcho,
                    src: a,
                    dst: a,
                    id,
                },
                tallies: Default::default(),
                traceroute: false,
            });
        }
        for &(capture, flow, ms) in taken {
            assert!(table.rtt_samples.push(capture, flow, ms));
        }
        table
    }

    fn of(samples: &Samples, flow: usize, capture: u16) -> Vec<f32> {
        samples.of_flow(flow, capture).collect()
    }

    #[test]
    fn samples_of_one_capture_are_grouped_by_flow_in_the_order_taken() {
        let table = table_with(3, &[(2, 1, 5.0), (2, 0, 1.0), (2, 1, 6.0), (2, 1, 7.0)]);
        let samples = Samples::of(&table);
        assert_eq!(of(&samples, 0, 2), [1.0]);
        assert_eq!(of(&samples, 1, 2), [5.0, 6.0, 7.0]);
        assert_eq!(of(&samples, 2, 2), [] as [f32; 0]);
        assert_eq!(
            of(&samples, 1, 0),
            [] as [f32; 0],
            "no sample of another capture"
        );
        assert_eq!(samples.count(1), 3);
    }

    #[test]
    fn samples_of_several_captures_are_told_apart() {
        let taken = [
            (0, 0, 1.0),
            (0, 1, 2.0),
            (1, 0, 3.0),
            (1, 1, 4.0),
            (0, 0, 5.0),
            (1, 0, 6.0),
        ];
        let samples = Samples::of(&table_with(2, &taken));
        assert_eq!(of(&samples, 0, 0), [1.0, 5.0]);
        assert_eq!(of(&samples, 0, 1), [3.0, 6.0]);
        assert_eq!(of(&samples, 1, 0), [2.0]);
        assert_eq!(of(&samples, 1, 1), [4.0]);
        assert_eq!(samples.count(0), 4);
    }

    #[test]
    fn samples_of_some_flows_are_those_flows_samples_alone() {
        let one = [(2, 1, 5.0), (2, 0, 1.0), (2, 2, 9.0), (2, 1, 6.0)];
        let several = [
            (0, 0, 1.0),
            (0, 1, 2.0),
            (1, 0, 3.0),
            (1, 1, 4.0),
            (0, 1, 5.0),
        ];
        for taken in [&one[..], &several[..]] {
            let table = table_with(3, taken);
            let (all, some) = (Samples::of(&table), Samples::of_flows(&table, [1, 7]));
            for capture in 0..3 {
                assert_eq!(of(&some, 1, capture), of(&all, 1, capture), "{taken:?}");
                assert_eq!(of(&some, 0, capture), [] as [f32; 0]);
                assert_eq!(of(&some, 2, capture), [] as [f32; 0]);
            }
            assert_eq!(some.count(1), all.count(1));
            assert_eq!((some.count(0), some.count(2)), (0, 0));
        }
    }
}

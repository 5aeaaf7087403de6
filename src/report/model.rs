//! The one [`Report`] value every renderer draws: the JSON schema
//! `isatap-trace/1` of DESIGN.md (captures, flows, findings) plus the topology
//! the analysis used, the assumptions it made and what the state limits
//! evicted. Renderers never look past this value.

use std::net::IpAddr;

use serde::Serialize;

use super::ladder::{self, Ladder};
use crate::capture::CaptureInfo;
use crate::diagnose::{Analysis, Finding};
use crate::flow::summary::Hop;
use crate::flow::table::{Evictions, Sighting};
use crate::flow::{FastMap, FlowKind, FlowSummary, Samples, Verdict};
use crate::topology::{MacAddr, Topology};

pub const SCHEMA: &str = "isatap-trace/1";
/// Most failing flows a text or Markdown report lists.
pub const LISTED_FAILING: usize = 200;
/// Most answered flows a text or Markdown report lists (more when few fail).
pub const LISTED_ANSWERED: usize = 20;

/// Which flows a report holds an entry for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Every flow (JSON, HTML).
    Every,
    /// The flows a text or Markdown report lists ([`Report::flows_to_show`]):
    /// on a busy capture, the entries of thousands of answered flows that
    /// such a report leaves out would cost more than all the rest of it.
    Shown,
}

/// How many flows the analysis found, whichever of them the report lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowCounts {
    pub total: usize,
    pub answered: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub schema: &'static str,
    pub captures: Vec<CaptureEntry>,
    /// Every flow, or the listed ones ([`Listing`]).
    pub flows: Vec<FlowEntry>,
    /// Of all flows (JSON lists every flow, so it needs no such field).
    #[serde(skip)]
    pub flow_counts: FlowCounts,
    pub findings: Vec<FindingEntry>,
    pub topology: TopologyEntry,
    pub assumptions: Vec<String>,
    pub evictions: EvictionEntry,
    /// Addresses are pseudonyms (`--redact`); absent from JSON otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CaptureEntry {
    pub label: String,
    pub path: String,
    pub format: String,
    pub link_types: Vec<u32>,
    pub packets: u64,
    pub decoded: u64,
    pub malformed: u64,
    pub truncated: bool,
    pub interfaces: Vec<Option<String>>,
    pub kernel_drops: Option<u64>,
    pub damage: Option<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RttEntry {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TunnelEntry {
    pub kind: &'static str,
    pub src: String,
    pub dst: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PathEntry {
    pub capture: String,
    pub frame: u64,
    pub hop_limit: u8,
    pub link_src: Option<String>,
    pub link_dst: Option<String>,
    pub tunnel: Option<TunnelEntry>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HopEntry {
    pub hop: u8,
    pub address: Option<String>,
    pub rtt_ms: Option<f64>,
    pub probes: u32,
    pub answered: u32,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FlowEntry {
    pub id: u32,
    pub protocol: &'static str,
    pub kind: &'static str,
    pub src: String,
    pub dst: String,
    pub probes: u32,
    pub answered: u32,
    pub verdict: &'static str,
    pub rtt_ms: Option<RttEntry>,
    pub path: Vec<PathEntry>,
    pub hops: Vec<HopEntry>,
    /// For a flow not fully answered: one probe followed across the captures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ladder: Option<Ladder>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EvidenceEntry {
    pub capture: String,
    pub frame: u64,
    pub note: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FindingEntry {
    pub kind: &'static str,
    pub severity: &'static str,
    pub node: String,
    pub summary: String,
    pub evidence: Vec<EvidenceEntry>,
    pub fix: String,
    pub flows: Vec<u32>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TopologyEntry {
    /// `file` when read from --topology, `inferred` otherwise.
    pub source: &'static str,
    #[serde(flatten)]
    pub topology: Topology,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EvictionEntry {
    /// Packets of flows not tracked (the flow table was full).
    pub flows: u64,
    /// Packets of probes not tracked (the probe table was full).
    pub probes: u64,
    /// Sightings not kept in detail (counted in their probe's totals).
    pub sightings: u64,
    /// Control-plane facts (RA, NDP, tunnel errors) not kept, and tunnelled
    /// packets between endpoint pairs past the number counted.
    pub facts: u64,
    /// Requests that stopped waiting for their answer early (the table of
    /// requests in flight was full): an answer after that is not matched.
    pub waiting: u64,
    /// Round-trip times not kept as samples (medians use the others).
    pub rtt_samples: u64,
}

impl EvictionEntry {
    /// The note a report shows when a state limit changed what it says.
    pub fn note(&self) -> Option<String> {
        let parts: Vec<String> = [
            (self.flows, "packets of untracked flows"),
            (self.probes, "packets of untracked probes"),
            (self.facts, "facts not kept"),
            (
                self.waiting,
                "requests that stopped waiting for their answer",
            ),
            (self.rtt_samples, "round-trip times not sampled"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        (!parts.is_empty()).then(|| {
            format!(
                "state limits reached: {}; the figures above are lower bounds",
                parts.join(", ")
            )
        })
    }
}

/// Positions of the flows a human-readable report lists, given whether each
/// was answered: every flow that did not get all its answers (up to
/// [`LISTED_FAILING`]), then answered ones up to [`LISTED_ANSWERED`] (more
/// when few fail), in the order given. Listing the listed flows again gives
/// them all.
fn listed(answered: &[bool]) -> Vec<usize> {
    let positions = 0..answered.len();
    let mut shown: Vec<usize> = positions
        .clone()
        .filter(|&i| !answered[i])
        .take(LISTED_FAILING)
        .collect();
    let room = LISTED_ANSWERED.max(LISTED_FAILING.saturating_sub(shown.len()));
    shown.extend(positions.filter(|&i| answered[i]).take(room));
    shown.sort_unstable();
    shown
}

fn ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The text of every address and MAC the flows name, each formatted once:
/// thousands of flows name the same few hundred addresses again and again,
/// and formatting an IPv6 address costs far more than copying its text.
struct Names {
    addrs: FastMap<IpAddr, String>,
    macs: FastMap<[u8; 6], String>,
}

impl Names {
    fn of<'f>(flows: impl Iterator<Item = &'f FlowSummary>, a: &Analysis<'_>) -> Names {
        let mut names = Names {
            addrs: FastMap::default(),
            macs: FastMap::default(),
        };
        for f in flows {
            names.note_addr(f.key.src);
            names.note_addr(f.key.dst);
            for s in &f.path {
                let via = a.via(s);
                for m in [via.link.src_mac, via.link.dst_mac].into_iter().flatten() {
                    names.note_mac(m);
                }
                if let Some(o) = via.outer {
                    names.note_addr(o.src);
                    names.note_addr(o.dst);
                }
            }
            for h in &f.hops {
                if let Some(a) = h.address {
                    names.note_addr(a);
                }
            }
        }
        names
    }

    fn note_addr(&mut self, a: IpAddr) {
        self.addrs.entry(a).or_insert_with(|| a.to_string());
    }

    fn note_mac(&mut self, m: [u8; 6]) {
        self.macs.entry(m).or_insert_with(|| MacAddr(m).to_string());
    }

    fn addr(&self, a: IpAddr) -> String {
        self.addrs.get(&a).cloned().unwrap_or_else(|| a.to_string())
    }

    fn mac(&self, m: Option<[u8; 6]>) -> Option<String> {
        m.map(|m| {
            self.macs
                .get(&m)
                .cloned()
                .unwrap_or_else(|| MacAddr(m).to_string())
        })
    }
}

impl Report {
    /// Builds the report of an analysis, with an entry for the flows `listing` names.
    pub fn build(
        a: &Analysis<'_>,
        findings: &[Finding],
        assumptions: &[String],
        evicted: Evictions,
        listing: Listing,
    ) -> Report {
        let label = |c: u16| a.label(c).to_owned();
        let answered: Vec<bool> = a
            .flows
            .iter()
            .map(|f| f.verdict == Verdict::Answered)
            .collect();
        let flows = match listing {
            Listing::Every => {
                let names = Names::of(a.flows.iter(), a);
                let samples = Samples::of(a.table);
                crate::parallel::map(a.flows, |_, f| flow_entry(f, &names, &samples, a))
            }
            Listing::Shown => {
                let shown: Vec<&FlowSummary> =
                    listed(&answered).into_iter().map(|i| &a.flows[i]).collect();
                let names = Names::of(shown.iter().copied(), a);
                let samples = Samples::of_flows(a.table, shown.iter().map(|f| f.index as usize));
                let entry = |f: &&FlowSummary| flow_entry(f, &names, &samples, a);
                shown.iter().map(entry).collect()
            }
        };
        Report {
            schema: SCHEMA,
            captures: a.captures.iter().map(capture_entry).collect(),
            flows,
            flow_counts: FlowCounts {
                total: answered.len(),
                answered: answered.iter().filter(|&&yes| yes).count(),
            },
            findings: findings
                .iter()
                .map(|f| FindingEntry {
                    kind: f.kind.name(),
                    severity: f.severity.name(),
                    node: f.node.clone(),
                    summary: f.summary.clone(),
                    evidence: f
                        .evidence
                        .iter()
                        .map(|e| EvidenceEntry {
                            capture: label(e.capture),
                            frame: e.frame,
                            note: e.note.clone(),
                        })
                        .collect(),
                    fix: f.fix.clone(),
                    flows: f.flows.clone(),
                })
                .collect(),
            topology: TopologyEntry {
                source: if a.topology_given { "file" } else { "inferred" },
                topology: a.topology.clone(),
            },
            assumptions: assumptions.to_vec(),
            evictions: EvictionEntry {
                flows: evicted.flows,
                probes: evicted.probes,
                sightings: evicted.sightings,
                facts: a.facts.dropped,
                waiting: evicted.waiting,
                rtt_samples: evicted.rtt_samples,
            },
            redacted: false,
        }
    }

    /// The flows a human-readable report lists: every flow that did not get
    /// all its answers (up to [`LISTED_FAILING`]), then answered ones up to
    /// [`LISTED_ANSWERED`]; and how many answered flows that leaves out.
    /// The same whether the report holds every flow or only these ([`Listing`]).
    pub fn flows_to_show(&self) -> (Vec<&FlowEntry>, usize) {
        let answered: Vec<bool> = self
            .flows
            .iter()
            .map(|f| f.verdict == Verdict::Answered.name())
            .collect();
        let mut shown: Vec<&FlowEntry> = listed(&answered)
            .into_iter()
            .map(|i| &self.flows[i])
            .collect();
        shown.sort_by_key(|f| f.id);
        let hidden = self.flow_counts.total.saturating_sub(shown.len());
        (shown, hidden)
    }

    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == "error")
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == "warning")
            .count()
    }
}

fn capture_entry(c: &CaptureInfo) -> CaptureEntry {
    CaptureEntry {
        label: c.label.clone(),
        path: c.path.display().to_string(),
        format: c.format.to_owned(),
        link_types: c.link_types.clone(),
        packets: c.packets,
        decoded: c.decoded,
        malformed: c.malformed,
        truncated: c.truncated(),
        interfaces: c.interfaces.clone(),
        kernel_drops: c.kernel_drops,
        damage: c.damage.as_ref().map(ToString::to_string),
        first_seen: c.first_ts_ns.map(super::time::iso8601),
        last_seen: c.last_ts_ns.map(super::time::iso8601),
    }
}

fn path_entry(s: &Sighting, names: &Names, a: &Analysis<'_>) -> PathEntry {
    let via = a.via(s);
    PathEntry {
        capture: a.label(s.capture).to_owned(),
        frame: s.frame,
        hop_limit: s.hop_limit,
        link_src: names.mac(via.link.src_mac),
        link_dst: names.mac(via.link.dst_mac),
        tunnel: via.outer.map(|o| TunnelEntry {
            kind: o.kind.name(),
            src: names.addr(o.src),
            dst: names.addr(o.dst),
        }),
    }
}

fn hop_entry(h: &Hop, names: &Names) -> HopEntry {
    HopEntry {
        hop: h.hop,
        address: h.address.map(|a| names.addr(a)),
        rtt_ms: h.rtt_ms.map(ms),
        probes: h.probes,
        answered: h.answered,
    }
}

/// The path in the order the packet travelled: falling hop limit; at equal
/// hop limit a tunnelled copy is seen by its sender before the router, and a
/// native copy by the router (which sent it) before the node.
fn travel_order(path: &[Sighting], a: &Analysis<'_>) -> Vec<Sighting> {
    let mut path = path.to_vec();
    path.sort_by_key(|s| {
        let at_router = a.is_router_capture(s.capture);
        let rank = if a.via(s).outer.is_some() {
            at_router
        } else {
            !at_router
        };
        (std::cmp::Reverse(s.hop_limit), rank, s.capture, s.frame)
    });
    path
}

fn flow_entry(f: &FlowSummary, names: &Names, samples: &Samples, a: &Analysis<'_>) -> FlowEntry {
    FlowEntry {
        id: f.id,
        protocol: f.key.protocol.name(),
        kind: match f.kind {
            FlowKind::Ping => "ping",
            FlowKind::Traceroute => "traceroute",
        },
        src: names.addr(f.key.src),
        dst: names.addr(f.key.dst),
        probes: f.probes,
        answered: f.answered,
        verdict: f.verdict.name(),
        rtt_ms: f.rtt(samples).map(|r| RttEntry {
            min: ms(r.min_ms),
            median: ms(r.median_ms),
            max: ms(r.max_ms),
        }),
        path: travel_order(&f.path, a)
            .iter()
            .map(|s| path_entry(s, names, a))
            .collect(),
        hops: f.hops.iter().map(|h| hop_entry(h, names)).collect(),
        ladder: (f.verdict != Verdict::Answered)
            .then(|| ladder::build(a, f))
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_takes_the_failing_flows_first_then_answered_ones_in_order() {
        // 300 failing flows, every third one answered besides.
        let answered: Vec<bool> = (0..450).map(|i| i % 3 == 2).collect();
        let shown = listed(&answered);
        let (failing, ok): (Vec<usize>, Vec<usize>) = shown.iter().partition(|&&i| !answered[i]);
        assert_eq!(
            failing,
            (0..450)
                .filter(|i| i % 3 != 2)
                .take(200)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            ok,
            (0..450).filter(|i| i % 3 == 2).take(20).collect::<Vec<_>>()
        );
        assert!(shown.is_sorted());
        // Few failing: answered flows fill the room up to LISTED_FAILING.
        let answered: Vec<bool> = (0..500).map(|i| i % 100 != 7).collect();
        let shown = listed(&answered);
        assert_eq!(shown.len(), LISTED_FAILING);
        assert_eq!(shown.iter().filter(|&&i| !answered[i]).count(), 5);
    }

    #[test]
    fn listing_the_listed_flows_again_keeps_them_all() {
        for answered in [
            (0..450).map(|i| i % 3 == 2).collect::<Vec<bool>>(),
            (0..500).map(|i| i % 100 != 7).collect(),
            vec![true; 5],
            vec![],
        ] {
            let once: Vec<bool> = listed(&answered).iter().map(|&i| answered[i]).collect();
            assert_eq!(listed(&once), (0..once.len()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_eviction_note_names_every_limit_reached_and_only_those() {
        let none = EvictionEntry {
            flows: 0,
            probes: 0,
            sightings: 12,
            facts: 0,
            waiting: 0,
            rtt_samples: 0,
        };
        assert_eq!(
            none.note(),
            None,
            "sightings beyond the detail are expected"
        );
        let some = EvictionEntry {
            flows: 5,
            waiting: 7,
            ..none
        };
        assert_eq!(
            some.note().as_deref(),
            Some(
                "state limits reached: 5 packets of untracked flows, 7 requests that stopped \
                 waiting for their answer; the figures above are lower bounds"
            )
        );
    }
}

//! The probe table: every echo request, traceroute UDP probe and TCP SYN,
//! keyed on the inner packet (flow = protocol, addresses and echo id / source
//! port / destination port; probe = sequence number / port / port+seq), with
//! where it was seen, what answered it and what ICMP error quoted it.
//!
//! Guarantees: matching never uses outer headers or clocks; the same packet
//! seen at several capture points (or twice in one) is one probe with several
//! sightings. State is bounded by [`Limits`]: probes and flows beyond them are
//! counted as evicted, never silently lost.

use std::net::IpAddr;

pub use super::few::Few;
use super::index::FlowIndex;
use super::observe::{LinkFacts, Observation, Outer, What};
use super::tally::{Answer, Latest, RttSamples, Tally, Waiters, Waiting};
use super::warm::Warmed;
use crate::decode::quoted::{PROTO_ICMPV4, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, QuotedIp};
use crate::decode::{TCP_ACK, TCP_RST, TCP_SYN};

/// What kind of probe conversation a flow is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Icmpv6Echo,
    IcmpEcho,
    Udp,
    Tcp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Icmpv6Echo => "icmpv6-echo",
            Protocol::IcmpEcho => "icmp-echo",
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
        }
    }
}

/// A probe conversation: protocol, prober, target and a conversation id
/// (echo identifier; TCP destination port; 0 for UDP, whose traceroute probes
/// may each come from another source port).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    pub protocol: Protocol,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u16,
}

/// A [`FlowKey`] as the hot path compares and hashes it: each address as two
/// words and the rest (id, protocol, address families) in a third field,
/// instead of two `IpAddr` enums (and no wider alignment than the flow state
/// stored beside it). Equal exactly when the keys are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HotKey {
    src: [u64; 2],
    dst: [u64; 2],
    rest: u32,
}

/// A [`FlowKey`] whose addresses are borrowed from the observation: what
/// finding a probe needs, without copying the addresses around.
#[derive(Clone, Copy)]
struct KeyRef<'a> {
    protocol: Protocol,
    src: &'a IpAddr,
    dst: &'a IpAddr,
    id: u16,
}

impl KeyRef<'_> {
    fn owned(&self) -> FlowKey {
        FlowKey {
            protocol: self.protocol,
            src: *self.src,
            dst: *self.dst,
            id: self.id,
        }
    }
}

impl HotKey {
    #[inline]
    fn of(key: &KeyRef<'_>) -> HotKey {
        let words = |a: &IpAddr| {
            let bits = super::addr_bits(a);
            [(bits >> 64) as u64, bits as u64]
        };
        // The families go in too: `addr_bits` alone does not tell every
        // IPv4 address from every IPv6 one.
        let families = u32::from(key.src.is_ipv6()) | (u32::from(key.dst.is_ipv6()) << 1);
        HotKey {
            src: words(key.src),
            dst: words(key.dst),
            rest: (u32::from(key.id) << 16) | ((key.protocol as u32) << 8) | families,
        }
    }
}

impl std::hash::Hash for HotKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let wide = |w: [u64; 2]| (u128::from(w[0]) << 64) | u128::from(w[1]);
        h.write_u128(wide(self.src) ^ (u128::from(self.rest) << 96));
        h.write_u128(wide(self.dst));
    }
}

/// Where and how one packet was seen. Its addresses are its flow's: a
/// request goes from the flow key's source to its destination, a reply
/// back; an error says its own ([`ErrorSighting`]). Its link facts and
/// tunnel header are the table's to tell ([`ProbeTable::via`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sighting {
    pub frame: u64,
    pub ts_ns: i64,
    /// Its link facts and tunnel header, kept once in the table that holds
    /// the sighting ([`ProbeTable::via`]).
    via: u32,
    pub capture: u16,
    pub hop_limit: u8,
}

/// The link facts and tunnel header a packet was seen with. A capture has
/// few distinct ones (a station's, a router's, each way), so the table keeps
/// each once and its sightings name it: a sighting is 24 bytes instead of 80.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Via {
    pub link: LinkFacts,
    pub outer: Option<Outer>,
}

/// An ICMP error that quoted a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorSighting {
    pub seen: Sighting,
    /// Who sent the error, and to whom.
    pub src: IpAddr,
    pub dst: IpAddr,
    pub v6: bool,
    pub ty: u8,
    pub code: u8,
    /// MTU for Packet Too Big / fragmentation needed, pointer for parameter problems.
    pub param: u32,
    /// The probe's hop limit as quoted (1 for a Time Exceeded on the way).
    pub quoted_hop_limit: u8,
}

/// Everything seen of one probe (kept for the first probes of each flow).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeDetail {
    /// Most probes are seen once per kind (one capture point): kept in place.
    pub requests: Few<Sighting>,
    pub replies: Few<Sighting>,
    pub errors: Vec<ErrorSighting>,
}

/// Compact state of one probe; [`ProbeDetail`] holds the sightings when kept.
/// 72 bytes: what would be options are kept as values with a flag or a
/// sentinel (the detailed probes of a busy capture number tens of
/// thousands, all made early, when fresh memory costs the most).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub flow: u32,
    /// Sequence number (echo), source and destination port (UDP), or source
    /// port and low sequence bits (TCP).
    pub n: u32,
    /// How often the request was seen.
    pub request_sightings: u32,
    pub replies: u32,
    pub errors: u32,
    /// Index of its [`ProbeDetail`], or [`NONE`].
    detail: u32,
    /// The detailed probe of the same flow made before this one, or [`NONE`].
    earlier: u32,
    /// Time of the request sighting nearest the prober (see `sent_at`).
    sent_ts: i64,
    /// Time of the first reply seen in the capture of `sent_at`.
    reply_ts: i64,
    /// The capture of that request sighting.
    sent_capture: u16,
    /// Highest hop limit the request was seen with: nearest to the prober.
    pub sent_hop_limit: u8,
    /// Lowest hop limit the request was seen with.
    pub lowest_hop_limit: u8,
    /// Which of `sent_*` and `reply_ts` hold a value ([`SENT`], [`REPLIED`]).
    flags: u8,
    /// Outer source of a reply that arrived through a tunnel.
    pub reply_tunnel_src: Option<IpAddr>,
}

/// No index: the sentinel of [`Probe`]'s `detail` and `earlier`, and the
/// end of a chain of vias.
const NONE: u32 = u32::MAX;
/// [`Probe`] flags: a request was seen (`sent_at`); a reply was seen where
/// it was sent from (`reply_at`).
const SENT: u8 = 1;
const REPLIED: u8 = 2;

impl Probe {
    /// Capture and time of the request sighting nearest the prober.
    pub fn sent_at(&self) -> Option<(u16, i64)> {
        (self.flags & SENT != 0).then_some((self.sent_capture, self.sent_ts))
    }

    /// Time of the first reply seen in the capture of [`Self::sent_at`].
    pub fn reply_at(&self) -> Option<i64> {
        (self.flags & REPLIED != 0).then_some(self.reply_ts)
    }
}

/// A flow: its key and the tallies of its probes beyond the detailed ones,
/// one per capture (its detailed probes: [`ProbeTable::probes_of`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    pub key: FlowKey,
    pub tallies: Few<Tally>,
    /// Its first request had a traceroute's low hop limit.
    pub traceroute: bool,
}

/// The hot path's view of a flow, kept in the index's own bucket so that a
/// lookup touches no other memory: its detailed-probe count and the tally of
/// the capture being read.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FlowMeta {
    index: u32,
    probes: u32,
    traceroute: bool,
    /// Lowest and highest probe number of the detailed probes: a number
    /// outside is tallied without a look at them.
    detailed_n: (u32, u32),
    /// The flow's latest detailed probe, from which [`Probe::earlier`]
    /// leads through the others (at most [`Limits::detailed_per_traceroute`]).
    latest_probe: Option<u32>,
    tally: Tally,
    /// The flow's latest tallied request still waiting, if any.
    latest: Latest,
}

/// Hop limits at or below this start a traceroute (ping sends 64 or 128).
const TRACEROUTE_MAX_HOPS: u8 = 32;

/// Bounds on the state kept, whatever the capture size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_flows: usize,
    pub max_probes: usize,
    /// Probes per flow whose sightings are kept in detail: the first
    /// `detailed_per_flow`, and up to `detailed_per_traceroute` in flows that
    /// start with a low hop limit (traceroutes, whose every probe is a hop).
    pub detailed_per_flow: usize,
    pub detailed_per_traceroute: usize,
    /// Sightings of each kind kept per detailed probe.
    pub sightings_per_probe: usize,
    /// Sightings kept in detail over all probes.
    pub max_sightings: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // Sized so that the state and the report built from it stay
            // within 256 MiB (benches/replay.sh measures 10 million distinct
            // flows), while a busy router's real flows all fit.
            max_flows: 65_536,
            max_probes: 262_144,
            detailed_per_flow: 4,
            detailed_per_traceroute: 128,
            sightings_per_probe: 16,
            max_sightings: 1 << 19,
        }
    }
}

/// Counts of what did not fit in [`Limits`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evictions {
    /// Packets of flows that were not tracked because the flow table was full.
    pub flows: u64,
    /// Packets of probes not tracked because the probe table was full.
    pub probes: u64,
    /// Sightings not kept in detail (counted in their probe's totals).
    pub sightings: u64,
    /// Tallied requests that stopped waiting for their reply early, and
    /// round-trip times not kept as samples (the waiting table or the sample
    /// store was full).
    pub waiting: u64,
    pub rtt_samples: u64,
}

impl Evictions {
    pub fn any(&self) -> bool {
        self.flows + self.probes > 0
    }
}

/// The probe table.
#[derive(Debug, Default)]
pub struct ProbeTable {
    limits: Limits,
    pub flows: Vec<Flow>,
    /// Flow key → what the hot path needs of the flow (kept in the index's
    /// own bucket, so a lookup touches no other memory).
    flow_index: FlowIndex<HotKey, FlowMeta>,
    /// Every probe's index as of the last [`ProbeTable::group`], grouped by flow
    /// (each flow's in order of first sight): flow `f`'s are
    /// `by_flow[flow_starts[f]..flow_starts[f + 1]]`.
    by_flow: Vec<u32>,
    flow_starts: Vec<u32>,
    pub probes: Vec<Probe>,
    /// The last probe looked up: a reply or a second sighting usually follows
    /// its request closely, so most lookups are answered here without hashing.
    recent: Option<(HotKey, u32, usize)>,
    pub details: Vec<ProbeDetail>,
    /// Sightings in `details`, all kinds together.
    sightings_kept: usize,
    /// Every [`Via`] of a kept sighting, once (at most one per sighting
    /// kept, so bounded as they are).
    vias: Vec<Via>,
    /// The first via of each fingerprint ([`fingerprint`]), and after each
    /// via the next one of the same fingerprint ([`NONE`] ends the chain).
    via_first: super::FastMap<u64, u32>,
    via_next: Vec<u32>,
    /// Requests of tallied probes waiting for their answer.
    pub waiters: Waiters,
    /// Round-trip times of tallied probes.
    pub rtt_samples: RttSamples,
    pub evicted: Evictions,
    /// How far ahead of use the reserved arrays are backed ([`Self::warm`]):
    /// flows, flow index entries, probes, details, round-trip samples.
    warmed: [Warmed; 5],
}

/// Every probe's index grouped by flow ([`ProbeTable::probe_groups`]).
pub struct ProbeGroups {
    starts: Vec<u32>,
    by_flow: Vec<u32>,
}

/// Where an observation of a probe goes.
enum Slot {
    Detailed(usize),
    Tallied,
    Untracked,
}

enum Role {
    Request,
    Reply,
    Error(ErrorFacts),
}

/// What an error says beside where it was seen: an [`ErrorSighting`] once
/// kept.
struct ErrorFacts {
    src: IpAddr,
    dst: IpAddr,
    v6: bool,
    ty: u8,
    code: u8,
    param: u32,
    quoted_hop_limit: u8,
}

impl ErrorFacts {
    fn seen(self, seen: Sighting) -> ErrorSighting {
        ErrorSighting {
            seen,
            src: self.src,
            dst: self.dst,
            v6: self.v6,
            ty: self.ty,
            code: self.code,
            param: self.param,
            quoted_hop_limit: self.quoted_hop_limit,
        }
    }
}

/// A few words of a via's link facts and tunnel header folded into one: a
/// cheap first look, equal for equal vias (and, rarely, for others).
#[inline]
fn fingerprint(link: &LinkFacts, outer: Option<&Outer>) -> u64 {
    let mac = |m: Option<crate::decode::Mac>| {
        m.map_or(0, |m| {
            u64::from_le_bytes([m[0], m[1], m[2], m[3], m[4], m[5], 1, 0])
        })
    };
    let ends = outer.map_or(0, |o| {
        (super::addr_bits(&o.src) as u64) ^ (super::addr_bits(&o.dst) as u64).rotate_left(29)
    });
    mac(link.src_mac)
        ^ mac(link.dst_mac).rotate_left(19)
        ^ ends.rotate_left(41)
        ^ u64::from(link.interface)
        ^ u64::from(link.vlan.unwrap_or(u16::MAX)).rotate_left(50)
}

impl ProbeTable {
    pub fn new(limits: Limits) -> ProbeTable {
        // Room for as many flows, probes and samples as the limits allow,
        // reserved once: pages are backed only as they are written, where
        // growing by doubling copied each array into fresh memory again and
        // again.
        ProbeTable {
            limits,
            flows: Vec::with_capacity(limits.max_flows),
            flow_index: FlowIndex::with_capacity(limits.max_flows),
            probes: Vec::with_capacity(limits.max_probes),
            details: Vec::with_capacity(limits.max_probes),
            rtt_samples: RttSamples::reserved(),
            ..ProbeTable::default()
        }
    }

    /// Backs a little more of the reserved arrays' room ahead of use (see
    /// `warm.rs`), for a moment the caller would otherwise wait; false when
    /// each is backed far enough ahead already.
    pub fn warm(&mut self) -> bool {
        let [flows, entries, probes, details, samples] = &mut self.warmed;
        flows.step(&mut self.flows)
            || self.flow_index.warm(entries)
            || probes.step(&mut self.probes)
            || details.step(&mut self.details)
            || self.rtt_samples.warm(samples)
    }

    /// Adds an observation of capture number `capture`; returns true when
    /// it concerned a probe.
    pub fn add(&mut self, capture: u16, o: &Observation) -> bool {
        self.add_located(capture, o, self.locate(o).as_ref())
    }

    /// The probe `o` concerns, if any, found from the observation alone.
    #[inline]
    pub fn locate(&self, o: &Observation) -> Option<Located> {
        let (key, n, kind) = probe_of(o)?;
        let hot = HotKey::of(&key);
        Some(Located {
            hot,
            hash: self.flow_index.hash(&hot),
            n,
            kind,
            entry: None,
        })
    }

    /// Starts loading the state of `at`'s flow into the cache, and notes
    /// where it is (a hint only: a lookup checks it):
    /// done for a run of observations before they are added, it lets their
    /// cache misses overlap instead of each stalling its own packet.
    #[inline]
    pub fn touch(&self, at: &mut Located) {
        at.entry = self.flow_index.touch(at.hash);
    }

    /// [`Self::add`] with the observation's probe located already.
    pub fn add_located(&mut self, capture: u16, o: &Observation, at: Option<&Located>) -> bool {
        let Some(at) = at else {
            return false;
        };
        let role = match (at.kind, &o.what) {
            (
                RoleKind::Error,
                What::Error {
                    v6,
                    ty,
                    code,
                    param,
                    quoted: Some(q),
                },
            ) => Role::Error(ErrorFacts {
                src: o.src,
                dst: o.dst,
                v6: *v6,
                ty: *ty,
                code: *code,
                param: *param,
                quoted_hop_limit: q.probe().hop_limit,
            }),
            (RoleKind::Reply, _) => Role::Reply,
            _ => Role::Request,
        };
        // A request's hop limit tells a traceroute's probes from a ping's.
        let hop_limit = match &role {
            Role::Request => o.hop_limit,
            Role::Error(e) => e.quoted_hop_limit,
            Role::Reply => u8::MAX,
        };
        match self.probe(at, hop_limit, &role, capture, o) {
            Slot::Detailed(index) => self.record(index, role, capture, o),
            Slot::Tallied | Slot::Untracked => {}
        }
        true
    }

    /// The detailed probe for (flow, n), created on first sight (also for a
    /// reply or error whose request was not captured) while the flow has
    /// fewer than its limit; beyond, the observation is tallied.
    fn probe(
        &mut self,
        at: &Located,
        hop_limit: u8,
        role: &Role,
        capture: u16,
        o: &Observation,
    ) -> Slot {
        if let Some((k, last_n, p)) = self.recent
            && last_n == at.n
            && k == at.hot
        {
            if hop_limit <= TRACEROUTE_MAX_HOPS
                && let Some(meta) = self.flow_index.get_mut(&at.hot, at.hash)
            {
                meta.traceroute = true;
            }
            return Slot::Detailed(p);
        }
        let found = self.lookup(at, hop_limit, role, capture, o);
        if let Slot::Detailed(p) = found {
            self.recent = Some((at.hot, at.n, p));
        }
        found
    }

    fn lookup(
        &mut self,
        at: &Located,
        hop_limit: u8,
        role: &Role,
        capture: u16,
        o: &Observation,
    ) -> Slot {
        let Located {
            hot,
            hash,
            n,
            entry: hint,
            ..
        } = *at;
        let flows = &mut self.flows;
        let max_flows = self.limits.max_flows;
        let found = self.flow_index.get_or_insert_hinted(hot, hash, hint, || {
            if flows.len() >= max_flows {
                return None;
            }
            // A new flow (rare): its key in full, found again.
            let key = probe_of(o)?.0.owned();
            let index = flows.len() as u32;
            flows.push(Flow {
                key,
                tallies: Few::None,
                traceroute: false,
            });
            Some(FlowMeta {
                index,
                probes: 0,
                traceroute: false,
                detailed_n: (u32::MAX, 0),
                latest_probe: None,
                tally: Tally::default(),
                latest: Latest::default(),
            })
        });
        let Some(meta) = found else {
            self.evicted.flows += 1;
            return Slot::Untracked;
        };
        meta.traceroute |= hop_limit <= TRACEROUTE_MAX_HOPS;
        let flow = meta.index;
        let maybe_detailed = (meta.detailed_n.0..=meta.detailed_n.1).contains(&n);
        if maybe_detailed && let Some(p) = detailed_probe(&self.probes, meta.latest_probe, n) {
            return Slot::Detailed(p);
        }
        let keep = if meta.traceroute {
            self.limits.detailed_per_traceroute
        } else {
            self.limits.detailed_per_flow
        };
        if meta.probes as usize >= keep {
            tally(
                meta,
                &mut self.flows,
                &mut self.waiters,
                &mut self.rtt_samples,
                &mut self.evicted,
                n,
                role,
                capture,
                o,
            );
            return Slot::Tallied;
        }
        if self.probes.len() >= self.limits.max_probes {
            self.evicted.probes += 1;
            return Slot::Untracked;
        }
        let p = self.probes.len();
        meta.detailed_n = (meta.detailed_n.0.min(n), meta.detailed_n.1.max(n));
        // Past the budget of sightings a probe is kept in its counts alone.
        let detail = (self.sightings_kept < self.limits.max_sightings).then(|| {
            self.details.push(ProbeDetail::default());
            (self.details.len() - 1) as u32
        });
        meta.probes += 1;
        self.probes.push(Probe {
            flow,
            n,
            request_sightings: 0,
            replies: 0,
            errors: 0,
            detail: detail.unwrap_or(NONE),
            earlier: meta.latest_probe.unwrap_or(NONE),
            sent_ts: 0,
            reply_ts: 0,
            sent_capture: 0,
            sent_hop_limit: 0,
            lowest_hop_limit: u8::MAX,
            flags: 0,
            reply_tunnel_src: None,
        });
        meta.latest_probe = Some(p as u32);
        Slot::Detailed(p)
    }

    fn record(&mut self, index: usize, role: Role, capture: u16, o: &Observation) {
        let cap = if self.sightings_kept < self.limits.max_sightings {
            self.limits.sightings_per_probe
        } else {
            0
        };
        let probe = &mut self.probes[index];
        match &role {
            Role::Request => {
                probe.request_sightings += 1;
                probe.lowest_hop_limit = probe.lowest_hop_limit.min(o.hop_limit);
                let nearer = o.hop_limit > probe.sent_hop_limit || probe.flags & SENT == 0;
                if nearer {
                    probe.sent_hop_limit = o.hop_limit;
                    if probe.flags & SENT == 0 || probe.sent_capture != capture {
                        probe.flags &= !REPLIED;
                        probe.reply_ts = 0;
                    }
                    probe.flags |= SENT;
                    (probe.sent_capture, probe.sent_ts) = (capture, o.ts_ns);
                }
            }
            Role::Reply => {
                probe.replies += 1;
                if let Some(outer) = o.outer {
                    probe.reply_tunnel_src = Some(outer.src);
                }
                if probe.flags & (SENT | REPLIED) == SENT && probe.sent_capture == capture {
                    probe.flags |= REPLIED;
                    probe.reply_ts = o.ts_ns;
                }
            }
            Role::Error(_) => probe.errors += 1,
        }
        if probe.detail == NONE {
            return;
        }
        let detail = probe.detail as usize;
        // Whether there is room is asked before the via is looked up: only
        // a sighting kept adds one.
        let d = &self.details[detail];
        let kept = match role {
            Role::Request => d.requests.len(),
            Role::Reply => d.replies.len(),
            Role::Error(_) => d.errors.len(),
        };
        if kept >= cap {
            self.evicted.sightings += 1;
            return;
        }
        let seen = Sighting {
            frame: o.frame,
            ts_ns: o.ts_ns,
            via: self.via_id(&o.link, o.outer.as_ref()),
            capture,
            hop_limit: o.hop_limit,
        };
        let d = &mut self.details[detail];
        match role {
            Role::Request => d.requests.push(seen),
            Role::Reply => d.replies.push(seen),
            Role::Error(e) => push_grown(&mut d.errors, e.seen(seen)),
        }
        self.sightings_kept += 1;
    }

    /// The id of a via, kept once: found by its fingerprint, then compared
    /// in full along the chain of vias with that fingerprint.
    fn via_id(&mut self, link: &LinkFacts, outer: Option<&Outer>) -> u32 {
        let next = self.vias.len() as u32;
        let print = fingerprint(link, outer);
        match self.via_first.get(&print) {
            None => {
                self.via_first.insert(print, next);
            }
            Some(&first) => {
                let mut at = first;
                loop {
                    let via = &self.vias[at as usize];
                    if via.link == *link && via.outer.as_ref() == outer {
                        return at;
                    }
                    match self.via_next[at as usize] {
                        NONE => break,
                        further => at = further,
                    }
                }
                // A via new to a fingerprint seen before: the chain's last.
                self.via_next[at as usize] = next;
            }
        }
        self.vias.push(Via {
            link: *link,
            outer: outer.copied(),
        });
        self.via_next.push(NONE);
        next
    }

    /// The link facts and tunnel header `s` was seen with; `s` must come
    /// from this table.
    pub fn via(&self, s: &Sighting) -> &Via {
        &self.vias[s.via as usize]
    }

    /// Lists every probe under its flow ([`Self::probes_of`], in order of
    /// first sight) and marks traceroute flows; the hot path leaves this for
    /// once at the end. Call before reading `flows`.
    pub fn group(&mut self) {
        let groups = self.probe_groups();
        self.group_with(groups);
    }

    /// The listing of [`Self::group`], made from a shared table: the
    /// conclusion makes it on one core while the topology is inferred on the
    /// other.
    pub fn probe_groups(&self) -> ProbeGroups {
        // One array for all flows, not one per flow.
        let (starts, by_flow) = super::group_by(
            &self.probes,
            self.flows.len(),
            |p| p.flow as usize,
            |i, _| i as u32,
        );
        ProbeGroups { starts, by_flow }
    }

    /// [`Self::group`] with the listing made already (by
    /// [`Self::probe_groups`] of this table as it is now).
    pub fn group_with(&mut self, groups: ProbeGroups) {
        debug_assert_eq!(groups.by_flow.len(), self.probes.len(), "stale groups");
        (self.flow_starts, self.by_flow) = (groups.starts, groups.by_flow);
        for meta in self.flow_index.values_mut() {
            let flow = &mut self.flows[meta.index as usize];
            flow.traceroute = meta.traceroute;
            flush(meta, flow);
        }
        self.evicted.waiting = self.waiters.overflowed;
    }

    /// Tallied requests still waiting for their answer.
    pub fn tallied_waiting(&self) -> impl Iterator<Item = Waiting> + '_ {
        self.waiters
            .unanswered(self.flow_index.values().map(|m| (m.index, &m.latest)))
    }

    /// The indices in `probes` of flow `flow`'s probes, in order of first
    /// sight, as of the last [`Self::group`].
    pub fn probes_of(&self, flow: usize) -> &[u32] {
        match (self.flow_starts.get(flow), self.flow_starts.get(flow + 1)) {
            (Some(&from), Some(&to)) => &self.by_flow[from as usize..to as usize],
            _ => &[],
        }
    }

    /// True when every probe is listed in its flow (see [`Self::group`]).
    pub fn is_grouped(&self) -> bool {
        self.by_flow.len() == self.probes.len()
    }

    pub fn detail(&self, probe: &Probe) -> Option<&ProbeDetail> {
        (probe.detail != NONE).then(|| &self.details[probe.detail as usize])
    }
}

/// The detailed probe numbered `n` among those `latest` leads through
/// (newest first: an answer is likelier to concern a recent probe).
fn detailed_probe(probes: &[Probe], latest: Option<u32>, n: u32) -> Option<usize> {
    let mut at = latest;
    while let Some(p) = at {
        let probe = probes.get(p as usize)?;
        if probe.n == n {
            return Some(p as usize);
        }
        at = (probe.earlier != NONE).then_some(probe.earlier);
    }
    None
}

/// What an observation is to its probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RoleKind {
    Request,
    Reply,
    Error,
}

/// The probe an observation concerns (flow, probe number) and what it is to
/// it; `None` for observations that concern no probe.
#[inline]
fn probe_of(o: &Observation) -> Option<(KeyRef<'_>, u32, RoleKind)> {
    let echo = |v6: bool| {
        if v6 {
            Protocol::Icmpv6Echo
        } else {
            Protocol::IcmpEcho
        }
    };
    let key = |protocol, src, dst, id| KeyRef {
        protocol,
        src,
        dst,
        id,
    };
    Some(match &o.what {
        What::EchoRequest { id, seq, .. } => (
            key(echo(o.src.is_ipv6()), &o.src, &o.dst, *id),
            u32::from(*seq),
            RoleKind::Request,
        ),
        What::EchoReply { id, seq, .. } => (
            key(echo(o.src.is_ipv6()), &o.dst, &o.src, *id),
            u32::from(*seq),
            RoleKind::Reply,
        ),
        What::Udp { sport, dport } => (
            key(Protocol::Udp, &o.src, &o.dst, 0),
            udp_probe_number(*sport, *dport),
            RoleKind::Request,
        ),
        What::Tcp {
            sport,
            dport,
            seq,
            ack,
            flags,
        } => {
            if flags & TCP_SYN != 0 && flags & TCP_ACK == 0 {
                (
                    key(Protocol::Tcp, &o.src, &o.dst, *dport),
                    tcp_probe_number(*sport, *seq),
                    RoleKind::Request,
                )
            } else if flags & (TCP_SYN | TCP_RST) != 0 {
                (
                    key(Protocol::Tcp, &o.dst, &o.src, *sport),
                    tcp_probe_number(*dport, ack.wrapping_sub(1)),
                    RoleKind::Reply,
                )
            } else {
                return None;
            }
        }
        What::Error {
            quoted: Some(q), ..
        } => {
            let (flow, n) = probe_of_quote(q.probe())?;
            (flow, n, RoleKind::Error)
        }
        _ => return None,
    })
}

/// An observation's probe ([`ProbeTable::locate`]): its flow's index key
/// and hash, its number and role.
#[derive(Clone, Copy)]
pub struct Located {
    hot: HotKey,
    hash: u64,
    n: u32,
    kind: RoleKind,
    /// Where [`ProbeTable::touch`] found the flow's state, if it did.
    entry: Option<u32>,
}

/// Counts an observation of a probe beyond the detailed ones of its flow.
#[allow(clippy::too_many_arguments)]
fn tally(
    meta: &mut FlowMeta,
    flows: &mut [Flow],
    waiters: &mut Waiters,
    samples: &mut RttSamples,
    evicted: &mut Evictions,
    n: u32,
    role: &Role,
    capture: u16,
    o: &Observation,
) {
    if meta.tally.capture != capture {
        flush(meta, &mut flows[meta.index as usize]);
        meta.tally.capture = capture;
    }
    let t = &mut meta.tally;
    match role {
        Role::Request => {
            if waiters.request(capture, meta.index, n, o.ts_ns, &mut meta.latest) {
                t.requests += 1;
                t.highest_hop = t.highest_hop.max(o.hop_limit);
            }
        }
        Role::Reply => {
            if let Answer::First(sent) =
                waiters.answer(capture, meta.index, n, o.ts_ns, &mut meta.latest)
            {
                match o.outer {
                    Some(outer) if outer.kind == crate::decode::TunnelKind::Isatap => {
                        t.answered_tunnel += 1;
                        t.tunnel_src.get_or_insert(outer.src);
                    }
                    _ => t.answered_native += 1,
                }
                let ms = o.ts_ns.saturating_sub(sent) as f32 / 1e6;
                if !samples.push(capture, meta.index, ms) {
                    evicted.rtt_samples += 1;
                }
            }
        }
        Role::Error(_) => {
            if let Answer::First(_) =
                waiters.answer(capture, meta.index, n, o.ts_ns, &mut meta.latest)
            {
                t.errors += 1;
            }
        }
    }
}

/// Moves a flow's current tally into its per-capture tallies.
fn flush(meta: &mut FlowMeta, flow: &mut Flow) {
    if meta.tally.is_empty() {
        return;
    }
    let capture = meta.tally.capture;
    match flow.tallies.iter_mut().find(|t| t.capture == capture) {
        Some(t) => t.merge(&meta.tally),
        None => flow.tallies.push(meta.tally),
    }
    meta.tally = Tally {
        capture,
        ..Tally::default()
    };
}

/// Pushes onto a list that most often holds one or two items: grown from
/// one, not four.
fn push_grown<T>(v: &mut Vec<T>, item: T) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len().max(1));
    }
    v.push(item);
}

fn udp_probe_number(sport: u16, dport: u16) -> u32 {
    (u32::from(sport) << 16) | u32::from(dport)
}

fn tcp_probe_number(sport: u16, seq: u32) -> u32 {
    (u32::from(sport) << 16) | (seq & 0xffff)
}

/// The probe a quoted packet was: flow key and probe number.
fn probe_of_quote(q: &QuotedIp) -> Option<(KeyRef<'_>, u32)> {
    let key = |protocol, id| KeyRef {
        protocol,
        src: &q.src,
        dst: &q.dst,
        id,
    };
    match q.protocol {
        PROTO_ICMPV6 if q.icmp_type == Some(128) => {
            let (id, seq) = q.echo?;
            Some((key(Protocol::Icmpv6Echo, id), u32::from(seq)))
        }
        PROTO_ICMPV4 if q.icmp_type == Some(8) => {
            let (id, seq) = q.echo?;
            Some((key(Protocol::IcmpEcho, id), u32::from(seq)))
        }
        PROTO_UDP => {
            let (sport, dport) = q.ports?;
            Some((key(Protocol::Udp, 0), udp_probe_number(sport, dport)))
        }
        PROTO_TCP => {
            let (sport, dport) = q.ports?;
            Some((
                key(Protocol::Tcp, dport),
                tcp_probe_number(sport, q.tcp_seq?),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn udp_probe(src: IpAddr, dst: IpAddr) -> Observation {
        Observation {
            frame: 1,
            ts_ns: 0,
            link: LinkFacts::default(),
            outer: None,
            src,
            dst,
            hop_limit: 1,
            what: What::Udp {
                sport: 40000,
                dport: 33434,
            },
        }
    }

    #[test]
    fn an_ipv4_flow_and_an_ipv6_flow_with_the_same_address_bits_stay_apart() {
        // 8000::a00:1 has the bits `addr_bits` gives 10.0.0.1.
        let v4 = |d| IpAddr::V4(Ipv4Addr::new(10, 0, 0, d));
        let v6 = |d| IpAddr::V6(Ipv6Addr::new(0x8000, 0, 0, 0, 0, 0, 0x0a00, d));
        assert_eq!(addr_bits_of(v4(1)), addr_bits_of(v6(1)));
        let mut table = ProbeTable::new(Limits::default());
        assert!(table.add(0, &udp_probe(v4(1), v4(2))));
        assert!(table.add(0, &udp_probe(v6(1), v6(2))));
        assert_eq!(table.flows.len(), 2);
        assert_eq!(table.flows[0].key.src, v4(1));
        assert_eq!(table.flows[1].key.src, v6(1));
    }

    #[test]
    fn each_answer_finds_its_own_detailed_probe_among_its_flows() {
        let a = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
        let b = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2));
        let echo = |src, dst, request: bool, id, seq| Observation {
            frame: u64::from(seq),
            ts_ns: i64::from(seq),
            link: LinkFacts::default(),
            outer: None,
            src,
            dst,
            hop_limit: 64,
            what: if request {
                What::EchoRequest { id, seq, len: 0 }
            } else {
                What::EchoReply { id, seq, len: 0 }
            },
        };
        let mut table = ProbeTable::new(Limits::default());
        // Two flows' first probes, interleaved; then the replies, the
        // second flow's first and each flow's newest first.
        for seq in 1..=4 {
            table.add(0, &echo(a, b, true, 7, seq));
            table.add(0, &echo(a, b, true, 8, seq));
        }
        for (id, seq) in [
            (8, 4),
            (8, 1),
            (7, 3),
            (7, 4),
            (8, 2),
            (7, 1),
            (7, 2),
            (8, 3),
        ] {
            table.add(0, &echo(b, a, false, id, seq));
        }
        // A reply past the numbers kept in detail is only counted.
        table.add(0, &echo(b, a, false, 7, 9));
        // A third flow keeps 1 and 3; a reply to 2, never sent, lies
        // between them and is a probe of its own.
        table.add(0, &echo(a, b, true, 9, 1));
        table.add(0, &echo(a, b, true, 9, 3));
        table.add(0, &echo(b, a, false, 9, 2));
        assert_eq!(table.probes.len(), 11);
        for probe in &table.probes {
            let id = table.flows[probe.flow as usize].key.id;
            let sent = !(id == 9 && probe.n == 2);
            let answered = id != 9 || probe.n == 2;
            assert_eq!(probe.request_sightings, u32::from(sent), "{id} {}", probe.n);
            assert_eq!(probe.replies, u32::from(answered), "{id} {}", probe.n);
        }
    }

    #[test]
    fn a_probe_and_a_sighting_stay_small() {
        // Tens of thousands of each are made early in a busy capture.
        assert!(
            size_of::<Probe>() <= 72,
            "a probe is {} bytes",
            size_of::<Probe>()
        );
        assert!(
            size_of::<Sighting>() <= 24,
            "a sighting is {} bytes",
            size_of::<Sighting>()
        );
    }

    #[test]
    fn a_probe_keeps_its_first_sightings_of_a_kind_and_counts_the_rest() {
        let a = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
        let b = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2));
        let limits = Limits {
            sightings_per_probe: 3,
            ..Limits::default()
        };
        let mut table = ProbeTable::new(limits);
        // The same request seen five times (a loop, or five capture points).
        for frame in 1..=5 {
            table.add(
                0,
                &Observation {
                    frame,
                    ts_ns: 0,
                    link: LinkFacts::default(),
                    outer: None,
                    src: a,
                    dst: b,
                    hop_limit: 64 - frame as u8,
                    what: What::EchoRequest {
                        id: 1,
                        seq: 1,
                        len: 0,
                    },
                },
            );
        }
        let probe = &table.probes[0];
        assert_eq!(probe.request_sightings, 5, "every sighting counted");
        assert_eq!(probe.lowest_hop_limit, 59);
        let kept = &table.detail(probe).expect("kept in detail").requests;
        let frames: Vec<u64> = kept.iter().map(|s| s.frame).collect();
        assert_eq!(frames, [1, 2, 3], "the first three kept");
        assert_eq!(table.evicted.sightings, 2, "the other two counted");
    }

    #[test]
    fn each_sighting_finds_its_own_via_among_those_of_one_fingerprint() {
        let a = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
        let b = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2));
        let outer = |ttl| Outer {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            ttl,
            kind: crate::decode::TunnelKind::Isatap,
        };
        let raw = LinkFacts {
            raw: true,
            ..LinkFacts::default()
        };
        // Vias that differ only where the fingerprint does not look (the
        // link being raw, the outer TTL), and one that repeats.
        let vias = [
            (LinkFacts::default(), Some(outer(64))),
            (raw, Some(outer(64))),
            (LinkFacts::default(), Some(outer(63))),
            (LinkFacts::default(), Some(outer(64))),
            (raw, None),
        ];
        assert_eq!(
            fingerprint(&vias[0].0, vias[0].1.as_ref()),
            fingerprint(&vias[2].0, vias[2].1.as_ref())
        );
        let mut table = ProbeTable::new(Limits::default());
        for (seq, (link, outer)) in (1..).zip(vias) {
            table.add(
                0,
                &Observation {
                    frame: u64::from(seq),
                    ts_ns: 0,
                    link,
                    outer,
                    src: a,
                    dst: b,
                    hop_limit: 64,
                    what: What::EchoRequest {
                        id: seq,
                        seq,
                        len: 0,
                    },
                },
            );
        }
        assert_eq!(table.vias.len(), 4, "the repeated via is kept once");
        for (probe, (link, outer)) in table.probes.iter().zip(vias) {
            let seen = &table.detail(probe).expect("kept in detail").requests[0];
            assert_eq!(*table.via(seen), Via { link, outer });
        }
    }

    fn addr_bits_of(a: IpAddr) -> u128 {
        super::super::addr_bits(&a)
    }
}

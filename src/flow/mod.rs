//! Correlation: decoded frames from every capture point become observations,
//! probes with their sightings, replies and errors ([`table`]), control-plane
//! facts ([`facts`]), and finally per-flow summaries ([`summary`]).
//!
//! Guarantees: packets are matched on the inner IPv6 (or IPv4) packet only;
//! outer headers, MACs and capture points are evidence about the path, and the
//! clocks of different captures are never compared.

pub mod facts;
pub mod observe;
pub mod summary;
pub mod table;

pub use facts::Facts;

/// Hash map for the hot tables: foldhash (fast, well mixed) with a fixed seed
/// so that iteration order, and therefore report order, is repeatable.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
pub use observe::{Observation, observe};
pub use summary::{FlowKind, FlowSummary, Verdict, summarize};
pub use table::{Limits, ProbeTable, Protocol};

use crate::capture::Frame;
use crate::decode::Decoded;

/// Everything gathered from all captures, before conclusions are drawn.
#[derive(Debug, Default)]
pub struct Correlator {
    pub table: ProbeTable,
    pub facts: Facts,
}

impl Correlator {
    pub fn new(limits: Limits) -> Correlator {
        Correlator {
            table: ProbeTable::new(limits),
            facts: Facts::default(),
        }
    }

    /// Takes one decoded frame of capture number `capture`.
    pub fn add(&mut self, capture: u16, frame: &Frame<'_>, decoded: &Decoded<'_>) {
        if decoded.ips.len() == 1
            && decoded.link.src_mac.is_none()
            && let Some(ip) = decoded.innermost()
            && ip.is_v6()
        {
            self.facts.add_raw_link_packet(capture, ip.src, ip.dst);
        }
        if let Some(o) = observe(capture, frame, decoded) {
            self.table.add(&o);
            self.facts.add(&o);
        }
    }
}

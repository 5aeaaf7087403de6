//! Correlation: decoded frames from every capture point become observations,
//! probes with their sightings, replies and errors ([`table`]), control-plane
//! facts ([`facts`]), and finally per-flow summaries ([`summary`]).
//!
//! Guarantees: packets are matched on the inner IPv6 (or IPv4) packet only;
//! outer headers, MACs and capture points are evidence about the path, and the
//! clocks of different captures are never compared.

pub mod facts;
pub mod few;
pub mod index;
pub mod observe;
pub mod pairs;
pub(crate) mod prefetch;
pub mod summary;
pub mod table;
pub mod tally;
mod warm;

pub use facts::Facts;

/// An address as one integer for hashing (a rare collision between an IPv4
/// and an IPv6 value only costs a comparison: equality is on the fields).
pub(crate) fn addr_bits(a: &IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => (1u128 << 127) | u128::from(u32::from(*v4)),
        IpAddr::V6(v6) => u128::from(*v6),
    }
}

/// `items` grouped by `group_of(item)` (each below `groups`), each group's
/// in the order given: the values `value(index, item)` and where each group
/// starts (`groups + 1` offsets, the last one the total). A counting sort:
/// two passes over the items and no allocation per group.
pub(crate) fn group_by<T, V: Copy + Default>(
    items: &[T],
    groups: usize,
    group_of: impl Fn(&T) -> usize,
    value: impl Fn(usize, &T) -> V,
) -> (Vec<u32>, Vec<V>) {
    let mut starts = vec![0u32; groups + 1];
    for item in items {
        starts[group_of(item) + 1] += 1;
    }
    for g in 1..starts.len() {
        starts[g] += starts[g - 1];
    }
    let mut next = starts.clone();
    let mut values = vec![V::default(); items.len()];
    for (i, item) in items.iter().enumerate() {
        let at = &mut next[group_of(item)];
        values[*at as usize] = value(i, item);
        *at += 1;
    }
    (starts, values)
}

/// Hash map for the hot tables: foldhash (fast, well mixed) with a fixed seed
/// so that iteration order, and therefore report order, is repeatable.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
use observe::What;
pub use observe::{Observation, observe};
pub use summary::{FlowKind, FlowSummary, Samples, Verdict, summarize, summarize_until};
pub use table::{Limits, ProbeTable, Protocol};

use std::net::IpAddr;

use crate::capture::Frame;
use crate::decode::{DecodeError, Decoded, decode};

pub mod quick;

/// What one frame contributes to the correlation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Observed(Observation),
    /// A native IPv6 packet on a MAC-less link (IP-HTTPS, tunnel interface).
    RawLink {
        src: IpAddr,
        dst: IpAddr,
    },
}

/// The few items that own memory (a quoted packet, a Router Advertisement's
/// lists, a neighbor) say so, so that a batch of the others is emptied
/// without a pass over them.
impl crate::capture::file::StageResult for Item {
    #[inline]
    fn holds_memory(&self) -> bool {
        // Every variant named: one added later needs a decision here.
        match self {
            Item::RawLink { .. } => false,
            Item::Observed(o) => match &o.what {
                What::EchoRequest { .. }
                | What::EchoReply { .. }
                | What::Udp { .. }
                | What::Tcp { .. }
                | What::RouterSolicit => false,
                What::Error { quoted, .. } => quoted.is_some(),
                What::RouterAdvert(_) | What::NeighborSolicit(_) | What::NeighborAdvert { .. } => {
                    true
                }
            },
        }
    }
}

/// How a frame decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoding {
    Clean,
    Malformed(DecodeError),
    /// A link type this tool does not decode.
    Unsupported,
}

/// The items of one frame: the fast path for common frames, the full decoder
/// for the rest. Needs no shared state, so it can run on another thread.
#[inline]
pub fn items_of(frame: &Frame<'_>, out: &mut Vec<Item>) -> Decoding {
    match quick::quick_into(frame, out) {
        quick::Fast::Irrelevant | quick::Fast::Observed => Decoding::Clean,
        quick::Fast::Slow => items_of_decoding(frame, out),
    }
}

/// The items of a frame the fast path left to the full decoder.
#[inline(never)]
fn items_of_decoding(frame: &Frame<'_>, out: &mut Vec<Item>) -> Decoding {
    let decoded = decode(frame);
    items_of_decoded(frame, &decoded, out);
    match decoded.error {
        None => Decoding::Clean,
        Some(e) if e.is_unsupported() => Decoding::Unsupported,
        Some(e) => Decoding::Malformed(e),
    }
}

/// The items of a frame already decoded.
pub fn items_of_decoded(frame: &Frame<'_>, decoded: &Decoded<'_>, out: &mut Vec<Item>) {
    if decoded.ips.len() == 1
        && decoded.link.src_mac.is_none()
        && let Some(ip) = decoded.innermost()
        && ip.is_v6()
    {
        out.push(Item::RawLink {
            src: ip.src,
            dst: ip.dst,
        });
    }
    if let Some(o) = observe(frame, decoded) {
        out.push(Item::Observed(o));
    }
}

/// Observations whose flow state is loaded together before they are added.
const TOUCH_RUN: usize = 16;

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

    /// Takes what a run of frames of capture number `capture` contributes, in order.
    pub fn add_items(&mut self, capture: u16, items: &[Item]) {
        // A run's flow state is asked for together first (see `ProbeTable::touch`).
        for run in items.chunks(TOUCH_RUN) {
            let mut located: [Option<table::Located>; TOUCH_RUN] = [const { None }; TOUCH_RUN];
            for (at, item) in located.iter_mut().zip(run) {
                if let Item::Observed(o) = item {
                    *at = self.table.locate(o);
                }
            }
            for at in located.iter_mut().flatten() {
                self.table.touch(at);
            }
            for (item, at) in run.iter().zip(&located) {
                self.add_located(capture, item, at.as_ref());
            }
        }
    }

    /// Takes what one frame of capture number `capture` contributes.
    pub fn add_item(&mut self, capture: u16, item: &Item) {
        let at = match item {
            Item::Observed(o) => self.table.locate(o),
            Item::RawLink { .. } => None,
        };
        self.add_located(capture, item, at.as_ref());
    }

    /// [`Self::add_item`] with the item's probe located already.
    fn add_located(&mut self, capture: u16, item: &Item, at: Option<&table::Located>) {
        match item {
            Item::Observed(o) => {
                self.table.add_located(capture, o, at);
                self.facts.add(capture, o);
            }
            Item::RawLink { src, dst } => self.facts.add_raw_link_packet(capture, *src, *dst),
        }
    }

    /// Does a little work ahead while the caller has nothing else to do
    /// ([`ProbeTable::warm`]); false when there is none.
    pub fn warm(&mut self) -> bool {
        self.table.warm()
    }

    /// Takes one decoded frame of capture number `capture`.
    pub fn add(&mut self, capture: u16, frame: &Frame<'_>, decoded: &Decoded<'_>) {
        let mut items = Vec::new();
        items_of_decoded(frame, decoded, &mut items);
        for item in items {
            self.add_item(capture, &item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Item, group_by};

    #[test]
    fn an_item_stays_within_128_bytes() {
        // Larger, the fast path builds each observation on the stack and
        // calls memcpy to put it into its batch, where up to 128 bytes the
        // compiler copies it inline (21 instructions a relevant frame).
        let size = std::mem::size_of::<Item>();
        assert!(size <= 128, "an item is {size} bytes");
    }

    #[test]
    fn only_items_that_own_memory_say_they_hold_it() {
        use super::observe::{Neighbor, Observation, What};
        use crate::capture::file::StageResult;
        use std::net::{IpAddr, Ipv6Addr};
        let a = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let item = |what| {
            Item::Observed(Observation {
                frame: 1,
                ts_ns: 0,
                link: Default::default(),
                outer: None,
                src: a,
                dst: a,
                hop_limit: 64,
                what,
            })
        };
        let neighbor = || {
            Box::new(Neighbor {
                target: Ipv6Addr::LOCALHOST,
                lladdr: None,
            })
        };
        let echo = What::EchoRequest {
            id: 1,
            seq: 1,
            len: 0,
        };
        let unquoting_error = What::Error {
            v6: true,
            ty: 1,
            code: 0,
            param: 0,
            quoted: None,
        };
        assert!(!Item::RawLink { src: a, dst: a }.holds_memory());
        assert!(!item(echo).holds_memory());
        assert!(!item(unquoting_error).holds_memory());
        assert!(item(What::NeighborSolicit(neighbor())).holds_memory());
        let advert = What::NeighborAdvert {
            neighbor: neighbor(),
            router: false,
        };
        assert!(item(advert).holds_memory());
    }

    #[test]
    fn group_by_keeps_each_groups_items_in_order_and_counts_empty_groups() {
        let items = [(2, 'a'), (0, 'b'), (2, 'c'), (0, 'd'), (3, 'e')];
        let (starts, values) = group_by(&items, 4, |&(g, _)| g, |i, &(_, c)| (i, c));
        assert_eq!(starts, [0, 2, 2, 4, 5]);
        assert_eq!(values, [(1, 'b'), (3, 'd'), (0, 'a'), (2, 'c'), (4, 'e')]);
        let (starts, values) = group_by(&[] as &[(usize, char)], 2, |&(g, _)| g, |i, _| i);
        assert_eq!((starts, values), (vec![0, 0, 0], vec![]));
    }
}

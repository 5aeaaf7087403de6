//! Probes of a flow beyond the ones kept in detail: counted per capture
//! instead of stored one by one, so a ping that runs for hours costs a few
//! counters, not a record per echo. Requests wait a while (of capture time)
//! for their reply in a small table; an answered one adds a round-trip time.
//!
//! Guarantees: state is bounded (the waiting table by age and size, the
//! round-trip samples by count); what does not fit is counted, never dropped
//! silently. A request seen twice in one capture is counted once.

use std::collections::VecDeque;
use std::net::IpAddr;

use super::FastMap;

/// How long a request waits for its reply, in capture time.
pub const REPLY_WINDOW_NS: i64 = 60_000_000_000;
/// Most requests waiting at once; beyond, the oldest stop waiting (counted).
pub const MAX_WAITING: usize = 1 << 20;
/// Most round-trip samples kept over all flows (counts and extremes go on).
pub const MAX_RTT_SAMPLES: usize = 1 << 22;

/// One flow's tallied probes in one capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub capture: u16,
    pub requests: u32,
    /// Highest hop limit a tallied request had here: nearest to the prober.
    pub highest_hop: u8,
    /// Requests answered natively, and through a tunnel (from `tunnel_src`).
    pub answered_native: u32,
    pub answered_tunnel: u32,
    pub tunnel_src: Option<IpAddr>,
    /// Requests an ICMP error answered.
    pub errors: u32,
}

impl Tally {
    pub fn is_empty(&self) -> bool {
        self.requests == 0 && self.answered_native + self.answered_tunnel + self.errors == 0
    }

    /// Adds `other` (of the same capture).
    pub fn merge(&mut self, other: &Tally) {
        self.requests += other.requests;
        self.highest_hop = self.highest_hop.max(other.highest_hop);
        self.answered_native += other.answered_native;
        self.answered_tunnel += other.answered_tunnel;
        self.tunnel_src = self.tunnel_src.or(other.tunnel_src);
        self.errors += other.errors;
    }
}

/// A round-trip time of a tallied probe.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RttSample {
    pub flow: u32,
    pub capture: u16,
    pub ms: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub flow: u32,
    pub ts_ns: i64,
}

/// What a reply or error found waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The request it answers (the first answer): its send time.
    First(i64),
    /// Answered already, or no such request waiting.
    Nothing,
}

/// Requests of the current capture waiting for their answer.
#[derive(Debug, Default)]
pub struct Waiters {
    map: FastMap<u64, Waiting>,
    queue: VecDeque<(i64, u64)>,
    capture: Option<u16>,
    /// Requests that stopped waiting early because the table was full.
    pub overflowed: u64,
}

impl Waiters {
    /// Starts over when the capture changes (clocks of captures differ).
    fn enter(&mut self, capture: u16) {
        if self.capture != Some(capture) {
            self.map.clear();
            self.queue.clear();
            self.capture = Some(capture);
        }
    }

    /// A request: false when it already waits (the same packet seen twice).
    pub fn request(&mut self, capture: u16, key: u64, flow: u32, ts_ns: i64) -> bool {
        self.enter(capture);
        if self.map.contains_key(&key) {
            return false;
        }
        while let Some(&(ts, old)) = self.queue.front() {
            let too_old = ts < ts_ns.saturating_sub(REPLY_WINDOW_NS);
            if !too_old && self.map.len() < MAX_WAITING {
                break;
            }
            self.queue.pop_front();
            if self.map.get(&old).is_some_and(|w| w.ts_ns == ts) {
                self.map.remove(&old);
                if !too_old {
                    self.overflowed += 1;
                }
            }
        }
        self.map.insert(key, Waiting { flow, ts_ns });
        self.queue.push_back((ts_ns, key));
        true
    }

    /// A reply or error for `key` in `capture`.
    pub fn answer(&mut self, capture: u16, key: u64) -> Answer {
        self.enter(capture);
        // Answered requests leave the table, which stays as small as the
        // number of requests in flight.
        match self.map.remove(&key) {
            Some(w) => Answer::First(w.ts_ns),
            None => Answer::Nothing,
        }
    }

    /// Unanswered requests still within their time.
    pub fn unanswered(&self) -> impl Iterator<Item = &Waiting> {
        self.map.values()
    }
}

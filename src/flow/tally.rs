//! Probes of a flow beyond the ones kept in detail: counted per capture
//! instead of stored one by one, so a ping that runs for hours costs a few
//! counters, not a record per echo. Requests wait a while (of capture time)
//! for their reply in a small table; an answered one adds a round-trip time.
//!
//! Guarantees: state is bounded (the waiting table by age and size, the
//! round-trip samples by count); what does not fit is counted, never dropped
//! silently. A request seen twice in one capture is counted once.

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
///
/// Answered requests leave at once, so the table holds the requests in
/// flight plus the unanswered ones of the last [`REPLY_WINDOW_NS`]; those past
/// their window are swept out whenever the table has doubled since the last
/// sweep, which keeps the cost per request constant without a queue.
#[derive(Debug, Default)]
pub struct Waiters {
    map: FastMap<u64, Waiting>,
    capture: Option<u16>,
    /// Table size that triggers the next sweep.
    sweep_at: usize,
    /// Requests that stopped waiting early because the table was full.
    pub overflowed: u64,
}

/// Smallest table size worth a sweep.
const SWEEP_MIN: usize = 4096;

/// Whether a request sent at `sent` may still be answered at `now`.
fn within_window(sent: i64, now: i64) -> bool {
    now.saturating_sub(sent) <= REPLY_WINDOW_NS
}

impl Waiters {
    /// Starts over when the capture changes (clocks of captures differ).
    fn enter(&mut self, capture: u16) {
        if self.capture != Some(capture) {
            self.map.clear();
            self.sweep_at = SWEEP_MIN;
            self.capture = Some(capture);
        }
    }

    /// A request: false when it already waits (the same packet seen twice).
    pub fn request(&mut self, capture: u16, key: u64, flow: u32, ts_ns: i64) -> bool {
        self.enter(capture);
        let waiting = Waiting { flow, ts_ns };
        match self.map.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                if within_window(e.get().ts_ns, ts_ns) {
                    return false;
                }
                // The same number again after its window: a new request.
                e.insert(waiting);
                return true;
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(waiting);
            }
        }
        if self.map.len() >= self.sweep_at {
            self.sweep(ts_ns);
        }
        true
    }

    /// Drops the requests past their window; when the table is still full,
    /// the oldest quarter stops waiting too (counted in `overflowed`).
    fn sweep(&mut self, now: i64) {
        self.map.retain(|_, w| within_window(w.ts_ns, now));
        if self.map.len() >= MAX_WAITING {
            let mut times: Vec<i64> = self.map.values().map(|w| w.ts_ns).collect();
            let quarter = times.len() / 4;
            let (_, &mut cutoff, _) = times.select_nth_unstable(quarter);
            let before = self.map.len();
            self.map.retain(|_, w| w.ts_ns > cutoff);
            self.overflowed += (before - self.map.len()) as u64;
        }
        self.sweep_at = (self.map.len() * 2).clamp(SWEEP_MIN, MAX_WAITING);
    }

    /// A reply or error for `key` in `capture`, seen at `ts_ns`.
    pub fn answer(&mut self, capture: u16, key: u64, ts_ns: i64) -> Answer {
        self.enter(capture);
        // Answered requests leave the table, which stays as small as the
        // number of requests in flight.
        match self.map.remove(&key) {
            Some(w) if within_window(w.ts_ns, ts_ns) => Answer::First(w.ts_ns),
            _ => Answer::Nothing,
        }
    }

    /// Unanswered requests (those past their window may linger until the next sweep).
    pub fn unanswered(&self) -> impl Iterator<Item = &Waiting> {
        self.map.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn a_request_waits_once_and_is_answered_once() {
        let mut w = Waiters::default();
        assert!(w.request(0, 7, 1, S));
        assert!(!w.request(0, 7, 1, S + 1), "the same packet seen twice");
        assert_eq!(w.answer(0, 7, 2 * S), Answer::First(S));
        assert_eq!(w.answer(0, 7, 2 * S), Answer::Nothing, "a duplicate reply");
    }

    #[test]
    fn an_answer_after_the_window_finds_nothing() {
        let mut w = Waiters::default();
        assert!(w.request(0, 1, 1, 0));
        assert_eq!(w.answer(0, 1, REPLY_WINDOW_NS + 1), Answer::Nothing);
        // The same number after the window is a new request.
        assert!(w.request(0, 2, 1, 0));
        assert!(w.request(0, 2, 1, REPLY_WINDOW_NS + 1));
        assert_eq!(
            w.answer(0, 2, REPLY_WINDOW_NS + 2),
            Answer::First(REPLY_WINDOW_NS + 1)
        );
    }

    #[test]
    fn another_capture_starts_over() {
        let mut w = Waiters::default();
        assert!(w.request(0, 1, 1, S));
        assert_eq!(w.answer(1, 1, S), Answer::Nothing);
        assert!(w.request(0, 1, 1, S));
    }

    #[test]
    fn old_requests_are_swept_and_a_full_table_sheds_its_oldest() {
        let mut w = Waiters::default();
        // Unanswered requests spread over ten windows: the table holds about
        // one window's worth, not all of them.
        let n = 100_000i64;
        for i in 0..n {
            w.request(0, i as u64, 0, i * (10 * REPLY_WINDOW_NS / n));
        }
        assert!(w.map.len() < 3 * n as usize / 10, "{} waiting", w.map.len());
        assert_eq!(w.overflowed, 0);
        // More requests within one window than the table takes: the oldest
        // stop waiting, counted; the newest still find their reply.
        let mut w = Waiters::default();
        let n = MAX_WAITING as u64 + 1000;
        for i in 0..n {
            w.request(0, i, 0, S + i as i64);
        }
        assert!(w.map.len() <= MAX_WAITING);
        assert!(w.overflowed > 0);
        assert_eq!(w.overflowed + w.map.len() as u64, n);
        assert_eq!(w.answer(0, n - 1, 2 * S), Answer::First(S + n as i64 - 1));
    }
}

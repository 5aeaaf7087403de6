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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

/// A round-trip time of a tallied probe (its capture: [`RttSamples`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RttSample {
    pub flow: u32,
    pub ms: f32,
}

/// Round-trip times of tallied probes, in the order they were taken, at
/// most [`MAX_RTT_SAMPLES`]. Captures are read one after another, so the
/// capture of each sample is kept once per run of samples from one capture,
/// not with every sample (8 bytes a sample instead of 12).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RttSamples {
    samples: Vec<RttSample>,
    /// The first sample of each run from one capture, and that capture.
    runs: Vec<(u32, u16)>,
}

impl RttSamples {
    /// Room for every sample the limit allows, reserved once (pages are
    /// backed only as they are written).
    pub fn reserved() -> RttSamples {
        RttSamples {
            samples: Vec::with_capacity(MAX_RTT_SAMPLES),
            runs: Vec::new(),
        }
    }

    /// Adds a sample of flow `flow` taken in capture `capture`; false when
    /// the limit is reached (the sample is not kept).
    #[inline]
    pub fn push(&mut self, capture: u16, flow: u32, ms: f32) -> bool {
        if self.samples.len() >= MAX_RTT_SAMPLES {
            return false;
        }
        if self.runs.last().is_none_or(|&(_, c)| c != capture) {
            self.runs.push((self.samples.len() as u32, capture));
        }
        self.samples.push(RttSample { flow, ms });
        true
    }

    /// Backs the next pages of the samples' reserved room (`flow/warm.rs`).
    pub fn warm(&mut self, warmed: &mut super::warm::Warmed) -> bool {
        warmed.step(&mut self.samples)
    }

    /// Every sample, in the order taken.
    pub fn samples(&self) -> &[RttSample] {
        &self.samples
    }

    /// The one capture every sample was taken in, when there is one.
    pub fn only_capture(&self) -> Option<u16> {
        match self.runs.as_slice() {
            [] => Some(0),
            [(_, capture)] => Some(*capture),
            _ => None,
        }
    }

    /// The capture sample number `at` was taken in.
    pub fn capture_of(&self, at: usize) -> u16 {
        let run = self
            .runs
            .partition_point(|&(first, _)| first as usize <= at);
        self.runs.get(run.wrapping_sub(1)).map_or(0, |&(_, c)| c)
    }
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

/// A flow's latest tallied request, kept in the flow's own entry: a ping
/// has one request in flight at a time, which then needs no table at all.
/// A newer request of the flow moves the older one to the shared table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latest {
    waiting: bool,
    /// Some request of the flow went to the shared table (in `epoch`).
    spilled: bool,
    /// The [`Waiters`] epoch (capture) the slot belongs to.
    epoch: u32,
    n: u32,
    ts_ns: i64,
}

/// Requests of the current capture waiting for their answer: each flow's
/// latest in its [`Latest`], older ones in a table keyed by flow and number.
///
/// Answered requests leave at once, so the table holds requests in flight
/// plus the unanswered ones of the last [`REPLY_WINDOW_NS`]; those past
/// their window are swept out whenever the table has doubled since the last
/// sweep, which keeps the cost per request constant without a queue.
#[derive(Debug, Default)]
pub struct Waiters {
    map: FastMap<u64, Waiting>,
    capture: Option<u16>,
    /// Counts the captures entered; [`Latest`] slots of an earlier one are void.
    epoch: u32,
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

/// The shared table's key of probe `n` of flow `flow`.
fn key(flow: u32, n: u32) -> u64 {
    (u64::from(flow) << 32) | u64::from(n)
}

impl Waiters {
    /// Starts over when the capture changes (clocks of captures differ).
    fn enter(&mut self, capture: u16) {
        if self.capture != Some(capture) {
            self.map.clear();
            self.sweep_at = SWEEP_MIN;
            self.capture = Some(capture);
            self.epoch += 1;
        }
    }

    /// Request `n` of `flow`, whose latest slot is `latest`: false when it
    /// already waits (the same packet seen twice).
    pub fn request(
        &mut self,
        capture: u16,
        flow: u32,
        n: u32,
        ts_ns: i64,
        latest: &mut Latest,
    ) -> bool {
        self.enter(capture);
        let current = latest.epoch == self.epoch;
        let latest_waits = current && latest.waiting && within_window(latest.ts_ns, ts_ns);
        if latest_waits && latest.n == n {
            return false;
        }
        let mut spilled = current && latest.spilled;
        if spilled
            && let Some(w) = self.map.get(&key(flow, n))
            && within_window(w.ts_ns, ts_ns)
        {
            return false;
        }
        if latest_waits {
            // A newer request while the latest still waits.
            self.insert(key(flow, latest.n), flow, latest.ts_ns);
            spilled = true;
        }
        *latest = Latest {
            waiting: true,
            spilled,
            epoch: self.epoch,
            n,
            ts_ns,
        };
        true
    }

    fn insert(&mut self, key: u64, flow: u32, ts_ns: i64) {
        self.map.insert(key, Waiting { flow, ts_ns });
        if self.map.len() >= self.sweep_at {
            self.sweep(ts_ns);
        }
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

    /// A reply or error for probe `n` of `flow` in `capture`, seen at `ts_ns`.
    pub fn answer(
        &mut self,
        capture: u16,
        flow: u32,
        n: u32,
        ts_ns: i64,
        latest: &mut Latest,
    ) -> Answer {
        self.enter(capture);
        if latest.epoch != self.epoch {
            return Answer::Nothing;
        }
        let sent = if latest.waiting && latest.n == n {
            latest.waiting = false;
            Some(latest.ts_ns)
        } else if latest.spilled {
            // Answered requests leave the table, which stays as small as
            // the number of requests in flight.
            self.map.remove(&key(flow, n)).map(|w| w.ts_ns)
        } else {
            None
        };
        match sent {
            Some(sent) if within_window(sent, ts_ns) => Answer::First(sent),
            _ => Answer::Nothing,
        }
    }

    /// Unanswered requests in the shared table and in the flows' `latest`
    /// slots (those past their window may linger until the next sweep).
    pub fn unanswered<'a>(
        &'a self,
        latest: impl Iterator<Item = (u32, &'a Latest)> + 'a,
    ) -> impl Iterator<Item = Waiting> + 'a {
        let own = latest
            .filter(|(_, l)| l.waiting && l.epoch == self.epoch)
            .map(|(flow, l)| Waiting {
                flow,
                ts_ns: l.ts_ns,
            });
        self.map.values().copied().chain(own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    /// One flow's requests and answers, with its own latest slot.
    struct Flow {
        id: u32,
        latest: Latest,
    }

    impl Flow {
        fn new(id: u32) -> Flow {
            Flow {
                id,
                latest: Latest::default(),
            }
        }
        fn request(&mut self, w: &mut Waiters, capture: u16, n: u32, ts: i64) -> bool {
            w.request(capture, self.id, n, ts, &mut self.latest)
        }
        fn answer(&mut self, w: &mut Waiters, capture: u16, n: u32, ts: i64) -> Answer {
            w.answer(capture, self.id, n, ts, &mut self.latest)
        }
    }

    #[test]
    fn each_sample_keeps_the_capture_it_was_taken_in() {
        let mut samples = RttSamples::reserved();
        let taken = [(0, 7), (0, 8), (2, 7), (2, 9), (2, 7), (0, 1), (5, 3)];
        for (i, &(capture, flow)) in taken.iter().enumerate() {
            assert!(samples.push(capture, flow, i as f32));
        }
        assert_eq!(samples.samples().len(), taken.len());
        for (at, (&(capture, flow), s)) in taken.iter().zip(samples.samples()).enumerate() {
            assert_eq!(samples.capture_of(at), capture, "sample {at}");
            assert_eq!((s.flow, s.ms), (flow, at as f32));
        }
    }

    #[test]
    fn samples_past_the_limit_are_refused() {
        let mut samples = RttSamples::reserved();
        for i in 0..MAX_RTT_SAMPLES {
            assert!(samples.push(u16::from(i >= MAX_RTT_SAMPLES / 2), 1, 2.0));
        }
        assert!(!samples.push(1, 1, 2.0));
        assert_eq!(samples.samples().len(), MAX_RTT_SAMPLES);
        assert_eq!(samples.capture_of(MAX_RTT_SAMPLES - 1), 1);
        assert_eq!(samples.capture_of(MAX_RTT_SAMPLES / 2 - 1), 0);
    }

    #[test]
    fn a_request_waits_once_and_is_answered_once() {
        let mut w = Waiters::default();
        let mut f = Flow::new(1);
        assert!(f.request(&mut w, 0, 7, S));
        assert!(
            !f.request(&mut w, 0, 7, S + 1),
            "the same packet seen twice"
        );
        assert_eq!(f.answer(&mut w, 0, 7, 2 * S), Answer::First(S));
        assert_eq!(
            f.answer(&mut w, 0, 7, 2 * S),
            Answer::Nothing,
            "a duplicate reply"
        );
        assert!(w.map.is_empty(), "one request at a time needs no table");
    }

    #[test]
    fn requests_in_flight_together_are_all_answered() {
        let mut w = Waiters::default();
        let mut f = Flow::new(3);
        for n in 0..5 {
            assert!(f.request(&mut w, 0, n, S + i64::from(n)));
        }
        assert!(
            !f.request(&mut w, 0, 2, S + 9),
            "an older request seen twice"
        );
        assert!(!f.request(&mut w, 0, 4, S + 9), "the latest seen twice");
        // Answered out of order, each once.
        for n in [3, 0, 4, 1, 2] {
            assert_eq!(
                f.answer(&mut w, 0, n, 2 * S),
                Answer::First(S + i64::from(n))
            );
            assert_eq!(f.answer(&mut w, 0, n, 2 * S), Answer::Nothing);
        }
        let mut other = Flow::new(4);
        assert_eq!(
            other.answer(&mut w, 0, 1, 2 * S),
            Answer::Nothing,
            "another flow's number"
        );
    }

    #[test]
    fn an_answer_after_the_window_finds_nothing() {
        let mut w = Waiters::default();
        let mut f = Flow::new(1);
        assert!(f.request(&mut w, 0, 1, 0));
        assert_eq!(f.answer(&mut w, 0, 1, REPLY_WINDOW_NS + 1), Answer::Nothing);
        // The same number after the window is a new request.
        assert!(f.request(&mut w, 0, 2, 0));
        assert!(f.request(&mut w, 0, 2, REPLY_WINDOW_NS + 1));
        assert_eq!(
            f.answer(&mut w, 0, 2, REPLY_WINDOW_NS + 2),
            Answer::First(REPLY_WINDOW_NS + 1)
        );
    }

    #[test]
    fn another_capture_starts_over() {
        let mut w = Waiters::default();
        let mut f = Flow::new(1);
        assert!(f.request(&mut w, 0, 1, S));
        assert!(f.request(&mut w, 0, 2, S));
        assert_eq!(f.answer(&mut w, 1, 1, S), Answer::Nothing);
        assert_eq!(f.answer(&mut w, 1, 2, S), Answer::Nothing);
        assert!(f.request(&mut w, 1, 1, S), "a new capture's request");
        assert_eq!(w.unanswered(std::iter::once((1, &f.latest))).count(), 1);
    }

    #[test]
    fn old_requests_are_swept_and_a_full_table_sheds_its_oldest() {
        // Unanswered requests of one flow spread over ten windows: the table
        // holds about one window's worth, not all of them.
        let mut w = Waiters::default();
        let mut f = Flow::new(0);
        let n = 100_000u32;
        for i in 0..n {
            f.request(
                &mut w,
                0,
                i,
                i64::from(i) * (10 * REPLY_WINDOW_NS / i64::from(n)),
            );
        }
        assert!(w.map.len() < 3 * n as usize / 10, "{} waiting", w.map.len());
        assert_eq!(w.overflowed, 0);
        // More requests within one window than the table takes: the oldest
        // stop waiting, counted; the newest still find their answer.
        let mut w = Waiters::default();
        let mut f = Flow::new(0);
        let n = MAX_WAITING as u32 + 1000;
        for i in 0..n {
            f.request(&mut w, 0, i, S + i64::from(i));
        }
        assert!(w.map.len() <= MAX_WAITING);
        assert!(w.overflowed > 0);
        let waiting = w.unanswered(std::iter::once((0, &f.latest))).count() as u64;
        assert_eq!(w.overflowed + waiting, u64::from(n));
        assert_eq!(
            f.answer(&mut w, 0, n - 2, 2 * S),
            Answer::First(S + i64::from(n) - 2)
        );
        assert_eq!(
            f.answer(&mut w, 0, n - 1, 2 * S),
            Answer::First(S + i64::from(n) - 1)
        );
    }
}

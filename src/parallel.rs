//! Work spread over the machine's cores for the stages after reading, which
//! look at every flow on its own (summaries, report entries).
//!
//! Guarantees: [`map`] and [`filter_map`] return exactly what their
//! sequential counterparts would, in the same order; small inputs stay on
//! the calling thread; a panic in a worker is raised again on the caller.
//! [`join`] runs two jobs at once; [`drop_aside`] frees off the caller's path.
//! [`Apart`] keeps two threads that work side by side on cores of their own
//! (a nudge to the scheduler, never a pin).

use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Items below which a worker thread does not pay for itself.
const MIN_PER_THREAD: usize = 2048;
/// Most threads used, whatever the machine.
const MAX_THREADS: usize = 8;

/// `f(index, item)` for every item, in order.
pub fn map<T, U, F>(items: &[T], f: F) -> Vec<U>
where
    T: Sync,
    U: Send,
    F: Fn(usize, &T) -> U + Sync,
{
    filter_map(items, |i, t| Some(f(i, t)))
}

/// The `Some` results of `f(index, item)` for every item, in order.
pub fn filter_map<T, U, F>(items: &[T], f: F) -> Vec<U>
where
    T: Sync,
    U: Send,
    F: Fn(usize, &T) -> Option<U> + Sync,
{
    let worth = items.len() / MIN_PER_THREAD;
    // Asking for the cores reads cgroup files: not for small inputs.
    let threads = if worth < 2 {
        1
    } else {
        cores().min(worth).min(MAX_THREADS)
    };
    let f = &f;
    if threads == 1 {
        return results(f, 0, items).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .skip(1)
            .map(|(n, part)| {
                s.spawn(move || {
                    // Room for every item's result at once: a filter's
                    // iterator gives no size, and growing by doubling would
                    // copy the results again and again into new memory.
                    let mut out = Vec::with_capacity(part.len());
                    out.extend(results(f, n * chunk, part));
                    out
                })
            })
            .collect();
        // The caller's own part goes straight into the result.
        let mut out = Vec::with_capacity(items.len());
        out.extend(results(f, 0, &items[..chunk]));
        for w in workers {
            match w.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// The cores this process may use, asked once: the standard library reads
/// cgroup files to answer, three opens and reads each time (0.15 ms).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

/// The `Some` results of `f` over `part`, whose first item has index `first`.
fn results<'a, T, U>(
    f: &'a (impl Fn(usize, &T) -> Option<U> + ?Sized),
    first: usize,
    part: &'a [T],
) -> impl Iterator<Item = U> + 'a {
    part.iter()
        .enumerate()
        .filter_map(move |(i, t)| f(first + i, t))
}

/// Runs `aside` on another thread while `here` runs on the caller's, and
/// returns both results; a panic in `aside` is raised again here.
pub fn join<A: Send, B>(aside: impl FnOnce() -> A + Send, here: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|s| {
        let worker = s.spawn(aside);
        let b = here();
        match worker.join() {
            Ok(a) => (a, b),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The cores of two threads that work side by side the whole time (the two
/// threads of a walk over a capture), each noted by its own thread: a thread
/// that finds itself on the other's core, once started or woken, moves off
/// it.
///
/// The kernel places a thread where it starts, and again where it wakes, by
/// how busy each core has been lately. Right after another program kept a
/// core busy (the replay benchmark runs tcpdump before each run) it put the
/// two on one core in a quarter to a third of the runs. Neither sleeps once
/// it has work, so they took turns there for 8-56 ms of a 130 ms run while
/// the other core idled, until the kernel moved one of them (seen with
/// `perf record -e sched:sched_switch`).
#[derive(Debug)]
pub struct Apart {
    cores: [AtomicUsize; 2],
}

/// No core noted yet.
const NO_CORE: usize = usize::MAX;

impl Apart {
    pub const fn new() -> Apart {
        Apart {
            cores: [AtomicUsize::new(NO_CORE), AtomicUsize::new(NO_CORE)],
        }
    }

    /// For thread `side` (0 or 1) once it has started or woken: moves it off
    /// the other thread's core if it runs there, and notes where it runs.
    pub fn settle(&self, side: usize) {
        debug_assert!(side < 2, "side {side} of two");
        let Some(mut core) = core_now() else {
            return;
        };
        if core == self.cores[1 - side].load(Ordering::Relaxed) {
            move_off(core);
            core = core_now().unwrap_or(core);
        }
        self.cores[side].store(core, Ordering::Relaxed);
    }
}

impl Default for Apart {
    fn default() -> Apart {
        Apart::new()
    }
}

/// The core the calling thread runs on now, where the system says.
fn core_now() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        nix::sched::sched_getcpu().ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Moves the calling thread off `core` when it may run elsewhere, then lets
/// it run anywhere again: a nudge, not a pin.
fn move_off(core: usize) {
    #[cfg(target_os = "linux")]
    {
        use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
        use nix::unistd::Pid;
        let me = Pid::from_raw(0);
        let Ok(allowed) = sched_getaffinity(me) else {
            return;
        };
        let mut elsewhere = allowed;
        if elsewhere.unset(core).is_err()
            || !(0..CpuSet::count()).any(|c| elsewhere.is_set(c) == Ok(true))
        {
            return;
        }
        // The kernel moves the thread before the call returns.
        if sched_setaffinity(me, &elsewhere).is_ok() {
            let _ = sched_setaffinity(me, &allowed);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = core;
}

/// Drops `value` on a thread of its own, so that the caller goes on (or
/// the process exits) without waiting for a large structure to be freed.
pub fn drop_aside<T: Send + 'static>(value: T) {
    // When no thread can be started, `spawn` drops the closure, and the
    // value with it, right here: the fallback is just the ordinary drop.
    let _ = std::thread::Builder::new().spawn(move || drop(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_map_keeps_the_order_of_what_it_keeps() {
        for n in [0, 5, 4096, 10_001] {
            let items: Vec<u64> = (0..n).collect();
            let expected: Vec<u64> = items
                .iter()
                .filter(|x| *x % 3 == 0)
                .map(|x| x * 2)
                .collect();
            let got = filter_map(&items, |_, &x| (x % 3 == 0).then_some(x * 2));
            assert_eq!(got, expected, "{n} items");
        }
    }

    #[test]
    fn join_returns_both_results_and_raises_the_other_threads_panic() {
        assert_eq!(join(|| 6 * 7, || "here"), (42, "here"));
        let caught = std::panic::catch_unwind(|| join(|| panic!("aside failed"), || 1));
        assert!(caught.is_err());
    }

    #[test]
    fn same_as_a_sequential_map_at_every_size() {
        for n in [0, 1, 2047, 2048, 4096, 10_001, 50_000] {
            let items: Vec<u64> = (0..n).map(|i| i * 7 + 3).collect();
            let expected: Vec<(usize, u64)> = items.iter().map(|&x| x * x).enumerate().collect();
            assert_eq!(map(&items, |i, &x| (i, x * x)), expected, "{n} items");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_thread_on_the_other_ones_core_moves_off_it_and_may_still_run_anywhere() {
        use nix::sched::{CpuSet, sched_getaffinity};
        use nix::unistd::Pid;
        let me = Pid::from_raw(0);
        let allowed = sched_getaffinity(me).expect("the thread's cores");
        let cores = (0..CpuSet::count())
            .filter(|&c| allowed.is_set(c) == Ok(true))
            .count();
        if cores < 2 {
            eprintln!("skipped: this process may run on {cores} core only, nowhere to move to");
            return;
        }
        let apart = Apart::new();
        // The other side noted this thread's core as its own.
        let here = core_now().expect("the current core");
        apart.cores[0].store(here, Ordering::Relaxed);
        apart.settle(1);
        let noted = apart.cores[1].load(Ordering::Relaxed);
        assert_ne!(noted, here, "still noted on the other side's core");
        assert_eq!(core_now(), Some(noted), "noted where it runs");
        assert_eq!(sched_getaffinity(me).ok(), Some(allowed), "left pinned");
        // Away from the other side's core it stays where it is.
        apart.cores[0].store(NO_CORE, Ordering::Relaxed);
        let before = core_now();
        apart.settle(1);
        assert_eq!(Some(apart.cores[1].load(Ordering::Relaxed)), before);
    }

    #[test]
    #[should_panic(expected = "item 30000")]
    fn a_panic_in_a_worker_reaches_the_caller() {
        let items: Vec<u32> = (0..40_000).collect();
        map(&items, |_, &x| {
            if x == 30_000 {
                panic!("item {x}");
            }
            x
        });
    }
}

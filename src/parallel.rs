//! Work spread over the machine's cores for the stages after reading, which
//! look at every flow on its own (summaries, report entries).
//!
//! Guarantees: [`map`] and [`filter_map`] return exactly what their
//! sequential counterparts would, in the same order; small inputs stay on
//! the calling thread; a panic in a worker is raised again on the caller.
//! [`join`] runs two jobs at once; [`drop_aside`] frees off the caller's path.

use std::num::NonZeroUsize;
use std::sync::OnceLock;

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

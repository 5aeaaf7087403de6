//! A hint to the processor to start loading a value's cache lines now, for
//! a use a little later: the flow index asks for the state of a run of
//! packets' flows this way before adding them, the summaries for the
//! probes of the next flows, and the caller of a split walk for the headers
//! of the frames a little further on in a buffer the reading thread read,
//! so that cache misses overlap instead of each stalling its own packet or
//! flow.
//!
//! Guarantees: a hint only. It reads nothing into the program, changes
//! nothing and cannot fault, whatever the address; on processors other than
//! x86-64 it does nothing. This is the crate's second and last `unsafe`
//! code (`tests/unsafe_audit.rs`): the standard library offers the
//! instruction only as an `unsafe` intrinsic. A plain load instead (what
//! this replaced) waits for the line: on the 2-million-frame replay the
//! caller's thread stalled there for 4 % of the run's CPU time, and the
//! replay took 224 ms instead of 207 (median of 12 alternating runs).

#![allow(unsafe_code)]

/// Size of a cache line on the processors this is built for.
const LINE: usize = 64;

/// Starts loading every cache line of `value`, without waiting for them.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let start: *const i8 = (value as *const T).cast();
        for line in 0..size_of::<T>().div_ceil(LINE) {
            // SAFETY: PREFETCHT0 only hints at a line to load: it reads
            // nothing into a register, writes nothing and never faults,
            // even for an address outside the program's memory (this one
            // is inside `value`). Its one requirement, SSE, is part of
            // every x86-64 processor.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(line * LINE)) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

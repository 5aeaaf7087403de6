//! Memory for the probe table's reserved arrays, asked for ahead of use.
//!
//! The arrays are reserved at their limits and backed by the kernel page by
//! page as they fill; the first write to each page waits while the kernel
//! zeroes it (on the project's virtual machine about 1 ms a megabyte, a
//! fifth of the correlating thread's time on the 2-million-frame replay).
//! When that thread would otherwise wait for the reading thread, it writes
//! to the next pages of each array instead, so that the packets that later
//! fill them find them backed.
//!
//! Guarantees: only the room past an array's length is written, with zeroed
//! `MaybeUninit` values that the array never reads (its length is not
//! changed); past the length, at most as much as the array holds and at
//! most [`AHEAD`] bytes are backed this way (so a small capture backs next
//! to nothing), [`STEP`] bytes a call, and never past the room reserved (an
//! array is never grown by it).

use std::mem::MaybeUninit;

/// Bytes past an array's length backed ahead at most.
pub const AHEAD: usize = 1 << 20;
/// Bytes backed a call: a few tens of microseconds, even where each page
/// costs the kernel a fault and a zeroing.
pub const STEP: usize = 64 << 10;
const PAGE: usize = 4096;

/// How far into an array's reserved room pages are backed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Warmed {
    /// Elements (from the start of the array) whose pages are backed.
    upto: usize,
}

impl Warmed {
    /// Backs the next [`STEP`] bytes of `v`'s reserved room, unless as much
    /// as `v` holds, or [`AHEAD`] bytes, past its length are backed already,
    /// or the room is all backed; whether it did.
    pub fn step<T>(&mut self, v: &mut Vec<T>) -> bool {
        let size = size_of::<T>().max(1);
        let len = v.len();
        let from = self.upto.max(len);
        let wanted = (len + (AHEAD / size).min(len)).min(v.capacity());
        if from >= wanted {
            return false;
        }
        let to = (from + STEP / size).min(wanted);
        // One write a page is enough for the kernel to back it.
        let stride = (PAGE / size).max(1);
        for slot in v.spare_capacity_mut()[from - len..to - len]
            .iter_mut()
            .step_by(stride)
        {
            *slot = MaybeUninit::zeroed();
        }
        self.upto = to;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_room_ahead_in_steps_without_touching_the_contents() {
        let mut v: Vec<u64> = Vec::with_capacity(AHEAD / 8 * 4);
        let mut warmed = Warmed::default();
        // An empty array gets nothing ahead; a small one as much as it holds.
        assert!(!warmed.step(&mut v));
        v.extend([1, 2, 3]);
        assert!(warmed.step(&mut v));
        assert_eq!(warmed.upto, 6);
        assert!(!warmed.step(&mut v));
        // A larger one AHEAD bytes past its length, STEP bytes at a time.
        let held = AHEAD / 8 + 5;
        v.resize(held, 1);
        let mut steps = 0;
        while warmed.step(&mut v) {
            steps += 1;
        }
        assert_eq!(steps, (AHEAD / 8).div_ceil(STEP / 8));
        assert_eq!(warmed.upto, held + AHEAD / 8);
        assert_eq!(v.len(), held);
        assert!(v.iter().skip(3).all(|&x| x == 1));
        // As the array fills, more is backed, never past its room.
        v.resize(v.capacity() - 10, 7);
        assert!(warmed.step(&mut v));
        while warmed.step(&mut v) {}
        assert_eq!(warmed.upto, v.capacity());
        assert_eq!(v.capacity(), AHEAD / 8 * 4);
        assert_eq!(&v[..3], [1, 2, 3]);
        assert!(v[3..held].iter().all(|&x| x == 1));
        assert!(v[held..].iter().all(|&x| x == 7));
    }

    #[test]
    fn an_array_without_room_is_left_alone() {
        let mut v: Vec<u32> = Vec::new();
        assert!(!Warmed::default().step(&mut v));
        assert_eq!(v.capacity(), 0);
    }
}

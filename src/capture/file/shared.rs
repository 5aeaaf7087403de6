//! A plain capture file read by both threads of a split walk.
//!
//! Copying the file out of the page cache is most of the reading thread's
//! work, and while the reading thread copies, the caller often has nothing
//! to do. Here the file is cut into stretches of [`STRETCH`] bytes at fixed
//! offsets, which either thread claims in turn and reads with a positioned
//! read: the caller reads, frames and decodes a stretch of its own whenever
//! no batch is waiting for it, and the copies of the two threads overlap.
//! The reading thread sends only results (it hands no stretch over whole:
//! its one buffer stays in its cache).
//!
//! Framing has to go in file order (a record runs on from one stretch into
//! the next, and an interface block changes how later packets are framed),
//! so each stretch is framed by the thread that read it, one stretch after
//! the other, under one lock: the bytes of the record left incomplete at
//! the end of a stretch go into the headroom in front of the next one.
//!
//! Guarantees: every stretch is framed once and in order, and every record
//! is framed whole. The caller sees every result in file order: the results
//! of a stretch of its own after those of every earlier stretch of the
//! reading thread and before any of a later one (each batch says which
//! stretches it completes, [`Batch::before`]). Damage, a failed read or the
//! end of the data ends the framing; stretches claimed after that are
//! dropped unframed.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};

use super::{
    BATCH_BYTES, BATCH_RESULTS, Batch, Between, Consumer, Damage, Frame, Framed, Framer, Outlet,
    ProgressHook, Reading, SPLIT_BATCHES, StageResult, end_damage, ended, fill, frame_list,
    frame_records, stage_frames, wait_for,
};

/// Bytes of file in a stretch: the size of the stream buffer, small enough
/// to stay in the reading core's L2 cache between the read and the framing.
const STRETCH: usize = super::STREAM_BYTES;
/// Room in front of a stretch's bytes for the start of a record that began
/// in the stretch before (a longer one gets a buffer of its own).
const HEADROOM: usize = 64 << 10;

/// The stretches of one file and the framing they share.
pub(super) struct Stretches {
    file: File,
    /// File offset of the first stretch (the first record).
    start: u64,
    /// The next stretch to claim.
    claimed: AtomicU64,
    /// Stretches framed so far: whose turn it is to frame.
    framed: AtomicU64,
    /// Set once framing has ended; later claims find nothing.
    over: AtomicBool,
    /// File offset framing has reached, for progress.
    reached: AtomicU64,
    framing: Mutex<Framing>,
}

/// What framing carries from one stretch to the next.
struct Framing {
    framer: Framer,
    /// Bytes of the record left incomplete at the end of the last stretch.
    carry: Vec<u8>,
    /// File offset of the first byte of `carry`.
    offset: u64,
    /// Set once framing has ended, with the damage that ended it.
    end: Option<Option<Damage>>,
}

/// A stretch claimed and read, in the buffer of the thread that claimed it.
struct Stretch {
    number: u64,
    /// `HEADROOM` bytes, then the stretch's bytes.
    buf: Vec<u8>,
    read: usize,
    failure: Option<io::Error>,
}

/// How the bytes of a stretch are framed: given the framer and the bytes
/// (`data`, from `*pos` to its end).
type FrameWith<'f> = &'f mut dyn FnMut(&mut Framer, &[u8], &mut usize) -> Framed;

impl Stretches {
    pub(super) fn new(file: File, framer: Framer, start: u64) -> Stretches {
        Stretches {
            file,
            start,
            claimed: AtomicU64::new(0),
            framed: AtomicU64::new(0),
            over: AtomicBool::new(false),
            reached: AtomicU64::new(start),
            framing: Mutex::new(Framing {
                framer,
                carry: Vec::new(),
                offset: start,
                end: None,
            }),
        }
    }

    /// Whether framing has ended.
    fn over(&self) -> bool {
        self.over.load(Ordering::Acquire)
    }

    /// File offset framing has reached.
    fn reached(&self) -> u64 {
        self.reached.load(Ordering::Relaxed)
    }

    /// Claims the next stretch: the claimer then [`Self::read`]s and
    /// [`Self::frame`]s it, even once framing is over, or later stretches
    /// never get their turn.
    fn claim(&self) -> u64 {
        self.claimed.fetch_add(1, Ordering::Relaxed)
    }

    /// Reads stretch `number` into `buf` (nothing once framing is over).
    fn read(&self, number: u64, mut buf: Vec<u8>) -> Stretch {
        if buf.len() < HEADROOM + STRETCH {
            buf.resize(HEADROOM + STRETCH, 0);
        }
        let (read, failure) = if self.over() {
            (0, None)
        } else {
            let at = self.start + number * STRETCH as u64;
            let mut file = ReadAt {
                file: &self.file,
                at,
            };
            fill(&mut file, &mut buf[HEADROOM..HEADROOM + STRETCH])
        };
        Stretch {
            number,
            buf,
            read,
            failure,
        }
    }

    /// Whether the stretches before `number` are framed.
    fn is_turn(&self, number: u64) -> bool {
        self.framed.load(Ordering::Acquire) == number
    }

    /// Frames `stretch` once the stretches before it are framed (waiting
    /// for that with `wait`, which is called again and again until then):
    /// puts the carried bytes in front of it and calls `frame` on them.
    /// False when framing was already over and the stretch was dropped. The turn
    /// passes on however this ends, a panic included (which ends framing).
    fn frame(&self, stretch: &mut Stretch, mut wait: impl FnMut(), frame: FrameWith<'_>) -> bool {
        let _turn = Turn {
            stretches: self,
            number: stretch.number,
        };
        while !self.is_turn(stretch.number) {
            wait();
        }
        // Poisoned: the other thread panicked while framing.
        let Ok(mut guard) = self.framing.lock() else {
            return false;
        };
        let f = &mut *guard;
        let framed = f.end.is_none();
        if framed {
            frame_stretch(f, stretch, frame);
        }
        if f.end.is_some() {
            self.over.store(true, Ordering::Release);
        }
        self.reached.store(f.offset, Ordering::Relaxed);
        framed
    }

    /// The framer, with its counts, and the damage that ended the walk.
    fn into_end(self) -> (Framer, Option<Damage>) {
        let f = match self.framing.into_inner() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        (f.framer, f.end.flatten())
    }
}

/// Passes the turn to frame on to the next stretch when dropped.
struct Turn<'s> {
    stretches: &'s Stretches,
    number: u64,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.stretches.over.store(true, Ordering::Release);
        }
        self.stretches
            .framed
            .store(self.number + 1, Ordering::Release);
    }
}

/// Frames a stretch after the carried bytes.
fn frame_stretch(f: &mut Framing, stretch: &mut Stretch, frame: FrameWith<'_>) {
    let carried = f.carry.len();
    let mut end = HEADROOM + stretch.read;
    let begin = if carried <= HEADROOM {
        stretch.buf[HEADROOM - carried..HEADROOM].copy_from_slice(&f.carry);
        HEADROOM - carried
    } else {
        // A record longer than the headroom: the stretch moves in behind it.
        let mut joined = Vec::with_capacity(carried + stretch.read);
        joined.extend_from_slice(&f.carry);
        joined.extend_from_slice(&stretch.buf[HEADROOM..end]);
        stretch.buf = joined;
        end = stretch.buf.len();
        0
    };
    let mut pos = begin;
    let framed = frame(&mut f.framer, &stretch.buf[..end], &mut pos);
    f.offset += (pos - begin) as u64;
    f.carry.clear();
    f.carry.extend_from_slice(&stretch.buf[pos..end]);
    let (_, damage) = ended(framed, &f.framer, f.offset);
    let at_end = stretch.read < STRETCH || stretch.failure.is_some();
    if damage.is_some() {
        f.end = Some(damage);
    } else if at_end {
        let failure = stretch.failure.take();
        f.end = Some(end_damage(&f.framer, failure, f.carry.len(), f.offset));
    }
}

/// A file read from a position of its own (the file's cursor untouched).
struct ReadAt<'f> {
    file: &'f File,
    at: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_at(self.file, buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

#[cfg(not(any(unix, windows)))]
fn read_at(_: &File, _: &mut [u8], _: u64) -> io::Result<usize> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// The split walk over a plain file: the reading thread runs
/// [`read_stretches`], the caller takes its batches and, when none is
/// waiting, a stretch of its own. Returns the framer, the damage that ended
/// the walk and both stages.
pub(super) fn walk<T, S, L>(
    stretches: Stretches,
    progress: Option<ProgressHook>,
    stage: S,
    mut caller_stage: L,
    consumer: &mut impl Consumer<T>,
) -> (Framer, Option<Damage>, S, L)
where
    T: Send + StageResult,
    S: FnMut(&Frame<'_>, &mut Vec<T>) + Send,
    L: FnMut(&Frame<'_>, &mut Vec<T>),
{
    let between = &Between::default();
    let shared = &stretches;
    let stage = std::thread::scope(|s| {
        let reading = Reading::start(
            s,
            SPLIT_BATCHES,
            BATCH_RESULTS,
            progress,
            between,
            |outlet| {
                let mut stage = stage;
                read_stretches(shared, &mut stage, outlet);
                stage
            },
        );
        let full_rx = &reading.full;
        let caller = Caller {
            stretches: shared,
            free: &reading.free,
            between,
        };
        // The caller's own stretch (its bytes, packets and results), and the
        // number of the stretch whose results it holds, not consumed yet.
        let mut own = Batch::unmade();
        let mut own_number = None;
        loop {
            let batch = match full_rx.try_recv() {
                Ok(batch) => batch,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    if own_number.is_none() && !shared.over() {
                        own_number =
                            caller.own_stretch(&mut own, full_rx, &mut caller_stage, consumer);
                        continue;
                    }
                    if consumer.idle() {
                        continue;
                    }
                    match wait_for(full_rx, between) {
                        Some(batch) => batch,
                        None => break,
                    }
                }
            };
            let before = caller.take(batch, consumer);
            if own_number.is_some_and(|n| n < before) {
                own_number = None;
                consume_own(&mut own, consumer);
            }
        }
        // The reading thread has sent all it made.
        if own_number.is_some() {
            consume_own(&mut own, consumer);
        }
        reading.finish()
    });
    let (framer, damage) = stretches.into_end();
    (framer, damage, stage, caller_stage)
}

fn consume_own<T>(own: &mut Batch<T>, consumer: &mut impl Consumer<T>) {
    consumer.consume(&own.out.items);
    own.out.empty();
}

/// Results of a batch the caller consumes at a time while its own stretch
/// waits for its turn: about 25 µs of correlating, where a whole batch is
/// about 300 µs.
const TAKE_SLICE: usize = 512;

/// The caller's side of a walk over stretches.
struct Caller<'w, T> {
    stretches: &'w Stretches,
    free: &'w SyncSender<Batch<T>>,
    between: &'w Between,
}

impl<T: StageResult> Caller<'_, T> {
    /// Consumes a batch of the reading thread's results and gives it back;
    /// the stretches it completes ([`Batch::before`]).
    fn take(&self, batch: Batch<T>, consumer: &mut impl Consumer<T>) -> u64 {
        self.between.waiting.fetch_sub(1, Ordering::Relaxed);
        consumer.consume(&batch.out.items);
        self.give_back(batch)
    }

    /// Gives a consumed batch back; the stretches it completes.
    fn give_back(&self, batch: Batch<T>) -> u64 {
        let before = batch.before;
        // The reader may have finished; a batch it no longer wants is dropped.
        let _ = self.free.send(batch);
        before
    }

    /// Consumes up to `most` more results of the batch in `taking` (with how
    /// many are consumed already); once all are, gives it back and returns
    /// the stretches it completes.
    fn consume_some(
        &self,
        taking: &mut Option<(Batch<T>, usize)>,
        most: usize,
        consumer: &mut impl Consumer<T>,
    ) -> Option<u64> {
        let (batch, done) = taking.as_mut()?;
        let items = &batch.out.items;
        let end = done.saturating_add(most).min(items.len());
        consumer.consume(&items[*done..end]);
        *done = end;
        if end < items.len() {
            return None;
        }
        let (batch, _) = taking.take()?;
        Some(self.give_back(batch))
    }

    /// Claims, reads, frames and decodes the next stretch into `own`; the
    /// stretch's number when its results wait in `own` for the reading
    /// thread's batch that completes the stretches before it. While the
    /// stretch waits for its turn to be framed, the caller goes on taking
    /// batches, so that the reading thread never waits for room to send,
    /// until one completes the stretches before this one: the batches after
    /// it may hold later stretches, and this one's results go first. It
    /// consumes them [`TAKE_SLICE`] results at a time, and frames its
    /// stretch as soon as the turn comes, the rest of the batch after: the
    /// reading thread's next stretch may be waiting for this one.
    fn own_stretch<L>(
        &self,
        own: &mut Batch<T>,
        full: &Receiver<Batch<T>>,
        caller_stage: &mut L,
        consumer: &mut impl Consumer<T>,
    ) -> Option<u64>
    where
        L: FnMut(&Frame<'_>, &mut Vec<T>),
    {
        let number = self.stretches.claim();
        let mut stretch = self.stretches.read(number, std::mem::take(&mut own.data));
        let frames = &mut own.frames;
        frames.clear();
        let mut waited = 0u32;
        let mut earlier_taken = false;
        // A batch taken while the stretch waits, and how much of it is
        // consumed: a slice at a time, so that when the turn comes the
        // stretch is framed at once (the reading thread may be waiting for
        // it) and the rest of the batch consumed after.
        let mut taking: Option<(Batch<T>, usize)> = None;
        let framed = self.stretches.frame(
            &mut stretch,
            || {
                if taking.is_none()
                    && !earlier_taken
                    && let Ok(batch) = full.try_recv()
                {
                    self.between.waiting.fetch_sub(1, Ordering::Relaxed);
                    taking = Some((batch, 0));
                }
                if taking.is_none() {
                    pause(&mut waited);
                } else if let Some(before) = self.consume_some(&mut taking, TAKE_SLICE, consumer) {
                    earlier_taken = before > number;
                }
            },
            &mut |framer, data, pos| frame_list(framer, data, pos, frames),
        );
        if let Some(before) = self.consume_some(&mut taking, usize::MAX, consumer) {
            earlier_taken = before > number;
        }
        own.data = stretch.buf;
        if !framed || own.frames.is_empty() {
            return None;
        }
        stage_frames(own, caller_stage);
        if earlier_taken {
            consume_own(own, consumer);
            return None;
        }
        Some(number)
    }
}

/// Waits a little for the other thread: a spin at first, then giving up
/// the core.
fn pause(waited: &mut u32) {
    *waited += 1;
    if *waited < 256 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// The reading thread of a walk over stretches: claims and reads the next
/// stretch, frames it at its turn and runs the stage on each packet, sending
/// the results on as [`super::stream_batches`] does. (It never hands a
/// stretch over whole: the caller reads its own instead, and this thread's
/// buffer stays in its cache.) Whenever the caller has taken stretches since
/// this thread's last one, what this thread made before them goes out
/// first, so that the caller can consume its own.
fn read_stretches<T, S>(stretches: &Stretches, stage: &mut S, mut outlet: Outlet<'_, T>)
where
    T: StageResult,
    S: FnMut(&Frame<'_>, &mut Vec<T>),
{
    let Some(mut batch) = outlet.get() else {
        return;
    };
    let mut buf = Vec::new();
    let mut batch_bytes = 0usize;
    let mut next = 0u64;
    loop {
        let number = stretches.claim();
        if number > next {
            batch.before = number;
            if !outlet.pass(&mut batch, stretches.reached()) {
                return;
            }
            batch_bytes = 0;
        }
        next = number + 1;
        let mut stretch = stretches.read(number, std::mem::take(&mut buf));
        let mut waited = 0u32;
        let mut gone = false;
        stretches.frame(
            &mut stretch,
            || pause(&mut waited),
            &mut |framer, data, pos| loop {
                let from = *pos;
                let framed =
                    frame_records(framer, data, pos, data.len(), stage, None, &mut batch.out);
                batch_bytes += *pos - from;
                if !matches!(framed, Framed::Full) {
                    return framed;
                }
                // The batch's results are full: on with another.
                batch.before = number;
                if !outlet.pass(&mut batch, stretches.reached()) {
                    gone = true;
                    return Framed::Done;
                }
                batch_bytes = 0;
            },
        );
        buf = stretch.buf;
        if gone {
            return;
        }
        if stretches.over() {
            batch.before = u64::MAX;
            let _ = outlet.send(batch, stretches.reached());
            return;
        }
        if batch_bytes >= BATCH_BYTES {
            batch.before = number + 1;
            if !outlet.pass(&mut batch, stretches.reached()) {
                return;
            }
            batch_bytes = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file::CaptureFile;
    use crate::capture::pcapng_writer::PcapngWriter;
    use std::path::{Path, PathBuf};

    /// Packet lengths: small ones around a record longer than the headroom
    /// and one longer than a stretch and its headroom together, so that
    /// records straddle stretch edges in every way.
    fn lengths() -> Vec<usize> {
        let mut lens: Vec<usize> = (0..6000).map(|i| 60 + (i * 37) % 1400).collect();
        lens[1500] = HEADROOM + 1000;
        lens[3000] = STRETCH + HEADROOM + 5000;
        lens
    }

    /// A capture of packets of these lengths, each filled with its number.
    fn capture(tag: &str, lens: &[usize]) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "isatap-trace-stretches-{tag}-{}.pcapng",
            std::process::id()
        ));
        let out = std::io::BufWriter::new(File::create(&path).expect("create"));
        let mut w = PcapngWriter::new(out, "test").expect("header");
        w.add_interface(1, None).expect("interface");
        for (i, &len) in lens.iter().enumerate() {
            let data = vec![i as u8; len];
            w.write_packet(0, i as i64, len as u32, &data, None)
                .expect("packet");
        }
        w.flush().expect("flush");
        path
    }

    fn stretches_of(path: &Path) -> Stretches {
        let file = CaptureFile::open(path).expect("open");
        let positioned = file
            .file
            .expect("a plain file has a handle for reads at a position");
        Stretches::new(positioned, file.framer, file.offset)
    }

    /// Frames a claimed stretch, listing the length of each packet.
    fn frame_lengths(s: &Stretches, number: u64, wait: impl FnMut()) -> (bool, Vec<usize>) {
        let mut stretch = s.read(number, Vec::new());
        let mut frames = Vec::new();
        let framed = s.frame(&mut stretch, wait, &mut |framer, data, pos| {
            frame_list(framer, data, pos, &mut frames)
        });
        for p in &frames {
            // Each packet holds its own number in every byte.
            let bytes = &stretch.buf[p.data.clone()];
            assert!(bytes.iter().all(|&b| b == ((p.index - 1) as u8)));
        }
        (framed, frames.iter().map(|p| p.data.len()).collect())
    }

    #[test]
    fn stretches_read_ahead_and_framed_in_turn_give_every_packet_once_in_order() {
        let lens = lengths();
        let path = capture("order", &lens);
        let s = stretches_of(&path);
        let mut seen = Vec::new();
        std::thread::scope(|scope| {
            // Three stretches claimed and read before any is framed; the
            // third is framed on another thread, which must wait its turn.
            let (a, b, c) = (s.claim(), s.claim(), s.claim());
            let s = &s;
            let later = scope.spawn(move || frame_lengths(s, c, std::thread::yield_now));
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert!(!later.is_finished(), "stretch {c} was framed before {a}");
            for n in [a, b] {
                let (framed, got) = frame_lengths(s, n, || panic!("stretch {n} waited"));
                assert!(framed);
                seen.extend(got);
            }
            let (framed, got) = later.join().expect("the other thread");
            assert!(framed);
            seen.extend(got);
            while !s.over() {
                let n = s.claim();
                seen.extend(frame_lengths(s, n, || panic!("stretch {n} waited")).1);
            }
        });
        // A stretch claimed after the end is dropped, and waits for nothing.
        let n = s.claim();
        assert_eq!(frame_lengths(&s, n, || {}), (false, Vec::new()));
        let (framer, damage) = s.into_end();
        assert!(seen == lens, "{} packets", seen.len());
        assert_eq!(framer.packets, lens.len() as u64);
        assert_eq!(damage, None);
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_file_cut_inside_a_record_ends_framing_with_where() {
        let lens = lengths();
        let path = capture("cut", &lens);
        // 1000 bytes into the record longer than a stretch.
        let bytes = std::fs::read(&path).expect("read");
        let (mut at, mut packets) = (0usize, 0);
        while packets < 3000 {
            let word = |at: usize| {
                u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
            };
            packets += usize::from(word(at) == 6);
            at += word(at + 4) as usize;
        }
        let cut = at as u64 + 1000;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(cut))
            .expect("cut");
        let s = stretches_of(&path);
        let mut seen = Vec::new();
        while !s.over() {
            let n = s.claim();
            seen.extend(frame_lengths(&s, n, || {}).1);
        }
        let (framer, damage) = s.into_end();
        assert!(seen == lens[..3000], "{} packets", seen.len());
        match damage {
            Some(Damage::Truncated {
                after_frame,
                offset,
            }) => {
                assert_eq!(after_frame, framer.records);
                assert_eq!(offset, at as u64);
            }
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(&path).ok();
    }
}

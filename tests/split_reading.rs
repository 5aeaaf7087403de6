//! The split walk (over a plain file both threads read stretches of it and
//! decode what they read; over a stream the reading thread reads it through
//! one small buffer and the caller decodes what it hands over when it has
//! time) and the frame walk (the caller sees every frame, from large batch
//! buffers) must give the same frames, the same counts and the same damage,
//! also where records straddle buffers, where a block is larger than the
//! buffer, and where the file is cut short or damaged far into it,
//! whichever thread decodes.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use isatap_trace::capture::file::{CaptureFile, Consumer, FileSummary};
use isatap_trace::capture::{Damage, Frame};

/// Larger than any buffer either walk starts with.
const LARGE_BLOCK: usize = 9 << 20;

/// (frame number, time, length, a digest of the bytes) of every frame.
type Digest = Vec<(u64, i64, u32, u64)>;

fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Frames through the reading path (the caller sees every frame).
fn read_walk(path: &Path) -> (Digest, FileSummary) {
    let mut file = CaptureFile::open(path).expect("open");
    let mut seen = Vec::new();
    let summary = file.for_each_frame(|f| {
        seen.push((f.index, f.ts_ns, f.orig_len, digest(f.bytes)));
    });
    (seen, summary)
}

/// Frames through the split walk, and how many the reading thread's stage
/// and the caller's each took. `pause`: how long the caller takes over each
/// batch (longer, and the reading thread decodes more of the file itself).
fn split_walk_pausing(path: &Path, pause: Duration) -> (Digest, FileSummary, [usize; 2]) {
    let mut file = CaptureFile::open(path).expect("open");
    let mut seen = Vec::new();
    let staged = [AtomicUsize::new(0), AtomicUsize::new(0)];
    let stage = |side: &'static str| {
        let count = &staged[usize::from(side == "caller")];
        move |f: &Frame<'_>, out: &mut Vec<(u64, i64, u32, u64)>| {
            count.fetch_add(1, Ordering::Relaxed);
            out.push((f.index, f.ts_ns, f.orig_len, digest(f.bytes)))
        }
    };
    let (summary, _, _) = file.for_each_frame_split(stage("reader"), stage("caller"), |items| {
        seen.extend_from_slice(items);
        std::thread::sleep(pause);
    });
    let staged = staged.map(AtomicUsize::into_inner);
    assert_eq!(staged[0] + staged[1], seen.len(), "every frame staged once");
    (seen, summary, staged)
}

/// Frames through the split walk, with a caller as fast as it gets.
fn split_walk(path: &Path) -> (Digest, FileSummary) {
    let (seen, summary, _) = split_walk_pausing(path, Duration::ZERO);
    (seen, summary)
}

/// A replay capture of many buffers' worth.
fn big_capture(dir: &Path) -> PathBuf {
    let path = dir.join("big.pcapng");
    let out = BufWriter::new(fs::File::create(&path).expect("create"));
    isatap_trace::synth::replay::write(out, 120_000).expect("write the replay capture");
    let len = fs::metadata(&path).expect("stat").len();
    assert!(len > 24 << 20, "{len} bytes");
    path
}

fn work_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("isatap-trace-split-{tag}-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("make the work directory");
    dir
}

#[test]
fn split_and_frame_walks_agree_on_a_whole_file() {
    let dir = work_dir("whole");
    let path = big_capture(&dir);
    let (read, read_summary) = read_walk(&path);
    let (split, split_summary) = split_walk(&path);
    assert!(read.len() >= 120_000, "{} frames", read.len());
    assert_eq!(read, split);
    assert_eq!(read_summary, split_summary);
    assert_eq!(split_summary.damage, None);
    let times = |frames: &Digest| frames.first().zip(frames.last()).map(|(f, l)| (f.1, l.1));
    assert_eq!(
        split_summary.span,
        times(&read),
        "first and last packet times"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_stage_runs_on_whichever_thread_has_time_and_the_frames_stay_in_order() {
    let dir = work_dir("shared");
    let path = big_capture(&dir);
    let (read, _) = read_walk(&path);
    // A caller with nothing else to do decodes: the walk starts with it idle.
    let (split, _, staged) = split_walk_pausing(&path, Duration::ZERO);
    assert_eq!(read, split);
    assert!(
        staged[1] > 0,
        "the caller's stage took no frame: {staged:?}"
    );
    // A caller slow over each batch leaves the decoding to the reading thread.
    let (split, _, staged) = split_walk_pausing(&path, Duration::from_millis(2));
    assert_eq!(read, split);
    assert!(
        staged[0] > staged[1],
        "the reading thread's stage took {staged:?}"
    );
    fs::remove_dir_all(&dir).ok();
}

/// Gives its bytes a little at a time, pausing before each read.
struct Trickle {
    bytes: std::io::Cursor<Vec<u8>>,
}

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_micros(200));
        let n = buf.len().min(64 << 10);
        self.bytes.read(&mut buf[..n])
    }
}

/// Keeps every result, and counts the moments it had none to take, doing
/// "work" for the first few of them.
struct Idler {
    seen: Digest,
    idle_calls: usize,
    busy_calls: usize,
}

impl Consumer<(u64, i64, u32, u64)> for Idler {
    fn consume(&mut self, results: &[(u64, i64, u32, u64)]) {
        self.seen.extend_from_slice(results);
    }

    fn idle(&mut self) -> bool {
        self.idle_calls += 1;
        let busy = self.busy_calls < 50;
        self.busy_calls += usize::from(busy);
        busy
    }
}

#[test]
fn many_walks_with_uneven_pauses_on_either_side_keep_file_order() {
    // Over a plain file both threads read stretches of their own, and the
    // caller puts its own results in line with the reading thread's: a
    // slip shows as a stretch's frames coming early. Which thread reads
    // what depends on timing, so: many walks, pausing now here, now there.
    let dir = work_dir("order");
    let path = big_capture(&dir);
    for round in 0..200u64 {
        let mut file = CaptureFile::open(&path).expect("open");
        let stage = move |f: &Frame<'_>, out: &mut Vec<u64>| {
            if round % 3 == 1 && f.index.is_multiple_of(5000) {
                std::thread::sleep(Duration::from_micros(50));
            }
            out.push(f.index)
        };
        let mut seen: Vec<u64> = Vec::new();
        let mut batches = 0u64;
        let (summary, _, _) = file.for_each_frame_split(stage, stage, |items| {
            seen.extend_from_slice(items);
            batches += 1;
            if round % 3 == 2 && batches.is_multiple_of(7) {
                std::thread::sleep(Duration::from_micros(30));
            }
        });
        assert_eq!(seen.len() as u64, summary.packets, "round {round}");
        if let Some((at, frame)) = seen.iter().enumerate().find(|&(at, &f)| f != at as u64 + 1) {
            panic!("round {round}: frame {frame} came {at}th");
        }
    }
    fs::remove_dir_all(&dir).ok();
}

/// A stream of a capture's packets over and over (its header once): far
/// more than the batches in flight hold, never on disk.
struct Repeating {
    head: std::io::Cursor<Vec<u8>>,
    body: Vec<u8>,
    at: usize,
    rounds_left: u32,
}

impl Repeating {
    fn new(capture: &[u8], rounds: u32) -> Repeating {
        // The section header block, then the interface block: the rest are
        // packets.
        let len = |at: usize| {
            u32::from_le_bytes(capture[at + 4..at + 8].try_into().expect("4 bytes")) as usize
        };
        let head = len(0) + len(len(0));
        Repeating {
            head: std::io::Cursor::new(capture[..head].to_vec()),
            body: capture[head..].to_vec(),
            at: 0,
            rounds_left: rounds,
        }
    }
}

impl std::io::Read for Repeating {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 || self.rounds_left == 0 {
            return Ok(n);
        }
        let n = buf.len().min(self.body.len() - self.at);
        buf[..n].copy_from_slice(&self.body[self.at..self.at + n]);
        self.at += n;
        if self.at == self.body.len() {
            self.at = 0;
            self.rounds_left -= 1;
        }
        Ok(n)
    }
}

/// Walks `path` (read as a plain file, or as a stream: `streamed`) with a
/// stage that panics at frame 50 000 on the given side (the caller pauses
/// over each batch when it is the reading thread's, which then decodes
/// most); whether the walk ended (with that panic) within 20 seconds.
fn walk_with_a_panicking_stage(path: &Path, streamed: bool, side: &'static str) -> bool {
    let path = path.to_owned();
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(move || {
            let mut file = if streamed {
                // Long enough that the reading thread is still at work,
                // waiting for room, when the stage fails.
                let stream = Repeating::new(&fs::read(&path).expect("read"), 20);
                CaptureFile::from_reader(&path, Box::new(stream)).expect("open")
            } else {
                CaptureFile::open(&path).expect("open")
            };
            let stage = |which: &'static str| {
                move |f: &Frame<'_>, out: &mut Vec<u64>| {
                    assert!(!(which == side && f.index >= 50_000), "stage fails");
                    out.push(f.index)
                }
            };
            let pause = Duration::from_millis(u64::from(side == "reader"));
            let _ = file.for_each_frame_split(stage("reader"), stage("caller"), |_| {
                std::thread::sleep(pause)
            });
        });
        let _ = done.send(outcome.is_err());
    });
    ended.recv_timeout(Duration::from_secs(20)) == Ok(true)
}

#[test]
fn a_stage_that_panics_on_either_thread_ends_the_walk_instead_of_hanging_it() {
    let dir = work_dir("panic");
    let path = big_capture(&dir);
    for streamed in [false, true] {
        for side in ["reader", "caller"] {
            assert!(
                walk_with_a_panicking_stage(&path, streamed, side),
                "the {side}'s panic did not end the walk (streamed: {streamed})"
            );
        }
    }
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn progress_is_told_how_far_reading_got_up_to_the_end_of_the_file() {
    let dir = work_dir("progress");
    let path = big_capture(&dir);
    let len = fs::metadata(&path).expect("stat").len();
    for streamed in [false, true] {
        let mut file = if streamed {
            let bytes = std::io::Cursor::new(fs::read(&path).expect("read"));
            CaptureFile::from_reader(&path, Box::new(bytes)).expect("open")
        } else {
            CaptureFile::open(&path).expect("open")
        };
        let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let hook = std::sync::Arc::clone(&told);
        file.on_progress(move |bytes| hook.lock().expect("lock").push(bytes));
        let stage = |f: &Frame<'_>, out: &mut Vec<u64>| out.push(f.index);
        let _ = file.for_each_frame_split(stage, stage, |_| {});
        let told = told.lock().expect("lock");
        assert!(
            told.len() > 2,
            "told {} times (streamed: {streamed})",
            told.len()
        );
        assert!(told.is_sorted(), "streamed: {streamed}");
        assert_eq!(told.last(), Some(&len), "streamed: {streamed}");
    }
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_caller_waiting_for_results_is_asked_for_work_ahead_and_misses_nothing() {
    let dir = work_dir("idle");
    let path = big_capture(&dir);
    let (read, read_summary) = read_walk(&path);
    let bytes = fs::read(&path).expect("read");
    let slow = Trickle {
        bytes: std::io::Cursor::new(bytes),
    };
    let mut file = CaptureFile::from_reader(&path, Box::new(slow)).expect("open");
    let stage = |f: &Frame<'_>, out: &mut Vec<(u64, i64, u32, u64)>| {
        out.push((f.index, f.ts_ns, f.orig_len, digest(f.bytes)))
    };
    let mut idler = Idler {
        seen: Vec::new(),
        idle_calls: 0,
        busy_calls: 0,
    };
    let (summary, _, _) = file.for_each_frame_split_to(stage, stage, &mut idler);
    assert_eq!(idler.seen, read);
    assert_eq!(summary, read_summary);
    // The reader is the slower: the caller was asked, did its 50 steps,
    // and then waited (asked again now and then, but not in a busy loop).
    assert_eq!(idler.busy_calls, 50);
    assert!(idler.idle_calls > 50, "{} calls", idler.idle_calls);
    assert!(
        idler.idle_calls < 50 + read.len(),
        "{} calls for {} frames",
        idler.idle_calls,
        read.len()
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_cut_inside_a_record_far_into_it() {
    let dir = work_dir("cut");
    let path = big_capture(&dir);
    let mut bytes = fs::read(&path).expect("read");
    // Cut 3 bytes into the record that straddles 20 MiB.
    let (whole, _) = read_walk(&path);
    bytes.truncate((20 << 20) + 3);
    let cut = dir.join("cut.pcapng");
    fs::write(&cut, &bytes).expect("write");
    let (read, read_summary) = read_walk(&cut);
    let (split, split_summary) = split_walk(&cut);
    assert!(matches!(
        read_summary.damage,
        Some(Damage::Truncated { .. })
    ));
    assert_eq!(read_summary, split_summary);
    assert_eq!(read, split);
    assert_eq!(read[..], whole[..read.len()]);
    // The same where the reading thread decodes most of the file.
    let (slow, slow_summary, _) = split_walk_pausing(&cut, Duration::from_millis(1));
    assert_eq!((read, read_summary), (slow, slow_summary));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_damaged_block_length_far_into_the_file() {
    let dir = work_dir("damaged");
    let path = big_capture(&dir);
    let mut bytes = fs::read(&path).expect("read");
    // Find the enhanced packet block that starts after 12 MiB and give it an
    // absurd length.
    let mut at = 0usize;
    while at < 12 << 20 {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        at += len as usize;
    }
    bytes[at + 4..at + 8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let damaged = dir.join("damaged.pcapng");
    fs::write(&damaged, &bytes).expect("write");
    let (read, read_summary) = read_walk(&damaged);
    let (split, split_summary) = split_walk(&damaged);
    match &split_summary.damage {
        Some(Damage::Malformed { offset, .. }) => assert_eq!(*offset, at as u64),
        other => panic!("expected damage at byte {at}, got {other:?}"),
    }
    assert_eq!(read_summary, split_summary);
    assert_eq!(read, split);
    let (slow, slow_summary, _) = split_walk_pausing(&damaged, Duration::from_millis(1));
    assert_eq!((read, read_summary), (slow, slow_summary));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_block_larger_than_the_buffers_is_skipped_whole() {
    let dir = work_dir("large-block");
    let path = big_capture(&dir);
    let bytes = fs::read(&path).expect("read");
    let mut at = 0usize;
    while at < 4 << 20 {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        at += len as usize;
    }
    // A block of a type no reader knows, longer than the buffers.
    let len = LARGE_BLOCK as u32;
    let mut block = Vec::with_capacity(len as usize);
    block.extend_from_slice(&0x0000_2001u32.to_le_bytes());
    block.extend_from_slice(&len.to_le_bytes());
    block.resize(len as usize - 4, 0x77);
    block.extend_from_slice(&len.to_le_bytes());
    let mut with_block = bytes[..at].to_vec();
    with_block.extend_from_slice(&block);
    with_block.extend_from_slice(&bytes[at..]);
    let big = dir.join("with-large-block.pcapng");
    fs::write(&big, &with_block).expect("write");
    let (original, _) = read_walk(&path);
    let (read, read_summary) = read_walk(&big);
    let (split, split_summary) = split_walk(&big);
    assert_eq!(read_summary.damage, None);
    assert_eq!(read_summary, split_summary);
    assert_eq!(read, split);
    assert_eq!(read, original);
    let (slow, slow_summary, _) = split_walk_pausing(&big, Duration::from_millis(1));
    assert_eq!((read, read_summary), (slow, slow_summary));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_gzip_stream_cut_short() {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;
    let dir = work_dir("gzip");
    let path = big_capture(&dir);
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&fs::read(&path).expect("read"))
        .expect("compress");
    let mut compressed = gz.finish().expect("compress");
    compressed.truncate(compressed.len() * 2 / 3);
    let cut = dir.join("cut.pcapng.gz");
    fs::write(&cut, &compressed).expect("write");
    let (read, read_summary) = read_walk(&cut);
    let (split, split_summary) = split_walk(&cut);
    assert!(
        matches!(read_summary.damage, Some(Damage::Truncated { .. })),
        "{:?}",
        read_summary.damage
    );
    assert_eq!(read_summary, split_summary);
    assert_eq!(read, split);
    assert!(read.len() > 50_000, "{} frames before the cut", read.len());
    fs::remove_dir_all(&dir).ok();
}

//! The split walk over a large plain file frames memory-mapped windows; every
//! other walk reads. Both must give the same frames, the same counts and the
//! same damage, also where records straddle a window and where the file is
//! cut short or damaged beyond the first window.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use isatap_trace::capture::Damage;
use isatap_trace::capture::file::{CaptureFile, FileSummary};
use isatap_trace::capture::mapped::{MIN_MAPPED_FILE, WINDOW_BYTES};

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

/// Frames through the split walk (mapped for a large plain file).
fn split_walk(path: &Path) -> (Digest, FileSummary) {
    let mut file = CaptureFile::open(path).expect("open");
    let mut seen = Vec::new();
    let (summary, _) = file.for_each_frame_split(
        |f, out: &mut Vec<(u64, i64, u32, u64)>| {
            out.push((f.index, f.ts_ns, f.orig_len, digest(f.bytes)))
        },
        |item| seen.push(*item),
    );
    (seen, summary)
}

/// A replay capture comfortably above the size that gets mapped.
fn big_capture(dir: &Path) -> PathBuf {
    let path = dir.join("big.pcapng");
    let out = BufWriter::new(fs::File::create(&path).expect("create"));
    isatap_trace::synth::replay::write(out, 120_000).expect("write the replay capture");
    let len = fs::metadata(&path).expect("stat").len();
    assert!(
        len > MIN_MAPPED_FILE && len > 2 * WINDOW_BYTES as u64,
        "{len} bytes is too small to be mapped across windows"
    );
    path
}

fn work_dir(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("isatap-trace-mapped-{tag}-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("make the work directory");
    dir
}

#[test]
fn mapped_and_read_walks_agree_on_a_whole_file() {
    let dir = work_dir("whole");
    let path = big_capture(&dir);
    let (read, read_summary) = read_walk(&path);
    let (mapped, mapped_summary) = split_walk(&path);
    assert!(read.len() >= 120_000, "{} frames", read.len());
    assert_eq!(read, mapped);
    assert_eq!(read_summary, mapped_summary);
    assert_eq!(mapped_summary.damage, None);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_cut_inside_a_record_beyond_the_first_window() {
    let dir = work_dir("cut");
    let path = big_capture(&dir);
    let mut bytes = fs::read(&path).expect("read");
    // Cut 3 bytes into the record that straddles 20 MiB.
    let (whole, _) = read_walk(&path);
    bytes.truncate((20 << 20) + 3);
    let cut = dir.join("cut.pcapng");
    fs::write(&cut, &bytes).expect("write");
    let (read, read_summary) = read_walk(&cut);
    let (mapped, mapped_summary) = split_walk(&cut);
    assert!(matches!(
        read_summary.damage,
        Some(Damage::Truncated { .. })
    ));
    assert_eq!(read_summary, mapped_summary);
    assert_eq!(read, mapped);
    assert_eq!(read[..], whole[..read.len()]);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_damaged_block_length_beyond_the_first_window() {
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
    let (mapped, mapped_summary) = split_walk(&damaged);
    match &mapped_summary.damage {
        Some(Damage::Malformed { offset, .. }) => assert_eq!(*offset, at as u64),
        other => panic!("expected damage at byte {at}, got {other:?}"),
    }
    assert_eq!(read_summary, mapped_summary);
    assert_eq!(read, mapped);
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_block_larger_than_a_window_is_skipped_whole() {
    let dir = work_dir("large-block");
    let path = big_capture(&dir);
    let bytes = fs::read(&path).expect("read");
    let mut at = 0usize;
    while at < 4 << 20 {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        at += len as usize;
    }
    // A block of a type no reader knows, longer than a window.
    let len = (WINDOW_BYTES + (1 << 20)) as u32;
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
    let (mapped, mapped_summary) = split_walk(&big);
    assert_eq!(read_summary.damage, None);
    assert_eq!(read_summary, mapped_summary);
    assert_eq!(read, mapped);
    assert_eq!(read, original);
    fs::remove_dir_all(&dir).ok();
}

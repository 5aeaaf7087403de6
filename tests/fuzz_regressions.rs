//! Every input the fuzzers found a failure with, replayed through the same
//! harness the fuzz targets run (`fuzz/harness.rs`): one file per input in
//! `tests/data/fuzz/<target>/`, named after what it found. A new crash input
//! goes there, together with the fix, so the failure stays fixed.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

#[path = "../fuzz/harness.rs"]
mod harness;

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(target);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on each input of `target`, naming the input that fails.
fn replay(target: &str, check: impl Fn(&[u8])) -> usize {
    let files = inputs(target);
    for path in &files {
        let data = fs::read(path).unwrap();
        println!("{target}: {}", path.display());
        check(&data);
    }
    files.len()
}

#[test]
fn pcap_reader() {
    replay("pcap_reader", harness::pcap_reader);
}

#[test]
fn pcapng_reader() {
    replay("pcapng_reader", harness::pcapng_reader);
}

#[test]
fn decode_frame() {
    replay("decode_frame", harness::decode_frame);
}

#[test]
fn analyze() {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let scratch = std::env::temp_dir().join(format!(
        "isatap-trace-fuzz-regression-{}-{}.cap",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    replay("analyze", |data| harness::analyze(data, &scratch));
    let _ = fs::remove_file(&scratch);
}

#[test]
fn each_target_has_its_fuzz_target_file() {
    for target in harness::TARGETS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
        assert!(dir.join(format!("{target}.rs")).is_file(), "{target}");
    }
}

#[test]
fn the_terminal_check_catches_every_unsafe_kind() {
    harness::assert_terminal_safe("ISATAP01 → DAV02 — ok ⇒ é\nnext line");
    for bad in [
        "\x1b[2J",
        "a\rb",
        "tab\t",
        "\x7f",
        "\u{85}",
        "\u{9b}31m",
        "\u{200e}",
        "\u{200f}",
        "\u{202a}",
        "\u{202e}",
        "\u{2066}",
        "\u{2069}",
    ] {
        let text = format!("before {bad} after");
        let caught = std::panic::catch_unwind(|| harness::assert_terminal_safe(&text));
        assert!(caught.is_err(), "{bad:?} was not caught");
    }
}

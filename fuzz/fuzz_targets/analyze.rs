//! The `analyze` fuzz target: see `harness::analyze`. The capture is written
//! to a file of this process in a memory-backed directory.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

#[path = "../harness.rs"]
mod harness;

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!(
            "isatap-trace-fuzz-analyze-{}.cap",
            std::process::id()
        ))
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::analyze(data, scratch()));

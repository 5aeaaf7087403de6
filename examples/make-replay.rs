//! Writes the replay benchmark's capture (see `isatap_trace::synth::replay`).
//!
//! Usage: cargo run --release --example make-replay -- [--frames N] [--out FILE]
//! (default 2000000 frames to target/replay/replay-2000000.pcapng).

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let mut frames = 2_000_000u64;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--frames" => frames = args.next().and_then(|v| v.parse().ok()).unwrap_or(frames),
            "--out" => out = args.next().map(PathBuf::from),
            other => eprintln!("make-replay: ignoring unknown argument {other}"),
        }
    }
    let out = out.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("target/replay/replay-{frames}.pcapng"))
    });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    isatap_trace::synth::replay::write(
        BufWriter::with_capacity(1 << 20, File::create(&out)?),
        frames,
    )?;
    println!("{}", out.display());
    Ok(())
}

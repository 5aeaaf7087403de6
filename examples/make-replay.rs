//! Writes the replay benchmark's capture (see `isatap_trace::synth::replay`).
//!
//! Usage: cargo run --release --example make-replay -- [--frames N] [--out FILE]
//! (default 2000000 frames to target/replay/replay-2000000.pcapng).
//!
//! `--distinct-flows N` writes N pings that are each a flow of their own
//! (2N frames) instead, for the bounded-state benchmark. `--out -` writes to
//! standard output, so a large capture can be piped without touching disk.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

fn main() -> io::Result<()> {
    let mut frames = 2_000_000u64;
    let mut distinct = None;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = |name: &str| -> io::Result<u64> {
            args.next().and_then(|v| v.parse().ok()).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{name} needs a number"),
                )
            })
        };
        match a.as_str() {
            "--frames" => frames = number("--frames")?,
            "--distinct-flows" => distinct = Some(number("--distinct-flows")?),
            "--out" => out = args.next().map(PathBuf::from),
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "unknown argument {other} (see the usage at the top of examples/make-replay.rs)"
                    ),
                ));
            }
        }
    }
    let out = out.unwrap_or_else(|| {
        let name = match distinct {
            Some(n) => format!("distinct-{n}.pcapng"),
            None => format!("replay-{frames}.pcapng"),
        };
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/replay")
            .join(name)
    });
    let sink: Box<dyn Write> = if out.as_os_str() == "-" {
        Box::new(io::stdout().lock())
    } else {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir)?;
        }
        Box::new(File::create(&out)?)
    };
    let sink = BufWriter::with_capacity(1 << 20, sink);
    match distinct {
        Some(n) => isatap_trace::synth::replay::write_distinct_flows(sink, n)?,
        None => isatap_trace::synth::replay::write(sink, frames)?,
    }
    if out.as_os_str() != "-" {
        println!("{}", out.display());
    }
    Ok(())
}

//! The fast path (`flow::quick`) must say exactly what the full decoder and
//! `observe` say, for every frame it does not hand to the full path: checked
//! over every sample capture, every shared corpus capture and a replay slice.

use std::path::{Path, PathBuf};

use isatap_trace::capture::file::CaptureFile;
use isatap_trace::decode::decode;
use isatap_trace::flow::observe;
use isatap_trace::flow::quick::{Quick, quick};

/// Checks every frame of `path`; returns (frames, frames on the fast path).
fn check(path: &Path) -> (u64, u64) {
    let Ok(mut file) = CaptureFile::open(path) else {
        return (0, 0);
    };
    let (mut frames, mut fast) = (0, 0);
    file.for_each_frame(|frame| {
        frames += 1;
        let q = quick(frame);
        if q == Quick::Slow {
            return;
        }
        fast += 1;
        let d = decode(frame);
        assert_eq!(
            d.error,
            None,
            "{} frame {}: the fast path took a frame that does not decode",
            path.display(),
            frame.index
        );
        let full = observe(frame, &d);
        match q {
            Quick::Irrelevant => assert_eq!(full, None, "{} frame {}", path.display(), frame.index),
            Quick::Observed(o) => {
                assert_eq!(full, Some(o), "{} frame {}", path.display(), frame.index)
            }
            Quick::Slow => unreachable!(),
        }
    });
    (frames, fast)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x != "tsv" && x != "md" && x != "toml")
        {
            out.push(p);
        }
    }
}

#[test]
fn fast_path_agrees_with_the_full_decoder() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    files_under(&root.join("captures"), &mut files);
    let corpus = root.join("../shared/corpus");
    if corpus.is_dir() {
        files_under(&corpus, &mut files);
    } else {
        println!("SKIP: ../shared/corpus not present; checking the sample captures only");
    }
    let (mut frames, mut fast) = (0, 0);
    for f in &files {
        let (n, q) = check(f);
        frames += n;
        fast += q;
    }
    println!("{fast} of {frames} frames took the fast path");
    assert!(fast > 0);
}

#[test]
fn replay_traffic_takes_the_fast_path() {
    let dir = std::env::temp_dir().join(format!("isatap-trace-quick-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("replay.pcapng");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    isatap_trace::synth::replay::write(file, 20_000).unwrap();
    let (frames, fast) = check(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(frames >= 20_000);
    // Only the MLD reports (hop-by-hop options) need the full decoder.
    assert!(
        fast * 100 >= frames * 90,
        "{fast} of {frames} on the fast path"
    );
}

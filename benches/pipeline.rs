//! The analyze pipeline stage by stage, per frame, over a 200k-frame slice of
//! the replay capture (a busy ISATAP router: half ISATAP pings, half LAN
//! chatter): reading (this crate's framing against pcap-parser's), decoding
//! (the fast path against the full decoder) and correlation.
//!
//! `cargo bench --bench pipeline -- --warm-up-time 1 --measurement-time 5`

use std::fs::File;
use std::hint::black_box;
use std::io::BufWriter;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use isatap_trace::capture::Frame;
use isatap_trace::capture::file::CaptureFile;
use isatap_trace::decode::decode;
use isatap_trace::flow::{Correlator, Item, Limits, items_of, items_of_decoded};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError, PcapNGReader};

const FRAMES: u64 = 200_000;

fn replay() -> PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!("isatap-trace-bench-{FRAMES}.pcapng"));
    if !path.exists() {
        let out = BufWriter::new(File::create(&path).expect("create the replay slice"));
        isatap_trace::synth::replay::write(out, FRAMES).expect("write the replay slice");
    }
    path
}

/// Every frame of the file, copied out: (frame number, time, link type, bytes).
fn frames(path: &std::path::Path) -> Vec<(u64, i64, u32, Vec<u8>)> {
    let mut all = Vec::new();
    let mut file = CaptureFile::open(path).expect("open the replay slice");
    file.for_each_frame(|f| all.push((f.index, f.ts_ns, f.link_type, f.bytes.to_vec())));
    all
}

fn frame(f: &(u64, i64, u32, Vec<u8>)) -> Frame<'_> {
    Frame {
        index: f.0,
        ts_ns: f.1,
        link_type: f.2,
        interface: 0,
        orig_len: f.3.len() as u32,
        bytes: &f.3,
        comment: None,
    }
}

fn reading(c: &mut Criterion) {
    let path = replay();
    let count = frames(&path).len() as u64;
    let mut g = c.benchmark_group("read");
    g.throughput(Throughput::Elements(count));
    g.bench_function("isatap-trace", |b| {
        b.iter(|| {
            let mut file = CaptureFile::open(&path).unwrap();
            let mut bytes = 0usize;
            file.for_each_frame(|f| bytes += f.bytes.len());
            black_box(bytes)
        })
    });
    g.bench_function("pcap-parser", |b| {
        b.iter(|| {
            let mut reader = PcapNGReader::new(1 << 20, File::open(&path).unwrap()).unwrap();
            let mut bytes = 0usize;
            loop {
                match reader.next() {
                    Ok((offset, block)) => {
                        if let PcapBlockOwned::NG(pcap_parser::Block::EnhancedPacket(epb)) = block {
                            bytes += epb.data.len();
                        }
                        reader.consume(offset);
                    }
                    Err(PcapError::Eof) => break,
                    Err(PcapError::Incomplete(_)) => reader.refill().unwrap(),
                    Err(e) => panic!("{e:?}"),
                }
            }
            black_box(bytes)
        })
    });
    g.finish();
}

fn decoding(c: &mut Criterion) {
    let all = frames(&replay());
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("fast-path-then-full", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            for f in &all {
                out.clear();
                black_box(items_of(&frame(f), &mut out));
            }
        })
    });
    g.bench_function("full-decoder", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            for f in &all {
                out.clear();
                let fr = frame(f);
                items_of_decoded(&fr, &decode(&fr), &mut out);
                black_box(&out);
            }
        })
    });
    g.finish();
}

fn correlating(c: &mut Criterion) {
    let all = frames(&replay());
    let mut items: Vec<Item> = Vec::new();
    for f in &all {
        items_of(&frame(f), &mut items);
    }
    let mut g = c.benchmark_group("correlate");
    g.throughput(Throughput::Elements(all.len() as u64));
    g.sample_size(20);
    g.bench_function("probe-table-and-facts", |b| {
        b.iter(|| {
            let mut correlator = Correlator::new(Limits::default());
            for item in &items {
                correlator.add_item(0, item);
            }
            black_box(correlator.table.probes.len())
        })
    });
    g.finish();
}

criterion_group!(benches, reading, decoding, correlating);
criterion_main!(benches);

//! Decoding cost per frame over a realistic mix of a DirectAccess manage-out
//! capture (ISATAP echo request and reply, native IPv6 echo, DNS over UDP,
//! Teredo, ARP, TCP), and reading a ~100k-frame pcap frame by frame.
//!
//! `cargo bench --bench decode -- --warm-up-time 1 --measurement-time 3`

use std::fs;
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use isatap_trace::capture::file::CaptureFile;
use isatap_trace::decode::{Transport, decode, decode_bytes};

const ETHERNET: u32 = 1;

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x00, 0x15, 0x5d, 1, 2, 0x31, 0x00, 0x15, 0x5d, 1, 2, 0x05];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn ipv4(proto: u8, src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
    let src: Ipv4Addr = src.parse().unwrap();
    let dst: Ipv4Addr = dst.parse().unwrap();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0x12, 0x34, 0x40, 0, 128, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h.extend_from_slice(payload);
    h
}

fn ipv6(next: u8, src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
    let src: Ipv6Addr = src.parse().unwrap();
    let dst: Ipv6Addr = dst.parse().unwrap();
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h.extend_from_slice(payload);
    h
}

fn echo(ty: u8, seq: u16) -> Vec<u8> {
    let mut m = vec![ty, 0, 0, 0, 0x00, 0x01];
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(b"abcdefghijklmnopqrstuvwabcdefghi");
    m
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = sport.to_be_bytes().to_vec();
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

const STATION: &str = "fd9c:30c:2da4:1::5efe:172.16.16.5";
const CLIENT: &str = "fd9c:30c:2da4:1000::7";

/// (name, link type, frame) for each kind in the mix.
fn mix() -> Vec<(&'static str, u32, Vec<u8>)> {
    let isatap_request = eth(
        0x0800,
        &ipv4(
            41,
            "172.16.16.5",
            "172.16.16.31",
            &ipv6(58, STATION, CLIENT, &echo(128, 1)),
        ),
    );
    let isatap_reply = eth(
        0x0800,
        &ipv4(
            41,
            "172.16.16.31",
            "172.16.16.5",
            &ipv6(58, CLIENT, STATION, &echo(129, 1)),
        ),
    );
    let native_echo = eth(
        0x86dd,
        &ipv6(58, "fd9c:30c:2da4:111::31", CLIENT, &echo(128, 2)),
    );
    let mut query = vec![0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(b"\x06isatap\x04corp\x07example\x00\x00\x01\x00\x01");
    let dns = eth(
        0x0800,
        &ipv4(17, "172.16.16.5", "172.16.16.2", &udp(51000, 53, &query)),
    );
    let teredo_client = "2001:0:4136:e378:8000:63bf:3fff:fdd2";
    let mut teredo_payload = vec![0, 0, 0x63, 0xbf, 0x3f, 0xff, 0xfd, 0xd2];
    teredo_payload.extend_from_slice(&ipv6(58, "2001:db8::1", teredo_client, &echo(129, 3)));
    let teredo = eth(
        0x0800,
        &ipv4(
            17,
            "65.54.227.120",
            "192.0.2.45",
            &udp(3544, 40000, &teredo_payload),
        ),
    );
    let mut arp_body = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp_body.extend_from_slice(&[0x00, 0x15, 0x5d, 1, 2, 5, 172, 16, 16, 5]);
    arp_body.extend_from_slice(&[0; 6]);
    arp_body.extend_from_slice(&[172, 16, 16, 31]);
    arp_body.extend_from_slice(&[0; 18]);
    let arp = eth(0x0806, &arp_body);
    let mut tcp_hdr = vec![
        0xc0, 0x00, 0x0d, 0x3d, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x10, 0x01, 0x00,
    ];
    tcp_hdr.extend_from_slice(&[0, 0, 0, 0]);
    tcp_hdr.extend_from_slice(&[0x17; 100]);
    let tcp = eth(0x86dd, &ipv6(6, STATION, CLIENT, &tcp_hdr));
    vec![
        ("isatap-echo-request", ETHERNET, isatap_request),
        ("isatap-echo-reply", ETHERNET, isatap_reply),
        ("ipv6-echo", ETHERNET, native_echo),
        ("udp-dns", ETHERNET, dns),
        ("teredo", ETHERNET, teredo),
        ("arp", ETHERNET, arp),
        ("tcp", ETHERNET, tcp),
    ]
}

/// Checks that every frame of the mix decodes as what it was built to be.
fn sanity(frames: &[(&'static str, u32, Vec<u8>)]) {
    for (name, lt, f) in frames {
        let d = decode_bytes(*lt, f);
        assert!(d.error.is_none(), "{name}: {:?}", d.error);
        let ok = match *name {
            "arp" => d.ips.is_empty(),
            "udp-dns" => matches!(d.transport, Transport::Udp(_)),
            "tcp" => matches!(d.transport, Transport::Tcp(_)),
            _ => matches!(d.transport, Transport::Icmpv6(_)),
        };
        assert!(ok, "{name}: {d:?}");
    }
}

fn bench_decode(c: &mut Criterion) {
    let frames = mix();
    sanity(&frames);
    let mut group = c.benchmark_group("decode");
    // The whole mix per iteration: time per element is time per frame.
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("mix", |b| {
        b.iter(|| {
            for (_, lt, f) in &frames {
                black_box(decode_bytes(*lt, black_box(f)));
            }
        })
    });
    group.throughput(Throughput::Elements(1));
    for (name, lt, f) in &frames {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(decode_bytes(*lt, black_box(f))))
        });
    }
    group.finish();
}

/// Frames in the generated capture.
const FILE_FRAMES: u64 = 100_000;

/// Writes a classic pcap of `FILE_FRAMES` frames of the mix, on tmpfs when there is one.
fn generated_capture(frames: &[(&'static str, u32, Vec<u8>)]) -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    let dir = if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!("isatap-trace-bench-{}.pcap", std::process::id()));
    let mut out = Vec::with_capacity(12 << 20);
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for i in 0..FILE_FRAMES {
        let (_, _, f) = &frames[i as usize % frames.len()];
        let len = f.len() as u32;
        for v in [
            1_700_000_000 + (i / 1000) as u32,
            (i % 1000) as u32 * 1000,
            len,
            len,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    fs::write(&path, out).unwrap();
    path
}

fn bench_read(c: &mut Criterion) {
    let frames = mix();
    let path = generated_capture(&frames);
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(FILE_FRAMES));
    group.sample_size(20);
    group.bench_function("pcap-100k-frames", |b| {
        b.iter(|| {
            let mut file = CaptureFile::open(&path).unwrap();
            let mut bytes = 0usize;
            let summary = file.for_each_frame(|f| bytes += black_box(f.bytes).len());
            assert_eq!(summary.packets, FILE_FRAMES);
            bytes
        })
    });
    group.bench_function("pcap-100k-frames-decoded", |b| {
        b.iter(|| {
            let mut file = CaptureFile::open(&path).unwrap();
            let mut ips = 0usize;
            file.for_each_frame(|f| ips += black_box(decode(f)).ips.len());
            ips
        })
    });
    group.finish();
    let _ = fs::remove_file(&path);
}

criterion_group!(benches, bench_decode, bench_read);
criterion_main!(benches);

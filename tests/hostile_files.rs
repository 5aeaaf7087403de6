//! Hostile capture files through the built binary, as a stranger's file would
//! meet it: `isatap-trace analyze` (and `decode` where it prints capture text).
//! Each test asserts the exact behaviour: the exit status, the message naming
//! the file (and the frame), and where good frames come before the damage,
//! the warning plus the report of what did decode. Never a panic, never
//! unbounded time or memory.
//!
//! The reader-level details of the same damage (offsets, frame counts through
//! the library) are in `capture_formats.rs`; the decoder's in
//! `decode_truncation.rs`; this file checks what the user sees.

mod common;
use common::Scratch;

use std::fs;
use std::io::{self, Write};
use std::net::Ipv6Addr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use isatap_trace::capture::file::CaptureFile;
use isatap_trace::capture::pcapng_writer::PcapngWriter;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_isatap-trace");

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

/// What one run printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out: Output = Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run isatap-trace");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!run.stderr.contains("RUST_BACKTRACE"), "{}", run.stderr);
    run
}

fn analyze(path: &Path) -> Run {
    run(&["analyze", path.to_str().unwrap()])
}

/// The `captures[0]` entry of the JSON report.
fn capture_entry(path: &Path) -> Value {
    let r = run(&["analyze", "--format", "json", path.to_str().unwrap()]);
    let report: Value = serde_json::from_str(&r.stdout).expect("JSON report");
    report["captures"][0].clone()
}

/// `(packets, decoded, malformed, truncated)` of the capture's JSON entry.
fn counts(path: &Path) -> (u64, u64, u64, bool) {
    let c = capture_entry(path);
    (
        c["packets"].as_u64().unwrap(),
        c["decoded"].as_u64().unwrap(),
        c["malformed"].as_u64().unwrap(),
        c["truncated"].as_bool().unwrap(),
    )
}

/// Asserts a clean failure: exit 2, one line on stderr naming the file, nothing on stdout.
fn assert_unreadable(r: &Run, path: &Path, message: &str) {
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!("isatap-trace: {}: {message}\n", path.display())
    );
    assert_eq!(r.stdout, "");
}

/// The one warning line a damaged capture gives on stderr.
fn assert_warning(r: &Run, path: &Path, damage: &str) {
    assert_eq!(
        r.stderr,
        format!("isatap-trace: warning: {}: {damage}\n", path.display())
    );
}

/// Runs `analyze` on `path`; a hostile file must not make it hang (the
/// limit is far above the time any of these files takes).
fn analyze_without_hanging(path: &Path) -> Run {
    let started = Instant::now();
    let r = analyze(path);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{}",
        path.display()
    );
    r
}

/// The report says that `bad` of `total` frames were left out.
fn assert_left_out(r: &Run, path: &Path, bad: u32, total: u32) {
    let line = format!(
        "{bad} of {total} frames in {} do not decode; they were left out of the analysis.",
        path.display()
    );
    assert!(r.stdout.contains(&line), "no `{line}` in:\n{}", r.stdout);
}

/// Analyzes `path`, whose two good frames are followed by a record at byte
/// `at` that cannot be real: exit 0, one warning naming the damage, the
/// ping of the good frames listed and counted.
fn assert_skipped_after_two_frames(path: &Path, at: impl std::fmt::Display, damage: &str) -> Run {
    let r = analyze(path);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_warning(
        &r,
        path,
        &format!(
            "damaged record at byte {at} (after frame 2): {damage}; the rest of the file was skipped"
        ),
    );
    assert_ping_listed(&r, 1);
    assert_eq!(counts(path), (2, 2, 0, false));
    r
}

/// The report lists the answered ping made of the good frames of [`good_pcap`].
fn assert_ping_listed(r: &Run, probes: u32) {
    let flow =
        format!("#1 ping icmpv6-echo {STATION} → {CLIENT}: {probes} probes, {probes} answered");
    assert!(r.stdout.contains(&flow), "no `{flow}` in:\n{}", r.stdout);
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// A scratch directory of this suite.
fn scratch(tag: &str) -> Scratch {
    Scratch::new("hostile", tag)
}

/// Classic little-endian microsecond pcap.
struct Pcap(Vec<u8>);

impl Pcap {
    fn new(snaplen: u32, link_type: u32) -> Pcap {
        let mut b = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        for v in [0u32, 0, snaplen, link_type] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        Pcap(b)
    }

    fn record_claiming(&mut self, sec: u32, caplen: u32, data: &[u8]) -> &mut Pcap {
        for v in [sec, 0, caplen, data.len() as u32] {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
        self.0.extend_from_slice(data);
        self
    }

    fn record(&mut self, sec: u32, data: &[u8]) -> &mut Pcap {
        self.record_claiming(sec, data.len() as u32, data)
    }
}

/// Little-endian pcapng, block by block (lengths may be set to lie).
struct Ng(Vec<u8>);

const IDB: u32 = 1;
const EPB: u32 = 6;

impl Ng {
    fn new() -> Ng {
        let mut ng = Ng(Vec::new());
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        ng.block(0x0a0d_0d0a, &shb);
        ng
    }

    fn raw_block(&mut self, kind: u32, len1: u32, body: &[u8], len2: u32) -> u64 {
        let at = self.0.len() as u64;
        self.0.extend_from_slice(&kind.to_le_bytes());
        self.0.extend_from_slice(&len1.to_le_bytes());
        self.0.extend_from_slice(body);
        self.0.extend_from_slice(&len2.to_le_bytes());
        at
    }

    fn block(&mut self, kind: u32, body: &[u8]) -> u64 {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = body.len() as u32 + 12;
        self.raw_block(kind, len, &body, len)
    }

    fn interface(&mut self, link_type: u16) {
        let mut body = link_type.to_le_bytes().to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&0u32.to_le_bytes());
        self.block(IDB, &body);
    }

    fn epb(&mut self, interface: u32, sec: u64, data: &[u8]) {
        let units = sec * 1_000_000;
        let mut body = Vec::new();
        for v in [
            interface,
            (units >> 32) as u32,
            units as u32,
            data.len() as u32,
            data.len() as u32,
        ] {
            body.extend_from_slice(&v.to_le_bytes());
        }
        body.extend_from_slice(data);
        self.block(EPB, &body);
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

// ---------------------------------------------------------------------------
// Frames: an ISATAP station pinging a DA client through the router
// ---------------------------------------------------------------------------

const STATION: &str = "fd9c:30c:2da4:1:0:5efe:ac10:1005";
const CLIENT: &str = "fd9c:30c:2da4:1000::7";
const STATION_V4: [u8; 4] = [172, 16, 16, 5];
const ROUTER_V4: [u8; 4] = [172, 16, 16, 31];

fn ipv6(next: u8, src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    p.extend_from_slice(&src.parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&dst.parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(payload);
    p
}

/// Ethernet + IPv4 protocol 41 around `inner`.
fn over_isatap(src: [u8; 4], dst: [u8; 4], inner: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x00, 0x15, 0x5d, 1, 2, 0x31, 0x00, 0x15, 0x5d, 1, 2, 5, 0x08, 0x00,
    ];
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&((20 + inner.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 1, 0, 0, 128, 41, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(inner);
    f
}

fn echo(ty: u8, seq: u16) -> Vec<u8> {
    let mut m = vec![ty, 0, 0, 0, 0x12, 0x34];
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&[0x61; 32]);
    m
}

/// Echo request `seq` from the station, as the station captures it.
fn request(seq: u16) -> Vec<u8> {
    over_isatap(
        STATION_V4,
        ROUTER_V4,
        &ipv6(58, STATION, CLIENT, &echo(128, seq)),
    )
}

/// The client's echo reply `seq`, back through the router.
fn reply(seq: u16) -> Vec<u8> {
    over_isatap(
        ROUTER_V4,
        STATION_V4,
        &ipv6(58, CLIENT, STATION, &echo(129, seq)),
    )
}

/// A pcap of one answered ping (frames 1 and 2), ready for damage to follow.
fn good_pcap(snaplen: u32) -> Pcap {
    let mut p = Pcap::new(snaplen, 1);
    p.record(1_700_000_000, &request(1));
    p.record(1_700_000_000, &reply(1));
    p
}

/// A pcapng section with one Ethernet interface and the answered ping.
fn good_pcapng() -> Ng {
    let mut ng = Ng::new();
    ng.interface(1);
    ng.epb(0, 1_700_000_000, &request(1));
    ng.epb(0, 1_700_000_000, &reply(1));
    ng
}

// ---------------------------------------------------------------------------
// Nothing to read: exit 2
// ---------------------------------------------------------------------------

#[test]
fn empty_file() {
    let dir = scratch("empty");
    let path = dir.write("empty.pcap", &[]);
    assert_unreadable(&analyze(&path), &path, "the file is empty");
    let gz = dir.write("empty.pcap.gz", &gzip(&[]));
    assert_unreadable(&analyze(&gz), &gz, "the file is empty");
}

#[test]
fn cut_inside_the_file_header() {
    let dir = scratch("half-header");
    let pcap = dir.write("half.pcap", &Pcap::new(65535, 1).0[..20]);
    assert_unreadable(
        &analyze(&pcap),
        &pcap,
        "the file ends inside its pcap header",
    );
    let ng = dir.write("half.pcapng", &Ng::new().0[..20]);
    assert_unreadable(&analyze(&ng), &ng, "the file ends inside its pcapng header");
}

// ---------------------------------------------------------------------------
// Header only: a capture of nothing, reported as such
// ---------------------------------------------------------------------------

#[test]
fn header_only_pcap_and_pcapng() {
    let dir = scratch("header-only");
    let mut shb_idb = Ng::new();
    shb_idb.interface(1);
    for (name, bytes, format) in [
        ("header.pcap", Pcap::new(65535, 1).0, "pcap"),
        ("shb.pcapng", Ng::new().0, "pcapng"),
        ("shb-idb.pcapng", shb_idb.0, "pcapng"),
    ] {
        let path = dir.write(name, &bytes);
        let r = analyze(&path);
        assert_eq!(r.code, Some(0), "{name}: {}", r.stderr);
        assert_eq!(r.stderr, "", "{name}");
        assert!(
            r.stdout
                .starts_with("VERDICT  No problem found: 0 of 0 flows answered."),
            "{name}: {}",
            r.stdout
        );
        assert!(
            r.stdout.contains(&format!(
                "{}  {format}, 0 frames, 0 decoded, 0 malformed",
                path.display()
            )),
            "{name}: {}",
            r.stdout
        );
        assert_eq!(counts(&path), (0, 0, 0, false), "{name}");
    }
}

// ---------------------------------------------------------------------------
// Record lengths
// ---------------------------------------------------------------------------

#[test]
fn caplen_beyond_snaplen() {
    let dir = scratch("caplen-snaplen");
    // A snapshot length of 64 and whole 98-byte frames: read, as Wireshark and
    // libpcap read them, up to their 256 KiB limit.
    let within = dir.write("within-limit.pcap", &good_pcap(64).0);
    let r = analyze(&within);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stderr, "");
    assert_ping_listed(&r, 1);
    assert_eq!(counts(&within), (2, 2, 0, false));

    // Beyond both the snapshot length and 256 KiB: the record cannot be real.
    let mut p = good_pcap(64);
    let at = p.0.len();
    p.record_claiming(1_700_000_001, 300_000, &request(2));
    let beyond = dir.write("beyond-limit.pcap", &p.0);
    let r = analyze(&beyond);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_warning(
        &r,
        &beyond,
        &format!(
            "damaged record at byte {at} (after frame 2): record claims 300000 captured bytes, \
             more than the snapshot length 64; the rest of the file was skipped"
        ),
    );
    assert_ping_listed(&r, 1);
    assert!(
        r.stdout.contains("[warning] capture-malformed"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "{} is damaged at byte {at} (record claims 300000 captured bytes, more than the \
             snapshot length 64); the 2 frames before it were analysed.",
            beyond.display()
        )),
        "{}",
        r.stdout
    );
    assert_eq!(counts(&beyond), (2, 2, 0, false));
}

#[test]
fn caplen_of_four_gibibytes() {
    let dir = scratch("caplen-4g");
    let mut p = good_pcap(65535);
    let at = p.0.len();
    p.record_claiming(1_700_000_001, u32::MAX, &request(2));
    let path = dir.write("caplen-4g.pcap", &p.0);
    let r = analyze_without_hanging(&path);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_warning(
        &r,
        &path,
        &format!(
            "damaged record at byte {at} (after frame 2): record claims 4294967295 captured \
             bytes, more than the snapshot length 65535; the rest of the file was skipped"
        ),
    );
    assert_ping_listed(&r, 1);
    assert_eq!(counts(&path), (2, 2, 0, false));
}

/// A header may claim a snapshot length of 4 GiB; a record claiming most of
/// it is still refused before any of it is read (found by fuzzing: the
/// reader grew its buffer towards the claimed length, 3.5 GB for a 188-byte
/// file).
#[test]
fn caplen_within_a_snapshot_length_of_four_gibibytes() {
    let dir = scratch("snaplen-4g");
    let mut p = good_pcap(u32::MAX);
    let at = p.0.len();
    p.record_claiming(1_700_000_001, 0xff00_0000, &[0u8; 4096]);
    let path = dir.write("snaplen-4g.pcap", &p.0);
    assert_skipped_after_two_frames(
        &path,
        at,
        "record claims 4278190080 captured bytes, more than any packet can hold",
    );
}

#[test]
fn pcapng_block_length_zero() {
    let dir = scratch("ng-len0");
    let mut ng = good_pcapng();
    let at = ng.raw_block(EPB, 0, &[0; 20], 0);
    let path = dir.write("len0.pcapng", &ng.0);
    let r = assert_skipped_after_two_frames(&path, at, "invalid pcapng block length 0");
    assert!(
        r.stdout.contains("[warning] capture-malformed"),
        "{}",
        r.stdout
    );
}

#[test]
fn pcapng_block_length_below_the_block_header() {
    // A process information block of 8 bytes: its parser took 12 from the
    // length before checking it (a panic in builds with overflow checks).
    let dir = scratch("ng-len8");
    let mut ng = good_pcapng();
    let at = ng.raw_block(0x8000_0001, 8, &[0; 20], 8);
    let path = dir.write("len8.pcapng", &ng.0);
    assert_skipped_after_two_frames(&path, at, "invalid pcapng block length 8");
}

#[test]
fn pcapng_block_length_not_a_multiple_of_four() {
    let dir = scratch("ng-len-odd");
    let mut ng = good_pcapng();
    let at = ng.raw_block(EPB, 34, &[0; 22], 34);
    ng.epb(0, 1_700_000_001, &request(2));
    let path = dir.write("len-odd.pcapng", &ng.0);
    assert_skipped_after_two_frames(&path, at, "pcapng block length 34 is not a multiple of 4");
}

#[test]
fn pcapng_block_length_beyond_the_file() {
    let dir = scratch("ng-len-beyond");
    // Longer than what is left: the file was cut short.
    let mut ng = good_pcapng();
    let at = ng.raw_block(EPB, 1024, &[0; 40], 1024);
    let path = dir.write("beyond.pcapng", &ng.0);
    let r = analyze(&path);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_warning(
        &r,
        &path,
        &format!(
            "file ends in the middle of a record at byte {at} (after frame 2); \
             the frames before it were read"
        ),
    );
    assert_ping_listed(&r, 1);
    assert!(
        r.stdout.contains("[warning] capture-truncated"),
        "{}",
        r.stdout
    );
    assert_eq!(counts(&path), (2, 2, 0, true));

    // Longer than any packet block can be: damage, found without reading on.
    let mut ng = good_pcapng();
    let at = ng.raw_block(EPB, 0xffff_fff0, &[0; 40], 0xffff_fff0);
    let path = dir.write("absurd.pcapng", &ng.0);
    let r = analyze_without_hanging(&path);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_warning(
        &r,
        &path,
        &format!(
            "damaged record at byte {at} (after frame 2): pcapng block claims 4294967280 bytes, \
             more than any packet block can hold; the rest of the file was skipped"
        ),
    );
    assert_ping_listed(&r, 1);
    assert_eq!(counts(&path), (2, 2, 0, false));
}

#[test]
fn packet_naming_an_interface_that_does_not_exist() {
    let dir = scratch("no-interface");
    let mut ng = good_pcapng();
    ng.epb(7, 1_700_000_001, &request(2));
    let path = dir.write("no-interface.pcapng", &ng.0);
    let r = analyze(&path);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stderr, "");
    assert_ping_listed(&r, 1);
    assert_left_out(&r, &path, 1, 3);
    let evidence = "frame 3      packet names an interface the capture never described";
    assert!(r.stdout.contains(evidence), "{}", r.stdout);
    assert_eq!(counts(&path), (3, 2, 1, false));
}

/// An interface description block with a name option.
fn named_interface(ng: &mut Ng, link_type: u16, name: &[u8]) {
    let mut body = link_type.to_le_bytes().to_vec();
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&2u16.to_le_bytes());
    body.extend_from_slice(&(name.len() as u16).to_le_bytes());
    body.extend_from_slice(name);
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    body.extend_from_slice(&[0; 4]);
    ng.block(IDB, &body);
}

#[test]
fn more_interfaces_than_any_capture_describes() {
    let dir = scratch("many-interfaces");
    let mut ng = good_pcapng();
    // A name of 60 000 characters is kept to its first 256.
    named_interface(&mut ng, 1, &[b'n'; 60_000]);
    for _ in 2..65_536 {
        ng.interface(1);
    }
    let at = ng.0.len();
    ng.interface(1);
    ng.epb(0, 1_700_000_001, &request(2));
    let path = dir.write("interfaces.pcapng", &ng.0);
    let r = analyze(&path);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_warning(
        &r,
        &path,
        &format!(
            "damaged record at byte {at} (after frame 2): more than 65536 interface \
             descriptions; the rest of the file was skipped"
        ),
    );
    assert_ping_listed(&r, 1);
    let names = capture_entry(&path)["interfaces"].clone();
    let names = names.as_array().expect("interface names");
    assert_eq!(names.len(), 65_536);
    assert_eq!(names[1], Value::String("n".repeat(256)));
}

#[test]
fn packets_over_every_link_type() {
    let dir = scratch("link-types");
    // 65 536 interfaces, one of each link type (Ethernet first), and 100 000
    // packets spread over them: each packet costs what it costs on one.
    let mut ng = good_pcapng();
    for link_type in (0..=u16::MAX).filter(|&t| t != 1) {
        ng.interface(link_type);
    }
    for n in 0..100_000u32 {
        ng.epb(1 + (n * 7919) % 65_535, 1_700_000_001, &[0; 4]);
    }
    let path = dir.write("link-types.pcapng", &ng.0);
    let started = Instant::now();
    let r = analyze(&path);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_ping_listed(&r, 1);
    let c = capture_entry(&path);
    assert_eq!(c["packets"], 100_002);
    assert_eq!(c["link_types"].as_array().unwrap().len(), 65_536);
}

/// An interface description block with an `if_tsoffset` (seconds).
fn interface_with_offset(ng: &mut Ng, offset_s: i64) {
    let mut body = 1u16.to_le_bytes().to_vec();
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&14u16.to_le_bytes());
    body.extend_from_slice(&8u16.to_le_bytes());
    body.extend_from_slice(&offset_s.to_le_bytes());
    body.extend_from_slice(&[0; 4]);
    ng.block(IDB, &body);
}

#[test]
fn timestamps_at_the_ends_of_time() {
    // The request on an interface whose clock offset is ten billion seconds
    // back, the reply on one ten billion seconds ahead: both timestamps are
    // clamped, and the round trip between them is the largest there is.
    let dir = scratch("time-ends");
    let mut ng = Ng::new();
    interface_with_offset(&mut ng, -10_000_000_000);
    interface_with_offset(&mut ng, 10_000_000_000);
    ng.epb(0, u64::from(u32::MAX), &request(1));
    ng.epb(1, 0, &reply(1));
    let path = dir.write("time-ends.pcapng", &ng.0);
    let r = analyze(&path);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stderr, "");
    assert_ping_listed(&r, 1);
    let d = run(&["decode", path.to_str().unwrap()]);
    assert_eq!(d.code, Some(0), "{}", d.stderr);
    assert_eq!(d.stdout.lines().count(), 2);
}

// ---------------------------------------------------------------------------
// Frames that never end: extension headers, nested tunnels
// ---------------------------------------------------------------------------

#[test]
fn endless_ipv6_extension_header_chains() {
    let dir = scratch("ext-chain");
    // 8000 destination-options headers, each naming another after it, as many
    // as the largest IPv6 payload holds: the chain never ends.
    let mut chain = Vec::new();
    for _ in 0..8000 {
        chain.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
    }
    let endless = over_isatap(STATION_V4, ROUTER_V4, &ipv6(60, STATION, CLIENT, &chain));
    // Routing headers of the largest length, chained to the end of the payload.
    let mut chain = Vec::new();
    for _ in 0..31 {
        let mut h = vec![0u8; 2048];
        h[0] = 43;
        h[1] = 255;
        chain.extend_from_slice(&h);
    }
    let longest = over_isatap(STATION_V4, ROUTER_V4, &ipv6(43, STATION, CLIENT, &chain));
    // 7000 headers that do end, in "no next header".
    let mut chain = Vec::new();
    for i in 0..7000 {
        let next = if i == 6999 { 59 } else { 60 };
        chain.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]);
    }
    let ending = over_isatap(STATION_V4, ROUTER_V4, &ipv6(60, STATION, CLIENT, &chain));
    let mut p = good_pcap(262_144);
    p.record(1_700_000_001, &endless);
    p.record(1_700_000_002, &longest);
    p.record(1_700_000_003, &ending);
    let path = dir.write("ext-chain.pcap", &p.0);
    let r = analyze_without_hanging(&path);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stderr, "");
    assert_ping_listed(&r, 1);
    // The chains that run past the payload are damaged frames, named with the
    // offset where the payload ends (Ethernet 14 + IPv4 20 + IPv6 40 + payload);
    // they are not blamed on the capture's snapshot length.
    assert_left_out(&r, &path, 2, 5);
    for (frame, offset) in [(3, 74 + 64_000), (4, 74 + 63_488)] {
        let evidence = format!(
            "frame {frame:<6} ipv6-extension at offset {offset}: extension headers run past the IP payload length"
        );
        assert!(r.stdout.contains(&evidence), "{evidence}: {}", r.stdout);
    }
    assert!(!r.stdout.contains("snapshot length"), "{}", r.stdout);
    assert_eq!(counts(&path), (5, 3, 2, false));
    let d = run(&["decode", path.to_str().unwrap()]);
    assert_eq!(d.code, Some(0), "{}", d.stderr);
    let lines: Vec<&str> = d.stdout.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(
        lines[2].ends_with(
            "[ipv6-extension at offset 64074: extension headers run past the IP payload length]"
        ),
        "{}",
        lines[2]
    );
    assert!(
        lines[4].ends_with(&format!("IPv6 {STATION} > {CLIENT} hlim 64")),
        "{}",
        lines[4]
    );
}

/// IPv4 carrying IPv6 carrying IPv6 ... `levels` IP headers, an echo inside.
fn nested_protocol_41(levels: usize) -> Vec<u8> {
    let mut packet = echo(128, 9);
    let mut next = 58;
    for _ in 1..levels {
        packet = ipv6(next, STATION, CLIENT, &packet);
        next = 41;
    }
    over_isatap(STATION_V4, ROUTER_V4, &packet)
}

#[test]
fn protocol_41_nested_beyond_the_depth_cap() {
    let dir = scratch("nested");
    let mut p = good_pcap(262_144);
    p.record(1_700_000_001, &nested_protocol_41(6));
    p.record(1_700_000_002, &nested_protocol_41(4000));
    let path = dir.write("nested.pcap", &p.0);
    let r = analyze_without_hanging(&path);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stderr, "");
    assert_ping_listed(&r, 1);
    assert_left_out(&r, &path, 2, 4);
    // Ethernet 14 + IPv4 20 + four IPv6 headers of 40: the fifth tunnel layer.
    for frame in [3, 4] {
        let evidence = format!("frame {frame:<6} ipv6 at offset 194: more than 4 nested tunnels");
        assert!(r.stdout.contains(&evidence), "{evidence}: {}", r.stdout);
    }
    assert_eq!(counts(&path), (4, 2, 2, false));
}

// ---------------------------------------------------------------------------
// gzip
// ---------------------------------------------------------------------------

/// Peak resident memory of a running child, polled from /proc (Linux).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A pcap header and then 8 GiB of 256 KiB records of zeros, compressed about
/// a thousandfold (one small gzip member repeated: a multi-member stream).
#[test]
fn gzip_bomb_is_stopped_quickly_in_bounded_memory() {
    let dir = scratch("bomb");
    let path = dir.0.join("bomb.pcap.gz");
    {
        let mut out = io::BufWriter::new(fs::File::create(&path).unwrap());
        out.write_all(&gzip(&Pcap::new(262_144, 1).0)).unwrap();
        let mut record = Pcap(Vec::new());
        record.record(0, &vec![0u8; 262_144]);
        let member = gzip(&record.0);
        for _ in 0..32_768 {
            out.write_all(&member).unwrap();
        }
        out.flush().unwrap();
    }
    let compressed = fs::metadata(&path).unwrap().len();
    assert!(compressed < 16 << 20, "bomb is {compressed} bytes");
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["analyze", path.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the bomb is still being read"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let prefix = format!(
        "isatap-trace: warning: {}: damaged record at byte ",
        path.display()
    );
    assert!(stderr.starts_with(&prefix), "{stderr}");
    // Where exactly it stops depends on read sizes: just past 256 MiB.
    assert!(
        stderr.contains("): gzip data expands more than 200:1 ("),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(
            "; this is not a packet capture (decompression bomb?); the rest of the file was skipped\n"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stdout.contains("[warning] capture-malformed"), "{stdout}");
    // Memory: the read buffer and the analysis state, never the decompressed data.
    assert!(peak < 256 << 10, "peak RSS {peak} KiB");
    println!("bomb of {compressed} bytes stopped in {elapsed:?}, peak RSS {peak} KiB");
}

#[test]
fn truncated_gzip() {
    let dir = scratch("gzip-cut");
    // The answered ping, then 2000 more pings: enough to span many deflate blocks.
    let mut p = good_pcap(65535);
    for seq in 2..2002 {
        p.record(1_700_000_000 + u32::from(seq), &request(seq));
        p.record(1_700_000_000 + u32::from(seq), &reply(seq));
    }
    let gz = gzip(&p.0);
    let path = dir.write("cut.pcap.gz", &gz[..gz.len() / 2]);
    let r = analyze(&path);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let prefix = format!(
        "isatap-trace: warning: {}: file ends in the middle of a record at byte ",
        path.display()
    );
    assert!(r.stderr.starts_with(&prefix), "{}", r.stderr);
    assert!(
        r.stderr.ends_with("; the frames before it were read\n"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("[warning] capture-truncated"),
        "{}",
        r.stdout
    );
    let (packets, decoded, malformed, truncated) = counts(&path);
    assert!(packets > 100 && packets < 4002, "{packets}");
    assert_eq!((decoded, malformed, truncated), (packets, 0, true));
    // Every whole ping before the cut is in the report.
    let pings = packets / 2;
    assert_ping_listed(&r, pings as u32);

    // Cut inside the gzip header itself: nothing to read.
    let path = dir.write("cut-header.pcap.gz", &gz[..5]);
    let r = analyze(&path);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with(&format!("isatap-trace: {}: ", path.display())),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
}

// ---------------------------------------------------------------------------
// Terminal safety
// ---------------------------------------------------------------------------

/// Text that would move the cursor, clear the screen, ring the bell, set the
/// window title, or reorder what follows it on screen.
const HOSTILE: &str =
    "eth0\u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m\u{85}\u{202e}1gnp.exe\u{2066}x\u{2069}\r\n";

/// Byte sequences no terminal output may hold: C0 controls but newline, DEL,
/// the UTF-8 forms of C1 controls, and bidirectional overrides and isolates.
fn assert_terminal_safe(what: &str, out: &[u8]) {
    for (i, &b) in out.iter().enumerate() {
        let c0 = (b < 0x20 && b != b'\n') || b == 0x7f;
        let c1 = b == 0xc2 && out.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n));
        let bidi = b == 0xe2
            && out.get(i + 1) == Some(&0x80)
            && out
                .get(i + 2)
                .is_some_and(|n| matches!(n, 0x8e | 0x8f | 0xaa..=0xae))
            || b == 0xe2
                && out.get(i + 1) == Some(&0x81)
                && out.get(i + 2).is_some_and(|n| (0xa6..=0xa9).contains(n));
        assert!(
            !(c0 || c1 || bidi),
            "{what}: unsafe byte {b:#04x} at {i} in:\n{}",
            String::from_utf8_lossy(out)
        );
    }
}

/// `path` rewritten with `name` for every interface and `comment` on every packet.
fn rewrite(path: &Path, name: &str, comment: Option<&str>) -> Vec<u8> {
    let mut file = CaptureFile::open(path).unwrap();
    let mut frames = Vec::new();
    let summary = file.for_each_frame(|f| {
        frames.push((f.interface, f.ts_ns, f.orig_len, f.bytes.to_vec()));
    });
    let mut w = PcapngWriter::new(Vec::new(), "hostile").unwrap();
    for i in &summary.interfaces {
        w.add_interface(i.link_type, Some(name)).unwrap();
    }
    for (interface, ts, orig_len, bytes) in frames {
        w.write_packet(interface, ts, orig_len, &bytes, comment)
            .unwrap();
    }
    w.into_inner().unwrap()
}

#[test]
fn escape_sequences_in_comments_and_interface_names() {
    let dir = scratch("escapes");
    let mut w = PcapngWriter::new(Vec::new(), "hostile").unwrap();
    let eth = w.add_interface(1, Some(HOSTILE)).unwrap();
    let t = 1_700_000_000_000_000_000;
    let frames = [request(1), reply(1)];
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(eth, t + i as i64, f.len() as u32, f, Some(HOSTILE))
            .unwrap();
    }
    let mut bytes = w.into_inner().unwrap();
    // And a comment that is not even UTF-8: a raw C1 CSI byte.
    let mut ng = Ng(Vec::new());
    let mut body = Vec::new();
    for v in [0u32, 0, 0, request(2).len() as u32, request(2).len() as u32] {
        body.extend_from_slice(&v.to_le_bytes());
    }
    body.extend_from_slice(&request(2));
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let raw_comment = b"\x9b2J\x1b[31m\xff";
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&(raw_comment.len() as u16).to_le_bytes());
    body.extend_from_slice(raw_comment);
    ng.block(EPB, &body);
    bytes.extend_from_slice(&ng.0);
    let path = dir.write("station.pcapng", &bytes);

    let d = run(&["decode", path.to_str().unwrap()]);
    assert_eq!(d.code, Some(0), "{}", d.stderr);
    assert_eq!(d.stdout.lines().count(), 3);
    assert!(
        d.stdout
            .contains(" # eth0?[2J?]0;owned??31m??1gnp.exe?x???\n"),
        "{}",
        d.stdout
    );
    assert_terminal_safe("decode", d.stdout.as_bytes());
    assert_terminal_safe("decode warnings", d.stderr.as_bytes());
    // JSON escapes them: the same text, safe to print.
    let d = run(&["decode", "--format", "json", path.to_str().unwrap()]);
    assert_eq!(d.code, Some(0), "{}", d.stderr);
    assert_terminal_safe("decode json", d.stdout.as_bytes());
    let first: Value = serde_json::from_str(d.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["comment"], Value::String(HOSTILE.to_owned()));

    for format in ["text", "markdown", "json"] {
        let r = run(&["analyze", "--format", format, path.to_str().unwrap()]);
        assert!(matches!(r.code, Some(0 | 1)), "{}", r.stderr);
        assert_terminal_safe(format, r.stdout.as_bytes());
        assert_terminal_safe(format, r.stderr.as_bytes());
    }
    let r = analyze(&path);
    assert!(
        r.stdout
            .contains("interfaces: eth0?[2J?]0;owned??31m??1gnp.exe?x???\n"),
        "{}",
        r.stdout
    );
    assert_eq!(
        capture_entry(&path)["interfaces"][0],
        Value::String(HOSTILE.to_owned())
    );
}

/// The router's own capture names the interface the fix commands use: a name
/// full of escape sequences must not reach the terminal through them.
#[test]
fn escape_sequences_in_an_interface_name_used_by_a_fix() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/wrong-next-hop");
    let dir = scratch("escapes-fix");
    let mut args = vec!["analyze".to_owned()];
    for name in ["station", "router", "dav01", "dav02"] {
        let src = scenario.join(format!("{name}.pcapng"));
        let path = dir.write(&format!("{name}.pcapng"), &rewrite(&src, HOSTILE, None));
        args.push(path.to_str().unwrap().to_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for format in ["text", "markdown", "json"] {
        let mut with_format = args.clone();
        with_format.splice(1..1, ["--format", format]);
        let r = run(&with_format);
        assert_eq!(r.code, Some(1), "{format}: {}", r.stderr);
        assert!(r.stdout.contains("wrong-next-hop"), "{}", r.stdout);
        assert!(
            r.stdout.contains("netsh interface ipv6 add route"),
            "{}",
            r.stdout
        );
        assert_terminal_safe(format, r.stdout.as_bytes());
    }
    let mut topology = args.clone();
    topology[0] = "topology";
    let r = run(&topology);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_terminal_safe("topology", r.stdout.as_bytes());
}

/// Captures come with their file names: those reach reports, labels,
/// warnings and errors, never the terminal's control sequences.
#[test]
fn escape_sequences_in_file_names() {
    let dir = scratch("escaped-names");
    let name = "dav\u{1b}[2J\u{9b}1m\u{202e}01";
    let mut cut = good_pcap(65535).0;
    cut.truncate(cut.len() - 10);
    let damaged = dir.write(&format!("{name}.pcap"), &cut);
    let unreadable = dir.write(&format!("{name}.txt"), b"not a capture");
    let (damaged, unreadable) = (damaged.to_str().unwrap(), unreadable.to_str().unwrap());

    let r = run(&["analyze", damaged, unreadable]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_terminal_safe("analyze", r.stdout.as_bytes());
    assert_terminal_safe("analyze messages", r.stderr.as_bytes());
    assert!(r.stdout.contains("  dav_[2J_1m_01 "), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("dav?[2J?1m?01.txt: not a pcap or pcapng capture"),
        "{}",
        r.stderr
    );
    for format in ["markdown", "json"] {
        let r = run(&["analyze", "--format", format, damaged]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert_terminal_safe(format, r.stdout.as_bytes());
        assert_terminal_safe(format, r.stderr.as_bytes());
    }
    let r = run(&["decode", damaged]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("warning"), "{}", r.stderr);
    assert_terminal_safe("decode messages", r.stderr.as_bytes());
    let r = run(&["topology", damaged]);
    assert_terminal_safe("topology", r.stdout.as_bytes());
}

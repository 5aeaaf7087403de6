//! What each fuzz target does with its bytes, shared with the regression test
//! (`tests/fuzz_regressions.rs` replays every crash input kept in
//! `tests/data/fuzz/<target>/` through the same functions).
//!
//! Beyond "does not panic" each one checks: frames come out in order and
//! bounded, messages, text and JSON (both may be printed on a terminal) carry
//! no control character, escape sequence or bidirectional override, and JSON
//! parses.

#![allow(dead_code)]

use std::io::{Cursor, Read};
use std::path::Path;

use isatap_trace::capture::Frame;
use isatap_trace::capture::file::{CaptureFile, FileSummary, LINKTYPE_NO_INTERFACE, MAX_RECORD};
use isatap_trace::cli::{CaptureSpec, ReportFormat};
use isatap_trace::commands::analyze::render;
use isatap_trace::commands::pipeline::{conclude, gather};
use isatap_trace::decode::{MAX_TUNNEL_DEPTH, decode};
use isatap_trace::flow::{Limits, observe};
use isatap_trace::report::frame_line;

/// The targets, by name.
pub const TARGETS: [&str; 4] = ["pcap_reader", "pcapng_reader", "decode_frame", "analyze"];

/// Classic pcap magic numbers: either byte order, µs or ns, the modified format.
const PCAP_MAGICS: [[u8; 4]; 5] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x34, 0xcd, 0xb2, 0xa1],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Link types `decode_frame` picks from (`fuzz/seed.py` knows this order).
pub const LINK_TYPES: [u32; 16] = [
    1,   // Ethernet
    113, // Linux SLL
    276, // Linux SLL2
    101, // raw IP
    228, // raw IPv4
    229, // raw IPv6
    0,   // BSD null
    108, // OpenBSD loopback
    9,   // PPP
    107, // Frame Relay
    242, // IP over InfiniBand
    12,  // raw IP (historical)
    14,  // raw IP (historical)
    LINKTYPE_NO_INTERFACE,
    147, // a link type the decoder does not read
    1,   // Ethernet again: the common case
];

/// Bytes as a classic pcap file. The first byte picks the magic number and
/// the rest is the file after its magic; from 0xf0 up, the rest is the whole
/// file as gzip data (seeded with compressed captures, so the fuzzer mutates
/// the gzip stream: cut short, corrupt, expanding).
pub fn pcap_reader(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let file = if selector >= 0xf0 {
        rest.to_vec()
    } else {
        let mut file = PCAP_MAGICS[usize::from(selector) % PCAP_MAGICS.len()].to_vec();
        file.extend_from_slice(rest);
        file
    };
    walk("fuzz.pcap", file);
}

/// Bytes as a pcapng file: a selector byte, then the file after its block
/// type magic; with a selector from 0xf0 up, the whole file as gzip data.
pub fn pcapng_reader(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let file = if selector >= 0xf0 {
        rest.to_vec()
    } else {
        let mut file = PCAPNG_MAGIC.to_vec();
        file.extend_from_slice(rest);
        file
    };
    walk("fuzz.pcapng", file);
}

/// Bytes as one frame. The first byte picks the link type; the second, if not
/// zero, is the length of a packet comment taken from the end of the input.
/// The frame is decoded, observed as the correlation would, and printed as
/// `decode` prints it (text must be terminal-safe, JSON must parse).
pub fn decode_frame(data: &[u8]) {
    let [selector, comment_len, rest @ ..] = data else {
        return;
    };
    let link_type = LINK_TYPES[usize::from(*selector) % LINK_TYPES.len()];
    let comment_len = usize::from(*comment_len).min(rest.len());
    let (bytes, comment) = rest.split_at(rest.len() - comment_len);
    let frame = Frame {
        index: 1,
        ts_ns: i64::from(*selector) * 1_000_000_007,
        link_type,
        interface: 0,
        orig_len: bytes.len() as u32,
        bytes,
        comment: (comment_len > 0).then_some(comment),
    };
    let d = decode(&frame);
    assert!(d.ips.len() <= MAX_TUNNEL_DEPTH + 1);
    for ip in &d.ips {
        assert!(ip.offset <= bytes.len(), "IP layer beyond the frame");
    }
    std::hint::black_box(observe(&frame, &d));
    if let Some(e) = d.error {
        assert_terminal_safe(&e.to_string());
    }
    let mut line = String::new();
    frame_line::write_text(&mut line, &frame, &d);
    assert!(!line.contains('\n'), "one line per frame: {line:?}");
    assert_terminal_safe(&line);
    line.clear();
    frame_line::write_json(&mut line, &frame, &d);
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&line) {
        panic!("decode --format json printed invalid JSON ({e}): {line}");
    }
    assert_terminal_safe(&line);
}

/// Bytes as one capture file through the whole `analyze` pipeline: read,
/// decode, correlate, infer the topology, diagnose, and render the report as
/// text (which must be terminal-safe), JSON (which must parse) and Markdown.
/// The pipeline reads captures by path, so the bytes go to `scratch` first.
pub fn analyze(data: &[u8], scratch: &Path) {
    if std::fs::write(scratch, data).is_err() {
        return;
    }
    // Labelled as the router's capture, so that its interface names are
    // candidates for the fix commands (as they are in real use).
    let specs = [CaptureSpec {
        label: "router".into(),
        path: scratch.to_path_buf(),
    }];
    let mut gathered = gather(&specs, Limits::default());
    for e in &gathered.unreadable {
        assert_terminal_safe(&e.to_string());
    }
    if gathered.infos.is_empty() {
        return;
    }
    let report = conclude(&mut gathered, None);
    let mut text = Vec::new();
    render(&report, ReportFormat::Text, &mut text, false).expect("text report");
    let text = String::from_utf8(text).expect("text report is UTF-8");
    assert_terminal_safe(&text);
    let mut json = Vec::new();
    render(&report, ReportFormat::Json, &mut json, false).expect("JSON report");
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&json) {
        panic!("invalid JSON report ({e})");
    }
    assert_terminal_safe(&String::from_utf8(json).expect("JSON report is UTF-8"));
    let mut markdown = Vec::new();
    render(&report, ReportFormat::Markdown, &mut markdown, false).expect("Markdown report");
}

/// Panics if `text` holds anything a terminal could act on (besides newlines).
pub fn assert_terminal_safe(text: &str) {
    // A byte at a time (the checks run instrumented, and reports are long):
    // C0 controls and DEL are single bytes; the other characters that are
    // unsafe all start with 0xc2 (C1 controls) or 0xe2 (bidirectional
    // marks and overrides), and only they are decoded.
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let suspect = (b < b' ' && b != b'\n') || b == 0x7f || b == 0xc2 || b == 0xe2;
        if !suspect {
            continue;
        }
        let c = text[i..].chars().next().unwrap_or('\0');
        let unsafe_char = (c.is_control() && c != '\n')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!unsafe_char, "{c:?} reaches the terminal in {text:?}");
    }
}

/// Opens `file` from memory and walks every frame, checking what the reader
/// promises; messages (errors, damage) must be terminal-safe.
fn walk(name: &str, file: Vec<u8>) -> Option<FileSummary> {
    let reader: Box<dyn Read + Send> = Box::new(Cursor::new(file));
    let mut capture = match CaptureFile::from_reader(Path::new(name), reader) {
        Ok(c) => c,
        Err(e) => {
            assert_terminal_safe(&e.to_string());
            return None;
        }
    };
    let mut delivered = 0u64;
    let mut last_index = 0u64;
    let mut touched = 0u8;
    let summary = capture.for_each_frame(|f| {
        assert!(f.index > last_index, "frame numbers must rise");
        assert!(f.bytes.len() <= MAX_RECORD);
        last_index = f.index;
        delivered += 1;
        touched ^= f.bytes.first().copied().unwrap_or(0);
        if let Some(c) = f.comment {
            touched ^= c.len() as u8;
        }
    });
    std::hint::black_box(touched);
    assert_eq!(summary.packets, delivered);
    assert!(summary.records >= summary.packets);
    if let Some(d) = &summary.damage {
        assert_terminal_safe(&d.to_string());
    }
    Some(summary)
}

//! `isatap-trace decode` as a user runs it: the built binary, its output on
//! stdout, warnings and errors on stderr, and its exit status.

mod common;
use common::Scratch;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use flate2::Compression;
use flate2::write::GzEncoder;
use isatap_trace::capture::pcapng_writer::PcapngWriter;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_isatap-trace");

fn decode(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("decode")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run isatap-trace")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("output is UTF-8")
}

fn corpus_file(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !dir.is_dir() {
        println!("SKIP: {} is absent", dir.display());
        return None;
    }
    let path = dir.join(name);
    assert!(path.is_file(), "corpus file {name} is missing");
    Some(path)
}

macro_rules! corpus {
    ($name:expr) => {
        match corpus_file($name) {
            Some(p) => p,
            None => return,
        }
    };
}

/// A scratch directory of this suite.
fn scratch(tag: &str) -> Scratch {
    Scratch::new("cli-decode", tag)
}

/// Asserts the shape `HH:MM:SS.ffffff`.
fn assert_time_of_day(t: &str) {
    let b = t.as_bytes();
    assert_eq!(b.len(), 15, "{t}");
    for (i, c) in b.iter().enumerate() {
        match i {
            2 | 5 => assert_eq!(*c, b':', "{t}"),
            8 => assert_eq!(*c, b'.', "{t}"),
            _ => assert!(c.is_ascii_digit(), "{t}"),
        }
    }
}

fn assert_clean_exit(out: &Output) {
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Runs `decode` on a path that cannot be read and checks the failure.
fn assert_unreadable(path: &Path, fragment: &str) {
    let out = decode(&[path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(stderr.starts_with("isatap-trace: "), "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains(fragment), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

// ---------------------------------------------------------------------------
// Text and JSON
// ---------------------------------------------------------------------------

#[test]
fn text_line_of_a_tunnelled_echo() {
    let path = corpus!("zeek__ping6-in-ipv4.pcap");
    let out = decode(&[path.to_str().unwrap()]);
    assert_clean_exit(&out);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 10);
    // Values as tshark shows them (time in UTC).
    assert_eq!(
        lines[0],
        "1 11:59:07.487397 IPv4 10.0.0.1 > 10.0.0.2 6in4 | IPv6 2001:db8:0:1::1 > 2001:db8:0:1::2 \
         hlim 64 | ICMPv6 echo-request id 6364 seq 0 len 52"
    );
    for (i, line) in lines.iter().enumerate() {
        let parts: Vec<&str> = line.split(" | ").collect();
        assert_eq!(parts.len(), 3, "{line}");
        let outer: Vec<&str> = parts[0].split(' ').collect();
        assert_eq!(outer[0], (i + 1).to_string(), "{line}");
        assert_time_of_day(outer[1]);
        assert_eq!(
            (outer[2], outer[4], outer[6], outer.len()),
            ("IPv4", ">", "6in4", 7),
            "{line}"
        );
        let inner: Vec<&str> = parts[1].split(' ').collect();
        assert_eq!(
            (inner[0], inner[2], inner[4], inner[5]),
            ("IPv6", ">", "hlim", "64"),
            "{line}"
        );
        let icmp: Vec<&str> = parts[2].split(' ').collect();
        let kind = if i.is_multiple_of(2) {
            "echo-request"
        } else {
            "echo-reply"
        };
        assert_eq!(
            (icmp[0], icmp[1], icmp[2], icmp[3], icmp[4], icmp[5]),
            (
                "ICMPv6",
                kind,
                "id",
                "6364",
                "seq",
                (i / 2).to_string().as_str()
            ),
            "{line}"
        );
    }
}

/// Ethernet + IPv4 (protocol 41) + IPv6 between ISATAP addresses + echo request.
fn isatap_frame() -> Vec<u8> {
    let mut icmp = vec![128, 0, 0, 0, 0x12, 0x34, 0, 7];
    icmp.extend_from_slice(&[0x61; 32]);
    let mut ipv6 = vec![0x60, 0, 0, 0];
    ipv6.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    ipv6.extend_from_slice(&[58, 64]);
    let src: std::net::Ipv6Addr = "fd9c:30c:2da4:1::5efe:172.16.16.5".parse().unwrap();
    let dst: std::net::Ipv6Addr = "fd9c:30c:2da4:1000::7".parse().unwrap();
    ipv6.extend_from_slice(&src.octets());
    ipv6.extend_from_slice(&dst.octets());
    ipv6.extend_from_slice(&icmp);
    let mut ipv4 = vec![0x45, 0];
    ipv4.extend_from_slice(&((20 + ipv6.len()) as u16).to_be_bytes());
    ipv4.extend_from_slice(&[0, 1, 0, 0, 128, 41, 0, 0, 172, 16, 16, 5, 172, 16, 16, 31]);
    ipv4.extend_from_slice(&ipv6);
    let mut frame = vec![
        0x00, 0x15, 0x5d, 1, 2, 0x31, 0x00, 0x15, 0x5d, 1, 2, 5, 0x08, 0x00,
    ];
    frame.extend_from_slice(&ipv4);
    frame
}

/// A pcapng of two ISATAP echo requests, the second with a comment.
fn isatap_capture() -> Vec<u8> {
    let mut w = PcapngWriter::new(Vec::new(), "cli test").unwrap();
    let eth = w.add_interface(1, Some("eth0")).unwrap();
    let frame = isatap_frame();
    let t = 1_700_000_000_123_456_789;
    w.write_packet(eth, t, frame.len() as u32, &frame, None)
        .unwrap();
    w.write_packet(
        eth,
        t + 1_000_000_000,
        frame.len() as u32,
        &frame,
        Some("seen at \u{1b}[31mstation\u{7}"),
    )
    .unwrap();
    w.into_inner().unwrap()
}

#[test]
fn text_line_of_an_isatap_echo_with_a_comment() {
    let dir = scratch("isatap-text");
    let path = dir.write("station.pcapng", &isatap_capture());
    let out = decode(&[path.to_str().unwrap()]);
    assert_clean_exit(&out);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        vec![
            "1 22:13:20.123456 IPv4 172.16.16.5 > 172.16.16.31 isatap | \
             IPv6 fd9c:30c:2da4:1:0:5efe:ac10:1005 > fd9c:30c:2da4:1000::7 hlim 64 | \
             ICMPv6 echo-request id 4660 seq 7 len 32",
            // The comment is shown with its control characters replaced.
            "2 22:13:21.123456 IPv4 172.16.16.5 > 172.16.16.31 isatap | \
             IPv6 fd9c:30c:2da4:1:0:5efe:ac10:1005 > fd9c:30c:2da4:1000::7 hlim 64 | \
             ICMPv6 echo-request id 4660 seq 7 len 32 # seen at ?[31mstation?",
        ]
    );
    assert!(!stdout.contains('\u{1b}'));
}

const JSON_KEYS: [&str; 18] = [
    "frame",
    "ts",
    "link_type",
    "tunnel",
    "outer_src",
    "outer_dst",
    "src",
    "dst",
    "protocol",
    "hop_limit",
    "icmp_type",
    "icmp_code",
    "echo_id",
    "echo_seq",
    "sport",
    "dport",
    "quoted",
    "error",
];

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    text(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn json_lines_of_a_tunnelled_echo() {
    let path = corpus!("zeek__ping6-in-ipv4.pcap");
    let out = decode(&["--format", "json", path.to_str().unwrap()]);
    assert_clean_exit(&out);
    let objects = json_lines(&out.stdout);
    assert_eq!(objects.len(), 10);
    for (i, o) in objects.iter().enumerate() {
        for key in JSON_KEYS {
            assert!(o.get(key).is_some(), "frame {}: no {key}: {o}", i + 1);
        }
        assert_eq!(o["frame"], i as u64 + 1);
        assert_eq!(o["link_type"], 1);
        assert_eq!(o["tunnel"], "6in4");
        assert_eq!(o["protocol"], 58);
        assert_eq!(o["hop_limit"], 64);
        assert_eq!(o["icmp_type"], if i.is_multiple_of(2) { 128 } else { 129 });
        assert_eq!(o["icmp_code"], 0);
        assert_eq!(o["echo_id"], 6364);
        assert_eq!(o["echo_seq"], i as u64 / 2);
        assert!(o["sport"].is_null() && o["dport"].is_null());
        assert!(o["quoted"].is_null() && o["error"].is_null());
    }
    let first = &objects[0];
    assert_eq!(first["outer_src"], "10.0.0.1");
    assert_eq!(first["outer_dst"], "10.0.0.2");
    assert_eq!(first["src"], "2001:db8:0:1::1");
    assert_eq!(first["dst"], "2001:db8:0:1::2");
    // Epoch seconds with all nine digits (the raw text, not a rounded float).
    let raw = text(&out.stdout);
    assert!(
        raw.starts_with("{\"frame\":1,\"ts\":1214308747.487397000,"),
        "{raw}"
    );
}

#[test]
fn json_of_quotes_errors_and_comments() {
    let dir = scratch("json-mixed");
    let path = dir.write("station.pcapng", &isatap_capture());
    let out = decode(&["-f", "json", path.to_str().unwrap()]);
    assert_clean_exit(&out);
    let objects = json_lines(&out.stdout);
    assert_eq!(objects[0]["tunnel"], "isatap");
    assert_eq!(objects[0]["outer_dst"], "172.16.16.31");
    // RFC 5952: a single zero field is not shortened to `::`.
    assert_eq!(objects[0]["src"], "fd9c:30c:2da4:1:0:5efe:ac10:1005");
    assert!(objects[0].get("comment").is_none());
    assert_eq!(objects[1]["comment"], "seen at \u{1b}[31mstation\u{7}");

    let path = corpus!("zeek__icmp6-timeexceeded.pcap");
    let out = decode(&["--format=json", path.to_str().unwrap()]);
    assert_clean_exit(&out);
    let o = &json_lines(&out.stdout)[0];
    assert_eq!(o["icmp_type"], 3);
    let q = &o["quoted"];
    assert!(q.is_object(), "{o}");
    for key in ["src", "dst", "protocol", "hop_limit"] {
        assert!(q.get(key).is_some(), "{q}");
    }

    let path = corpus!("tcpdump__ipv6_39_byte_header.pcap");
    let out = decode(&["--format", "json", path.to_str().unwrap()]);
    assert_clean_exit(&out);
    let o = &json_lines(&out.stdout)[0];
    let error = o["error"].as_str().expect("a cut header is an error");
    assert!(error.contains("truncated"), "{error}");
}

// ---------------------------------------------------------------------------
// stdin
// ---------------------------------------------------------------------------

fn decode_stdin(args: &[&str], input: Vec<u8>) -> Output {
    let mut child = Command::new(BIN)
        .arg("decode")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run isatap-trace");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn stdin_reads_like_a_file() {
    let path = corpus!("zeek__ping6-in-ipv4.pcap");
    let bytes = fs::read(&path).unwrap();
    let by_path = decode(&[path.to_str().unwrap()]);
    assert_clean_exit(&by_path);
    let by_stdin = decode_stdin(&["-"], bytes.clone());
    assert_clean_exit(&by_stdin);
    assert_eq!(text(&by_stdin.stdout), text(&by_path.stdout));

    // Compressed on stdin too.
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&bytes).unwrap();
    let by_stdin = decode_stdin(&["-f", "json", "-"], gz.finish().unwrap());
    assert_clean_exit(&by_stdin);
    assert_eq!(json_lines(&by_stdin.stdout).len(), 10);

    // Text on stdin is refused like a text file.
    let out = decode_stdin(&["-"], b"hello\n".to_vec());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("-: not a pcap or pcapng capture"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------
// Exit status 2
// ---------------------------------------------------------------------------

#[test]
fn unreadable_inputs_exit_2_naming_the_file() {
    let dir = scratch("unreadable");
    assert_unreadable(&dir.0.join("does-not-exist.pcap"), "No such file");
    assert_unreadable(&dir.0, "is a directory");
    let notes = dir.write("notes.txt", b"GET / HTTP/1.1\r\nHost: example\r\n\r\n");
    assert_unreadable(&notes, "not a pcap or pcapng capture");
    let empty = dir.write("empty.pcap", b"");
    assert_unreadable(&empty, "the file is empty");
    let short = dir.write("short.pcap", &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]);
    assert_unreadable(&short, "ends inside its pcap header");
}

#[test]
fn damaged_header_in_the_corpus_exits_2() {
    let path = corpus!("libpcap__pcap-invalid-version-1.pcap");
    assert_unreadable(&path, "pcap version 1.4 is not supported");
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(BIN).arg("decode").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = decode(&["--format", "xml", "x.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("xml"));
}

// ---------------------------------------------------------------------------
// Damaged captures: the frames, then a warning, exit 0
// ---------------------------------------------------------------------------

#[test]
fn truncated_capture_warns_and_exits_0() {
    let path = corpus!("scapy__bad_rsn_parsing_overrides_ssid.pcap");
    let out = decode(&[path.to_str().unwrap()]);
    assert_clean_exit(&out);
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let stderr = text(&out.stderr);
    let warning = stderr
        .lines()
        .find(|l| l.contains("file ends in the middle of a record"))
        .unwrap_or_else(|| panic!("no truncation warning: {stderr}"));
    assert!(warning.starts_with("isatap-trace: warning: "), "{warning}");
    assert!(warning.contains(&path.display().to_string()), "{warning}");
    assert!(warning.contains("after frame 1"), "{warning}");

    // A capture cut by hand: every whole frame, then the warning.
    let dir = scratch("cut");
    let capture = isatap_capture();
    let cut = dir.write("cut.pcapng", &capture[..capture.len() - 10]);
    let out = decode(&[cut.to_str().unwrap()]);
    assert_clean_exit(&out);
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cut.pcapng"), "{stderr}");
    assert!(stderr.contains("warning"), "{stderr}");
}

#[test]
fn malformed_record_warns_and_exits_0() {
    let path = corpus!("suricata-verify__tls_DER-incomplete-header.pcap");
    let out = decode(&[path.to_str().unwrap()]);
    assert_clean_exit(&out);
    assert_eq!(text(&out.stdout).lines().count(), 6);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("damaged record at byte 5035 (after frame 6)"),
        "{stderr}"
    );
    assert!(stderr.contains("suricata-verify__tls_DER-incomplete-header.pcap"));
}

// ---------------------------------------------------------------------------
// A closed pipe
// ---------------------------------------------------------------------------

#[test]
fn closed_pipe_ends_quietly() {
    let path = corpus!("pcap-parser__wireshark_samples-test.pcapng");
    for format in ["text", "json"] {
        let mut child = Command::new(BIN)
            .args(["decode", "--format", format, path.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let start = if format == "text" {
            "1 "
        } else {
            "{\"frame\":1,"
        };
        assert!(first.starts_with(start), "{first}");
        // `| head -1`: the reader goes away after one line.
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{format}: {:?}: {stderr}", out.status);
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
}

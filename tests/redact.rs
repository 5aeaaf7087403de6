//! `--redact` over every sample scenario and every output (text, JSON,
//! Markdown, HTML, exported pcapng): no original address appears anywhere —
//! dotted IPv4, canonical and expanded IPv6, the /48 of a site, the IPv4
//! embedded in ISATAP/6to4/Teredo addresses in hex or dotted form, MACs —
//! except the ones kept on purpose (multicast, unspecified, loopback,
//! broadcast); the findings are the same as without `--redact`; the embedded
//! IPv4 of ISATAP sources still agrees (or disagrees) with the outer IPv4;
//! exported checksums verify. Also: every frame of the shared corpus is
//! rewritten without panic into a frame that decodes to the same layers with
//! the mapped addresses.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use common::{analyze, available, capture_args, read, run_for, work_dir};
use isatap_trace::capture::file::CaptureFile;
use isatap_trace::decode::addr::{isatap_ipv4, six_to_four_ipv4, teredo};
use isatap_trace::decode::{Transport, decode_bytes};
use isatap_trace::redact::{Key, Redactor};
use serde_json::Value;

/// The redactor the CLI uses under the tests' fixed key.
fn redactor() -> Redactor {
    Redactor::new(Key::from_secret(b"integration-test"))
}

fn is_addr_char(c: char) -> bool {
    c.is_ascii_hexdigit() || c == ':' || c == '.'
}

/// Every address-looking token of `text`.
fn addresses_in(text: &str, ips: &mut BTreeSet<IpAddr>, macs: &mut BTreeSet<[u8; 6]>) {
    for token in text.split(|c: char| !is_addr_char(c)) {
        let token = token.trim_end_matches('.');
        if let Ok(ip) = token.parse::<IpAddr>() {
            ips.insert(ip);
        } else if token.len() == 17 && token.matches(':').count() == 5 {
            let bytes: Vec<u8> = token
                .split(':')
                .filter_map(|b| u8::from_str_radix(b, 16).ok())
                .collect();
            if let Ok(mac) = <[u8; 6]>::try_from(bytes) {
                macs.insert(mac);
            }
        }
    }
}

/// How a form must be delimited to count as the address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Form {
    /// A dotted quad, standing alone or after an IPv6 `:`.
    Dotted,
    /// A whole IPv6 address.
    V6,
    /// The first 48 bits of an IPv6 address (`fd9c:30c:2da4:`), at a token start.
    Site,
    /// Two hex groups of an embedded IPv4 (`ac10:1032`), inside an IPv6 address.
    Hex,
    Mac,
}

/// The forms of an address that must not survive.
fn forbidden_forms(ip: IpAddr, out: &mut BTreeSet<(String, Form)>) {
    match ip {
        IpAddr::V4(v4) => {
            out.insert((v4.to_string(), Form::Dotted));
        }
        IpAddr::V6(v6) => {
            out.insert((v6.to_string(), Form::V6));
            let s = v6.segments();
            let expanded = s
                .iter()
                .map(|g| format!("{g:04x}"))
                .collect::<Vec<_>>()
                .join(":");
            out.insert((expanded, Form::V6));
            if !v6.is_unicast_link_local() && s[0] != 0 && s[0] >> 8 != 0xff {
                out.insert((format!("{:x}:{:x}:{:x}:", s[0], s[1], s[2]), Form::Site));
            }
            let embedded = [
                isatap_ipv4(&v6),
                six_to_four_ipv4(&v6),
                teredo(&v6).map(|t| t.client),
                teredo(&v6).map(|t| t.server),
            ];
            for v4 in embedded.into_iter().flatten() {
                let o = v4.octets();
                out.insert((v4.to_string(), Form::Dotted));
                let hex = format!(
                    "{:x}:{:x}",
                    u16::from_be_bytes([o[0], o[1]]),
                    u16::from_be_bytes([o[2], o[3]])
                );
                out.insert((hex, Form::Hex));
            }
        }
    }
}

/// `needle` occurs in `hay` as the address (not as part of a longer one).
fn occurs(hay: &str, needle: &str, form: Form) -> bool {
    let hex = |c: Option<char>| c.is_some_and(|c| c.is_ascii_hexdigit());
    let digit_or_dot = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
    let colon = |c: Option<char>| c == Some(':');
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        match form {
            Form::Dotted => !digit_or_dot(before) && !digit_or_dot(after),
            Form::V6 => {
                !hex(before) && !colon(before) && !hex(after) && !colon(after) && after != Some('.')
            }
            Form::Site => !hex(before) && !colon(before),
            Form::Hex | Form::Mac => !hex(before) && !hex(after),
        }
    })
}

fn kinds_and_evidence(report: &Value) -> Vec<(String, String, Vec<String>)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                f["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| format!("{}#{}", e["capture"], e["frame"]))
                    .collect(),
            )
        })
        .collect()
}

/// Whether each ISATAP-tunnelled path entry's outer source is the IPv4 its
/// flow's source embeds.
fn source_checks(report: &Value) -> Vec<bool> {
    let mut out = Vec::new();
    for f in report["flows"].as_array().unwrap() {
        let src: Option<Ipv6Addr> = f["src"].as_str().and_then(|s| s.parse().ok());
        for p in f["path"].as_array().unwrap() {
            if p["tunnel"]["kind"] == "isatap" {
                let outer: Ipv4Addr = p["tunnel"]["src"].as_str().unwrap().parse().unwrap();
                out.push(src.and_then(|s| isatap_ipv4(&s)) == Some(outer));
            }
        }
    }
    out
}

#[test]
fn redacted_outputs_hold_no_original_address() {
    let r = redactor();
    let tshark = available("tshark");
    if !tshark {
        println!("SKIP (tshark part): tshark not installed");
    }
    let mut failures = Vec::new();
    for scenario in common::scenarios() {
        let dir = work_dir(&format!("redact-{scenario}"));
        // The originals: every address the captures and the plain report show.
        let mut ips = BTreeSet::new();
        let mut macs = BTreeSet::new();
        for capture in capture_args(&scenario) {
            let out = run_for(
                common::isatap_trace().args(["decode", &capture]),
                Duration::from_secs(60),
            );
            addresses_in(&String::from_utf8_lossy(&out.stdout), &mut ips, &mut macs);
        }
        let plain = analyze(&scenario, &["--format", "json"]);
        let plain_text = String::from_utf8_lossy(&plain.stdout).into_owned();
        addresses_in(&plain_text, &mut ips, &mut macs);
        addresses_in(
            &read(Path::new(&common::topology_arg(&scenario))),
            &mut ips,
            &mut macs,
        );
        let plain: Value = serde_json::from_str(&plain_text).unwrap();

        let mut forbidden = BTreeSet::new();
        for ip in &ips {
            if r.ip(*ip) != *ip {
                forbidden_forms(*ip, &mut forbidden);
            }
        }
        let mut forbidden_macs = BTreeSet::new();
        for mac in &macs {
            if r.mac(*mac) != *mac {
                forbidden_macs.insert(*mac);
                forbidden.insert((isatap_trace::topology::MacAddr(*mac).to_string(), Form::Mac));
            }
        }
        assert!(
            forbidden.len() > 5,
            "{scenario}: too few originals found: {forbidden:?}"
        );

        // Every output, redacted.
        let pcap = dir.join("evidence.pcapng");
        let mut outputs: Vec<(String, String)> = Vec::new();
        let mut redacted_json = Value::Null;
        for format in ["text", "json", "markdown", "html"] {
            let file = dir.join(format!("report.{format}"));
            let mut args = vec!["--redact", "--format", format, "-o", file.to_str().unwrap()];
            if format == "json" {
                args.extend(["--export-pcap", pcap.to_str().unwrap()]);
            }
            let out = analyze(&scenario, &args);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{scenario} {format}: {out:?}"
            );
            let text = read(&file);
            if format == "json" {
                redacted_json = serde_json::from_str(&text).unwrap();
                outputs.push(("stderr".into(), String::from_utf8_lossy(&out.stderr).into()));
            }
            outputs.push((format.to_owned(), text));
        }
        let exported = std::fs::read(&pcap).unwrap_or_default();
        if tshark {
            let out = run_for(
                std::process::Command::new("tshark")
                    .arg("-r")
                    .arg(&pcap)
                    .args([
                        "-V",
                        "-o",
                        "ip.check_checksum:TRUE",
                        "-o",
                        "udp.check_checksum:TRUE",
                    ])
                    .args(["-o", "tcp.check_checksum:TRUE"]),
                Duration::from_secs(120),
            );
            outputs.push((
                "tshark -V".into(),
                String::from_utf8_lossy(&out.stdout).into(),
            ));
            let bad = run_for(
                std::process::Command::new("tshark")
                    .arg("-r")
                    .arg(&pcap)
                    .args([
                        "-o",
                        "ip.check_checksum:TRUE",
                        "-o",
                        "udp.check_checksum:TRUE",
                    ])
                    .args(["-o", "tcp.check_checksum:TRUE", "-Y"])
                    .arg(
                        "ip.checksum.status == 0 || udp.checksum.status == 0 || \
                         tcp.checksum.status == 0 || icmp.checksum.status == 0 || \
                         icmpv6.checksum.status == 0",
                    ),
                Duration::from_secs(120),
            );
            let bad = String::from_utf8_lossy(&bad.stdout).into_owned();
            if !bad.trim().is_empty() {
                failures.push(format!("{scenario}: bad checksums in the export:\n{bad}"));
            }
        }

        for (name, text) in &outputs {
            let lower = text.to_lowercase();
            for (text_form, form) in &forbidden {
                if occurs(&lower, &text_form.to_lowercase(), *form) {
                    failures.push(format!("{scenario} {name}: `{text_form}` appears"));
                }
            }
        }
        let windows = |n: usize| exported.windows(n);
        for ip in ips.iter().filter(|ip| r.ip(**ip) != **ip) {
            let bytes = match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            if windows(bytes.len()).any(|w| w == bytes.as_slice()) {
                failures.push(format!("{scenario} pcapng: bytes of {ip} appear"));
            }
        }
        for mac in &forbidden_macs {
            if windows(6).any(|w| w == mac) {
                failures.push(format!(
                    "{scenario} pcapng: bytes of {} appear",
                    isatap_trace::topology::MacAddr(*mac)
                ));
            }
        }

        if kinds_and_evidence(&plain) != kinds_and_evidence(&redacted_json) {
            failures.push(format!("{scenario}: findings differ under --redact"));
        }
        if source_checks(&plain) != source_checks(&redacted_json) {
            failures.push(format!(
                "{scenario}: the ISATAP source check reads differently"
            ));
        }
        if redacted_json["redacted"] != Value::Bool(true) {
            failures.push(format!("{scenario}: JSON not marked redacted"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_same_key_gives_the_same_pseudonyms() {
    let a = analyze("wrong-next-hop", &["--redact", "--format", "json"]);
    let b = analyze("wrong-next-hop", &["--redact", "--format", "json"]);
    assert_eq!(a.stdout, b.stdout);
    let mut random = common::isatap_trace();
    random.env_remove("ISATAP_TRACE_REDACT_KEY").args([
        "analyze",
        "--redact",
        "--format",
        "json",
        "--topology",
        &common::topology_arg("wrong-next-hop"),
    ]);
    random.args(capture_args("wrong-next-hop"));
    let c = run_for(&mut random, Duration::from_secs(60));
    assert_ne!(a.stdout, c.stdout, "without a key each run draws its own");
}

/// Every frame of the shared corpus: no panic, same layers, mapped addresses.
#[test]
fn corpus_frames_are_rewritten_layer_by_layer() {
    let corpus = common::root().join("../shared/corpus");
    let Ok(entries) = std::fs::read_dir(&corpus) else {
        println!("SKIP: {} not present", corpus.display());
        return;
    };
    let r = redactor();
    let map = |ip: IpAddr| r.ip(ip);
    let mut checked = 0usize;
    let mut refused = 0usize;
    let mut failures = Vec::new();
    let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".cap")) {
            continue;
        }
        let Ok(mut file) = CaptureFile::open(&path) else {
            continue;
        };
        file.for_each_frame(|f| {
            let mut bytes = f.bytes.to_vec();
            if r.frame(f.link_type, &mut bytes).is_err() {
                refused += 1;
                return;
            }
            checked += 1;
            let (a, b) = (
                decode_bytes(f.link_type, f.bytes),
                decode_bytes(f.link_type, &bytes),
            );
            let same_layers = a.ips.len() == b.ips.len()
                && a.ips.iter().zip(&b.ips).all(|(x, y)| {
                    let origin = |l: &isatap_trace::decode::IpLayer| {
                        l.via.and_then(|v| v.teredo).and_then(|t| t.origin)
                    };
                    y.src == map(x.src)
                        && y.dst == map(x.dst)
                        && origin(y) == origin(x).map(|(a, port)| (r.ipv4(a), port))
                });
            let same_transport =
                std::mem::discriminant(&a.transport) == std::mem::discriminant(&b.transport);
            let same_macs = b.link.src_mac == a.link.src_mac.map(|m| r.mac(m))
                && b.link.dst_mac == a.link.dst_mac.map(|m| r.mac(m));
            let quoted_ok = match (&a.transport, &b.transport) {
                (Transport::Icmpv6(x), Transport::Icmpv6(y)) => x.ty == y.ty && x.code == y.code,
                _ => true,
            };
            if !(same_layers && same_transport && same_macs && quoted_ok) {
                failures.push(format!("{name} frame {}", f.index));
            }
        });
    }
    println!("{checked} corpus frames rewritten, {refused} refused (link layer not redactable)");
    assert!(checked > 1000, "only {checked} corpus frames checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} frames differ ({refused} refused): {:?}",
        failures.len(),
        &failures[..failures.len().min(20)]
    );
}

/// Checksums through tunnels, quoted packets and Neighbor Discovery: tshark
/// judges every checksum of the redacted corpus frames as it judges the
/// originals (right stays right, wrong stays wrong).
#[test]
fn corpus_checksums_read_the_same_after_redaction() {
    use isatap_trace::capture::pcapng_writer::PcapngWriter;

    let corpus = common::root().join("../shared/corpus");
    let Ok(entries) = std::fs::read_dir(&corpus) else {
        println!("SKIP: {} not present", corpus.display());
        return;
    };
    if !available("tshark") {
        println!("SKIP: tshark not installed");
        return;
    }
    let dir = work_dir("redact-corpus-checksums");
    let r = redactor();
    let mut plain = PcapngWriter::new(Vec::new(), "test").unwrap();
    let mut redacted = PcapngWriter::new(Vec::new(), "test").unwrap();
    let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    let wanted = [
        "teredo", "6in4", "4in6", "gre", "ipip", "redirect", "icmp", "mldv2",
    ];
    let mut frames = 0;
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().to_lowercase();
        if !wanted.iter().any(|w| name.contains(w)) {
            continue;
        }
        let Ok(mut file) = CaptureFile::open(&path) else {
            continue;
        };
        let mut interfaces: Vec<(u32, u32)> = Vec::new();
        file.for_each_frame(|f| {
            let mut bytes = f.bytes.to_vec();
            if f.link_type > u32::from(u16::MAX) || r.frame(f.link_type, &mut bytes).is_err() {
                return;
            }
            let id = match interfaces.iter().position(|(i, _)| *i == f.interface) {
                Some(p) => interfaces[p].1,
                None => {
                    let a = plain.add_interface(f.link_type, None).unwrap();
                    let b = redacted.add_interface(f.link_type, None).unwrap();
                    assert_eq!(a, b);
                    interfaces.push((f.interface, a));
                    a
                }
            };
            plain
                .write_packet(id, f.ts_ns, f.orig_len, f.bytes, None)
                .unwrap();
            redacted
                .write_packet(id, f.ts_ns, f.orig_len, &bytes, None)
                .unwrap();
            frames += 1;
        });
    }
    let statuses = |bytes: Vec<u8>, name: &str| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = run_for(
            std::process::Command::new("tshark")
                .arg("-r")
                .arg(&path)
                .args([
                    "-o",
                    "ip.check_checksum:TRUE",
                    "-o",
                    "udp.check_checksum:TRUE",
                ])
                .args(["-o", "tcp.check_checksum:TRUE", "-T", "fields"])
                .args(["-e", "frame.number", "-e", "ip.checksum.status"])
                .args(["-e", "udp.checksum.status", "-e", "tcp.checksum.status"])
                .args(["-e", "icmp.checksum.status", "-e", "icmpv6.checksum.status"]),
            Duration::from_secs(300),
        );
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let before = statuses(plain.into_inner().unwrap(), "plain.pcapng");
    let after = statuses(redacted.into_inner().unwrap(), "redacted.pcapng");
    assert!(frames > 300, "only {frames} frames");
    let good = before
        .lines()
        .flat_map(|l| l.split('\t').skip(1))
        .flat_map(|f| f.split(','))
        .filter(|v| *v == "1")
        .count();
    assert!(good > 300, "only {good} checksums verified");
    let differ: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert!(
        differ.is_empty(),
        "{} of {frames} frames judged differently (original | redacted): {:?}",
        differ.len(),
        &differ[..differ.len().min(20)]
    );
    println!("{frames} frames, checksum verdicts equal ({good} checksums verified)");
}

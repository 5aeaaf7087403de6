//! Differential test against tshark: every capture of `../shared/corpus` is
//! decoded, and for every frame tshark does not call malformed, the addresses,
//! hop limits, ICMPv6 type/code and echo id/seq (and the outer IPv4 of
//! tunnelled frames) must equal tshark's field dump in `expected/*.tsv`.
//! Each remaining difference is listed in `KNOWN` with the reason ours is right.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use isatap_trace::capture::file::CaptureFile;
use isatap_trace::decode::{Decoded, Icmpv4Message, Icmpv6Message, Quoted, Transport, decode};

/// (file, frame, column): why tshark and we rightly differ.
const KNOWN: &[(&str, u64, &str, &str)] = &[
    (
        "packetnet__ipv6_redirect.pcap",
        11,
        "icmpv6.echo.identifier",
        REDIRECT,
    ),
    (
        "packetnet__ipv6_redirect.pcap",
        11,
        "icmpv6.echo.sequence_number",
        REDIRECT,
    ),
    (
        "suricata-verify__frag-22.pcap",
        10,
        "icmpv6.type",
        FIRST_FRAGMENT,
    ),
    (
        "suricata-verify__frag-22.pcap",
        10,
        "icmpv6.code",
        FIRST_FRAGMENT,
    ),
    (
        "suricata-verify__frag-22.pcap",
        10,
        "icmpv6.echo.identifier",
        FIRST_FRAGMENT,
    ),
    (
        "suricata-verify__frag-22.pcap",
        10,
        "icmpv6.echo.sequence_number",
        FIRST_FRAGMENT,
    ),
    ("suricata-verify__fuzz.pcap", 1, "ip.src", PCAP_VARIANT),
    ("suricata-verify__fuzz.pcap", 1, "ip.dst", PCAP_VARIANT),
    (
        "tcpdump__LINKTYPE_IPV4_invalid.pcap",
        1,
        "ipv6.src",
        WRONG_ENCAPSULATION,
    ),
    (
        "tcpdump__LINKTYPE_IPV4_invalid.pcap",
        1,
        "ipv6.dst",
        WRONG_ENCAPSULATION,
    ),
    (
        "tcpdump__LINKTYPE_IPV4_invalid.pcap",
        1,
        "ipv6.hlim",
        WRONG_ENCAPSULATION,
    ),
    ("tcpdump__kday1.pcap", 1, "ipv6.src", WRONG_ENCAPSULATION),
    ("tcpdump__kday1.pcap", 1, "ipv6.dst", WRONG_ENCAPSULATION),
    ("tcpdump__kday1.pcap", 1, "ipv6.hlim", WRONG_ENCAPSULATION),
    (
        "tcpdump__bad-ipv4-version-pgm-heapoverflow.pcap",
        1,
        "ipv6.hlim",
        WRONG_ENCAPSULATION,
    ),
    (
        "tcpdump__icmp6-rfc8335.pcap",
        1,
        "icmpv6.echo.identifier",
        PROBE,
    ),
    (
        "tcpdump__icmp6-rfc8335.pcap",
        2,
        "icmpv6.echo.identifier",
        PROBE,
    ),
    (
        "tcpdump__icmp6-rfc8335.pcap",
        3,
        "icmpv6.echo.identifier",
        PROBE,
    ),
    (
        "tcpdump__icmp6-rfc8335.pcap",
        4,
        "icmpv6.echo.identifier",
        PROBE,
    ),
    (
        "tcpdump__icmp6-rfc8335.pcap",
        5,
        "icmpv6.echo.identifier",
        PROBE,
    ),
    (
        "tcpdump__icmp6-rfc8335.pcap",
        6,
        "icmpv6.echo.identifier",
        PROBE,
    ),
    (
        "tcpdump__ipv6_39_byte_header.pcap",
        1,
        "ipv6.src",
        CUT_HEADER,
    ),
    (
        "tcpdump__ipv6_39_byte_header.pcap",
        1,
        "ipv6.hlim",
        CUT_HEADER,
    ),
];

const REDIRECT: &str = "the id and sequence belong to the echo request quoted in the Redirected \
    Header option, not to the redirect; ours are on the quoted packet";
const FIRST_FRAGMENT: &str = "a first fragment carries the whole ICMPv6 header, which we read; \
    tshark holds the frame for a reassembly that never completes";
const PCAP_VARIANT: &str = "damaged file: tshark guesses a pcap variant whose record headers are \
    8 bytes longer; we read the standard format its magic number announces";
const WRONG_ENCAPSULATION: &str = "an IPv6 packet behind a link layer that announces IPv4: \
    wrong encapsulation, which we report and stop at, as tcpdump does";
const PROBE: &str = "RFC 8335 extended echo (PROBE) is not a ping: its identifier is not an \
    echo identifier and no flow is built from it";
const CUT_HEADER: &str = "the IPv6 header is cut at 39 bytes: we report it truncated instead \
    of half an address pair";

const COLUMNS: [&str; 9] = [
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hlim",
    "icmpv6.type",
    "icmpv6.code",
    "icmpv6.echo.identifier",
    "icmpv6.echo.sequence_number",
];
/// Column index of each compared field in the tshark dump.
const TSV_INDEX: [usize; 9] = [1, 2, 4, 5, 7, 8, 9, 10, 11];

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    dir.join("expected").is_dir().then_some(dir)
}

fn quoted_of<'a>(d: &'a Decoded<'_>) -> Option<&'a Quoted> {
    match &d.transport {
        Transport::Icmpv6(m) => match &m.message {
            Icmpv6Message::Error { quoted, .. } | Icmpv6Message::Redirect { quoted, .. } => {
                quoted.as_ref()
            }
            _ => None,
        },
        Transport::Icmpv4(m) => match &m.message {
            Icmpv4Message::Error { quoted, .. } => quoted.as_ref(),
            _ => None,
        },
        _ => None,
    }
}

/// Our values for the compared columns, in tshark's list form.
fn our_row(d: &Decoded<'_>) -> [String; 9] {
    let mut v4 = (Vec::new(), Vec::new());
    let mut v6 = (Vec::new(), Vec::new(), Vec::new());
    let mut push = |src: IpAddr, dst: IpAddr, hlim: u8| match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(t)) => {
            v4.0.push(s.to_string());
            v4.1.push(t.to_string());
        }
        (s, t) => {
            v6.0.push(s.to_string());
            v6.1.push(t.to_string());
            v6.2.push(hlim.to_string());
        }
    };
    for ip in &d.ips {
        push(ip.src, ip.dst, ip.hop_limit);
    }
    if let Some(q) = quoted_of(d) {
        push(q.ip.src, q.ip.dst, q.ip.hop_limit);
        if let Some(i) = q.inner {
            push(i.src, i.dst, i.hop_limit);
        }
    }
    let mut icmp = [String::new(), String::new(), String::new(), String::new()];
    if let Transport::Icmpv6(m) = &d.transport {
        icmp[0] = m.ty.to_string();
        icmp[1] = m.code.to_string();
        if let Icmpv6Message::EchoRequest(e) | Icmpv6Message::EchoReply(e) = &m.message {
            icmp[2] = format!("0x{:04x}", e.id);
            icmp[3] = e.seq.to_string();
        }
    }
    let [t, c, id, seq] = icmp;
    [
        v4.0.join(","),
        v4.1.join(","),
        v6.0.join(","),
        v6.1.join(","),
        v6.2.join(","),
        t,
        c,
        id,
        seq,
    ]
}

/// tshark's value for a column: lists as-is, except that ICMPv6 type/code/echo
/// keep only the first value (later ones describe quoted packets).
fn tshark_value(col: usize, raw: &str) -> String {
    if col >= 5 {
        raw.split(',').next().unwrap_or("").to_owned()
    } else {
        raw.to_owned()
    }
}

#[test]
fn decoder_agrees_with_tshark() {
    let Some(dir) = corpus() else {
        println!("SKIP: ../shared/corpus not present; differential test not run");
        return;
    };
    let known: BTreeMap<(&str, u64, &str), &str> = KNOWN
        .iter()
        .map(|(f, n, c, why)| ((*f, *n, *c), *why))
        .collect();
    let mut used = BTreeSet::new();
    let mut differences = Vec::new();
    let mut compared = 0usize;
    let mut files = 0usize;
    let mut entries: Vec<_> = fs::read_dir(dir.join("expected"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tsv"))
        .filter(|p| !p.to_string_lossy().ends_with(".teredo-heur.tsv"))
        .collect();
    entries.sort();
    for tsv in entries {
        let name = tsv.file_stem().unwrap().to_string_lossy().into_owned();
        let expected = fs::read_to_string(&tsv).unwrap();
        let rows: BTreeMap<u64, Vec<&str>> = expected
            .lines()
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                Some((cols.first()?.parse().ok()?, cols))
            })
            .collect();
        let capture = dir.join(&name);
        let mut file = match CaptureFile::open(&capture) {
            Ok(f) => f,
            Err(e) => {
                assert!(
                    rows.is_empty(),
                    "{name}: we cannot open it, tshark could: {e}"
                );
                continue;
            }
        };
        files += 1;
        let mut ours = BTreeMap::new();
        file.for_each_frame(|frame| {
            ours.insert(frame.index, our_row(&decode(frame)));
        });
        for (number, cols) in &rows {
            let expert = cols.get(12).copied().unwrap_or("");
            if expert.contains("Malformed") {
                continue;
            }
            let Some(row) = ours.get(number) else {
                // Records without packet fields (pcapng custom blocks, a cut last
                // record) hold nothing to compare.
                if TSV_INDEX
                    .iter()
                    .any(|&i| !cols.get(i).unwrap_or(&"").is_empty())
                {
                    differences.push(format!("{name} frame {number}: we did not read this frame"));
                }
                continue;
            };
            compared += 1;
            for (i, column) in COLUMNS.iter().enumerate() {
                let theirs = tshark_value(i, cols.get(TSV_INDEX[i]).copied().unwrap_or(""));
                if row[i] == theirs {
                    continue;
                }
                if known.contains_key(&(name.as_str(), *number, *column)) {
                    used.insert((name.clone(), *number, column.to_string()));
                    continue;
                }
                differences.push(format!(
                    "{name} frame {number} {column}: ours `{}` tshark `{theirs}`",
                    row[i]
                ));
            }
        }
    }
    for (f, n, c, _) in KNOWN {
        assert!(
            used.contains(&(f.to_string(), *n, c.to_string())),
            "listed difference no longer occurs: {f} frame {n} {c}"
        );
    }
    println!("compared {compared} frames of {files} captures with tshark");
    assert!(compared > 3000, "too few frames compared: {compared}");
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

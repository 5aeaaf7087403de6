//! `--export-pcap`: the evidence capture holds every frame the findings cite
//! and the rest of their flows, from all captures, byte for byte with the
//! original timestamps, one interface block per source interface, each packet
//! with a comment naming the finding and its source frame; tshark reads it
//! and shows the comments (skipped with a reason when tshark is missing).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use common::{analyze, available, capture_args, run_for, work_dir};
use isatap_trace::capture::file::CaptureFile;
use serde_json::Value;

/// (label, frame) → (timestamp, bytes, interface name) of every frame of the scenario.
fn source_frames(scenario: &str) -> BTreeMap<(String, u64), (i64, Vec<u8>, String)> {
    let mut all = BTreeMap::new();
    for path in capture_args(scenario) {
        let label = Path::new(&path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut file = CaptureFile::open(Path::new(&path)).unwrap();
        let mut frames = Vec::new();
        let summary = file.for_each_frame(|f| {
            frames.push((f.index, f.ts_ns, f.bytes.to_vec(), f.interface));
        });
        for (index, ts, bytes, interface) in frames {
            let name = summary
                .interfaces
                .get(interface as usize)
                .and_then(|i| i.name.clone())
                .unwrap_or_default();
            all.insert((label.clone(), index), (ts, bytes, name));
        }
    }
    all
}

/// The `label frame N` a comment ends with.
fn source_of(comment: &str) -> (String, u64) {
    let (_, tail) = comment
        .rsplit_once(" — ")
        .expect("comment names its source");
    let (label, frame) = tail.split_once(" frame ").unwrap();
    (label.to_owned(), frame.parse().unwrap())
}

fn check_scenario(scenario: &str) {
    let dir = work_dir(&format!("export-{scenario}"));
    let pcap = dir.join("evidence.pcapng");
    let out = analyze(
        scenario,
        &["--format", "json", "--export-pcap", pcap.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{scenario}: {out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources = source_frames(scenario);

    let mut file = CaptureFile::open(&pcap).unwrap();
    let mut exported = Vec::new();
    let summary = file.for_each_frame(|f| {
        exported.push((
            f.ts_ns,
            f.bytes.to_vec(),
            f.interface,
            String::from_utf8(f.comment.expect("every packet has a comment").to_vec()).unwrap(),
        ));
    });
    assert_eq!(summary.damage, None);
    assert!(!exported.is_empty(), "{scenario}: nothing exported");

    let mut seen = BTreeSet::new();
    for (ts, bytes, interface, comment) in &exported {
        assert!(comment.starts_with("finding "), "{comment}");
        let source = source_of(comment);
        let (src_ts, src_bytes, src_if) = sources
            .get(&source)
            .unwrap_or_else(|| panic!("{scenario}: {comment} names no source frame"));
        assert_eq!(ts, src_ts, "{comment}: timestamp");
        assert_eq!(bytes, src_bytes, "{comment}: bytes");
        let name = summary.interfaces[*interface as usize].name.clone();
        assert_eq!(name, Some(format!("{}:{src_if}", source.0)), "{comment}");
        assert!(seen.insert(source), "{comment}: written twice");
    }
    // One interface block per source interface.
    let names: BTreeSet<Option<String>> =
        summary.interfaces.iter().map(|i| i.name.clone()).collect();
    assert_eq!(names.len(), summary.interfaces.len(), "{scenario}");

    // Every evidence frame is there, and every cited flow has its requests there.
    for finding in report["findings"].as_array().unwrap() {
        let kind = finding["kind"].as_str().unwrap();
        for e in finding["evidence"].as_array().unwrap() {
            let key = (
                e["capture"].as_str().unwrap().to_owned(),
                e["frame"].as_u64().unwrap(),
            );
            if kind.starts_with("capture-") {
                continue; // damage is shown by frames that may not decode
            }
            assert!(
                seen.contains(&key),
                "{scenario}: evidence {key:?} not exported"
            );
        }
        for id in finding["flows"].as_array().unwrap() {
            let flow = report["flows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == *id)
                .unwrap();
            for p in flow["path"].as_array().unwrap() {
                let key = (
                    p["capture"].as_str().unwrap().to_owned(),
                    p["frame"].as_u64().unwrap(),
                );
                assert!(
                    seen.contains(&key),
                    "{scenario}: flow frame {key:?} not exported"
                );
            }
        }
    }

    if !available("tshark") {
        println!("SKIP (tshark part): tshark not installed");
        return;
    }
    let out = run_for(
        std::process::Command::new("tshark")
            .arg("-r")
            .arg(&pcap)
            .args(["-T", "fields", "-e", "frame.comment"]),
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        exported.len(),
        "{scenario}: tshark frame count"
    );
    for (line, (_, _, _, comment)) in lines.iter().zip(&exported) {
        assert_eq!(
            *line,
            comment.as_str(),
            "{scenario}: tshark shows the comment"
        );
    }
}

#[test]
fn evidence_capture_of_each_failing_scenario() {
    for scenario in [
        "wrong-next-hop",
        "return-bypasses-isatap-router",
        "return-via-wrong-node",
        "routing-loop",
        "protocol-41-blocked",
        "missing-published-route",
    ] {
        check_scenario(scenario);
    }
}

#[test]
fn export_needs_to_read_the_captures_again() {
    let dir = work_dir("export-stdin");
    let out = run_for(
        common::isatap_trace()
            .args(["analyze", "--export-pcap"])
            .arg(dir.join("x.pcapng"))
            .arg("-"),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdin"));
}

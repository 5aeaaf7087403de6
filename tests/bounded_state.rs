//! Bounded state: a capture with more flows, probes and sightings than the
//! limits allow keeps the tables within them, counts what it left out, says
//! so in every report format, and still judges the probes it kept by their
//! counts (an answered ping whose sightings were not kept is answered).
//!
//! Memory at scale (10 million distinct flows under 256 MiB) is measured by
//! `benches/replay.sh`, not here.

use std::path::PathBuf;
use std::process::Command;

mod common;
use common::Scratch;

use isatap_trace::cli::{CaptureSpec, ReportFormat};
use isatap_trace::commands::analyze::render;
use isatap_trace::commands::pipeline::{conclude, gather};
use isatap_trace::flow::Limits;
use isatap_trace::synth::replay::write_distinct_flows;

/// A capture of `flows` answered pings, each a flow of its own, in `dir`.
fn distinct_flows(dir: &Scratch, flows: u64) -> PathBuf {
    let mut bytes = Vec::new();
    write_distinct_flows(&mut bytes, flows).expect("capture written to memory");
    dir.write("distinct.pcapng", &bytes)
}

#[test]
fn limits_hold_and_what_they_left_out_is_reported() {
    let dir = Scratch::new("bounded-state", "limits");
    let path = distinct_flows(&dir, 3000);
    let limits = Limits {
        max_flows: 1000,
        max_probes: 500,
        // Odd: the last detailed probe keeps its request but not its reply.
        max_sightings: 301,
        ..Limits::default()
    };
    let spec = CaptureSpec {
        label: "station".into(),
        path: path.clone(),
    };
    let mut gathered = gather(std::slice::from_ref(&spec), limits);
    let table = &gathered.correlator.table;
    assert_eq!(table.flows.len(), 1000);
    assert_eq!(table.probes.len(), 500);
    let detailed = table
        .probes
        .iter()
        .filter(|p| table.detail(p).is_some())
        .count();
    assert_eq!(
        detailed, 151,
        "probes kept in detail until the sighting budget ran out"
    );
    let kept: usize = table
        .details
        .iter()
        .map(|d| d.requests.len() + d.replies.len() + d.errors.len())
        .sum();
    assert_eq!(kept, 301);

    let report = conclude(&mut gathered, None);
    let e = &report.evictions;
    assert_eq!(
        e.flows,
        2 * 2000,
        "request and reply of each untracked flow"
    );
    assert_eq!(
        e.probes,
        2 * 500,
        "request and reply of each flow past the probe table"
    );
    assert_eq!(e.sightings, 1, "the reply of the last detailed probe");
    // Every probe kept is answered, whether its reply was kept in detail or
    // only counted: the limits never turn into a finding.
    let tracked: Vec<_> = report.flows.iter().filter(|f| f.probes > 0).collect();
    assert_eq!(tracked.len(), 500);
    for f in &tracked {
        assert_eq!(f.answered, f.probes, "flow #{} {} → {}", f.id, f.src, f.dst);
    }
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.kind != "no-reply" && f.severity != "error"),
        "{:?}",
        report.findings.iter().map(|f| f.kind).collect::<Vec<_>>()
    );

    let note = "4000 packets of untracked flows, 1000 packets of untracked probes";
    for format in [
        ReportFormat::Text,
        ReportFormat::Markdown,
        ReportFormat::Html,
    ] {
        let mut out = Vec::new();
        render(&report, format, &mut out, false).expect("report rendered");
        let out = String::from_utf8(out).expect("UTF-8 report");
        assert!(out.contains(note), "{format:?} report without `{note}`");
    }
    let mut json = Vec::new();
    render(&report, ReportFormat::Json, &mut json, false).expect("JSON rendered");
    let json: serde_json::Value = serde_json::from_slice(&json).expect("JSON report");
    assert_eq!(json["evictions"]["flows"], 4000);
    assert_eq!(json["evictions"]["probes"], 1000);
}

#[test]
fn default_limits_through_the_binary() {
    // One flow more than the default flow table holds.
    let flows = Limits::default().max_flows as u64 + 1;
    let dir = Scratch::new("bounded-state", "default");
    let path = distinct_flows(&dir, flows);
    let out = Command::new(env!("CARGO_BIN_EXE_isatap-trace"))
        .args(["analyze", "--format", "json"])
        .arg(&path)
        .output()
        .expect("isatap-trace runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(
        json["evictions"]["flows"], 2,
        "the last flow's request and reply"
    );
    assert_eq!(
        json["flows"].as_array().map(Vec::len),
        Some(flows as usize - 1)
    );
}

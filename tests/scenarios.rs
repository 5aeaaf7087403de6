//! Integration tests over `captures/`: every scenario yields exactly its
//! finding kinds, nodes and flow verdicts (golden JSON in `tests/golden/`),
//! with its topology and without one (inferred); healthy ones yield no
//! warning or error; and the committed captures are what the generator makes.
//!
//! `ISATAP_TRACE_BLESS=1 cargo test --test scenarios` rewrites the golden files.

use std::fs;
use std::path::{Path, PathBuf};

use isatap_trace::cli::CaptureSpec;
use isatap_trace::commands::pipeline::{conclude, gather};
use isatap_trace::flow::Limits;
use isatap_trace::report::Report;
use isatap_trace::synth::scenarios;
use isatap_trace::topology::Topology;
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn specs(dir: &Path) -> Vec<CaptureSpec> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcapng"))
        .collect();
    files.sort();
    // Station first, as an administrator would list them.
    files.sort_by_key(|p| !p.ends_with("station.pcapng"));
    files
        .iter()
        .map(|p| CaptureSpec::parse(p.to_str().unwrap()).unwrap())
        .collect()
}

fn analyze(name: &str, with_topology: bool) -> Report {
    let dir = root().join("captures").join(name);
    let topology = with_topology.then(|| Topology::load(&dir.join("topology.toml")).unwrap());
    let mut gathered = gather(&specs(&dir), Limits::default());
    assert!(gathered.unreadable.is_empty(), "{name}: unreadable capture");
    conclude(&mut gathered, topology.as_ref())
}

/// The part of a report the golden files pin down.
fn essence(r: &Report) -> Value {
    json!({
        "findings": r.findings.iter().map(|f| json!({
            "kind": f.kind,
            "severity": f.severity,
            "node": f.node,
            "flows": f.flows,
            "evidence": f.evidence.iter().map(|e| format!("{}#{}", e.capture, e.frame)).collect::<Vec<_>>(),
            // Paths in fixes relative to the checkout, wherever it is.
            "fix": f.fix.replace(&format!("{}/", root().display()), ""),
        })).collect::<Vec<_>>(),
        "flows": r.flows.iter().map(|f| json!({
            "id": f.id,
            "kind": f.kind,
            "protocol": f.protocol,
            "src": f.src,
            "dst": f.dst,
            "probes": f.probes,
            "answered": f.answered,
            "verdict": f.verdict,
            "hops": f.hops.iter().map(|h| json!([h.hop, h.address])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn kinds(r: &Report) -> Vec<&str> {
    let mut k: Vec<&str> = r.findings.iter().map(|f| f.kind).collect();
    k.dedup();
    k
}

#[test]
fn every_scenario_yields_exactly_its_findings() {
    let bless = std::env::var_os("ISATAP_TRACE_BLESS").is_some();
    let mut failures = Vec::new();
    for s in scenarios::all() {
        let report = analyze(s.name, true);
        if kinds(&report) != s.expected {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                s.name,
                s.expected,
                kinds(&report)
            ));
        }
        let golden = root().join("tests/golden").join(format!("{}.json", s.name));
        let got = essence(&report);
        if bless {
            fs::create_dir_all(golden.parent().unwrap()).unwrap();
            fs::write(&golden, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
            continue;
        }
        let want: Value = serde_json::from_str(
            &fs::read_to_string(&golden).unwrap_or_else(|_| panic!("missing {}", golden.display())),
        )
        .unwrap();
        if got != want {
            failures.push(format!(
                "{}: report differs from {}:\n{}",
                s.name,
                golden.display(),
                serde_json::to_string_pretty(&got).unwrap()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn healthy_scenarios_have_no_warning_and_every_flow_answered() {
    for s in scenarios::all()
        .iter()
        .filter(|s| s.name.starts_with("healthy"))
    {
        for with_topology in [true, false] {
            let r = analyze(s.name, with_topology);
            assert!(
                r.findings.is_empty(),
                "{} ({with_topology}): {:?}",
                s.name,
                r.findings
            );
            assert!(!r.flows.is_empty(), "{}: no flow found", s.name);
            assert!(
                r.flows.iter().all(|f| f.verdict == "answered"),
                "{}: {:?}",
                s.name,
                r.flows
            );
        }
    }
}

#[test]
fn inference_without_topology_finds_the_same_faults() {
    for s in scenarios::all() {
        let r = analyze(s.name, false);
        assert_eq!(kinds(&r), s.expected, "{} without topology", s.name);
        assert_eq!(r.topology.source, "inferred");
        let router = r.topology.topology.router.as_ref();
        if !s.expected.contains(&"isatap-source-mismatch")
            && !s.expected.contains(&"protocol-41-blocked")
        {
            assert_eq!(
                router.map(|r| r.ipv4.to_string()),
                Some("172.16.16.31".to_owned()),
                "{}: router not inferred",
                s.name
            );
        }
        assert!(
            !r.assumptions.is_empty(),
            "{}: inference states no assumption",
            s.name
        );
    }
}

#[test]
fn inferred_topology_names_the_nodes_and_their_prefixes() {
    let r = analyze("wrong-next-hop", false);
    let t = &r.topology.topology;
    let nodes: Vec<(String, String)> = t
        .da_nodes
        .iter()
        .map(|n| (n.ipv6.to_string(), n.client_prefix.to_string()))
        .collect();
    assert!(nodes.contains(&(
        "fd9c:30c:2da4:111::25".into(),
        "fd9c:30c:2da4:1000::/64".into()
    )));
    assert!(nodes.contains(&(
        "fd9c:30c:2da4:111::26".into(),
        "fd9c:30c:2da4:1001::/64".into()
    )));
    let fix = &r.findings[0].fix;
    assert!(
        fix.contains("nexthop=fd9c:30c:2da4:111::26 publish=yes"),
        "{fix}"
    );
}

#[test]
fn the_same_packet_twice_in_one_capture_is_one_probe() {
    // tcpdump -i any on the Linux station records every probe on sit and eth0.
    let r = analyze("healthy-udp-traceroute", true);
    let flow = &r.flows[0];
    assert_eq!(
        (flow.kind, flow.protocol, flow.probes),
        ("traceroute", "udp", 9)
    );
    let hops: Vec<u8> = flow.hops.iter().map(|h| h.hop).collect();
    assert_eq!(hops, [1, 2, 3]);
    assert!(flow.hops.iter().all(|h| h.answered == 3));
}

#[test]
fn committed_captures_are_what_the_generator_makes() {
    let tmp = std::env::temp_dir().join(format!("isatap-trace-gen-{}", std::process::id()));
    for s in scenarios::all() {
        let dir = tmp.join(s.name);
        isatap_trace::synth::write_scenario(&dir, &s).unwrap();
        let committed = root().join("captures").join(s.name);
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap();
            let theirs = fs::read(committed.join(name)).unwrap_or_else(|_| {
                panic!("captures/{}/{} missing", s.name, name.to_string_lossy())
            });
            assert!(
                fs::read(&path).unwrap() == theirs,
                "captures/{}/{} differs from the generator's output; run cargo run --example make-captures",
                s.name,
                name.to_string_lossy()
            );
        }
        let readme = fs::read_to_string(root().join("captures/README.md")).unwrap();
        assert!(
            readme.contains(&format!("`{}/`", s.name)),
            "captures/README.md lacks {}",
            s.name
        );
    }
    fs::remove_dir_all(tmp).unwrap();
}

#[test]
fn every_finding_kind_has_a_scenario() {
    let covered: Vec<&str> = scenarios::all()
        .iter()
        .flat_map(|s| s.expected.iter().copied())
        .collect();
    for kind in isatap_trace::diagnose::Kind::ALL {
        assert!(covered.contains(&kind.name()), "no scenario shows {kind}");
    }
}

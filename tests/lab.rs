//! The namespace lab (`lab/`): one test per fault builds the deployment of
//! DESIGN.md in network namespaces, injects the fault, probes it with the
//! real tools, records every vantage point and checks that the library's
//! analysis names exactly that fault (kind and node), and nothing for the
//! healthy lab. A last test checks the committed `captures/lab/` the same
//! way (no root needed).
//!
//! A lab test that cannot run here (not root, no namespaces, no TUN device,
//! a tool missing) prints `SKIP: <reason>` and passes, unless
//! `ISATAP_LAB_REQUIRED=1` is set (CI), where it fails instead.

#[path = "../lab/mod.rs"]
#[allow(dead_code)] // the example uses the parts these tests do not
mod lab;

use std::io::Write;
use std::path::PathBuf;

use lab::Fault;

fn check(fault: Fault) {
    if let Err(reason) = lab::preflight(fault) {
        assert!(
            std::env::var_os("ISATAP_LAB_REQUIRED").is_none_or(|v| v != "1"),
            "the lab is required here but cannot run: {reason}"
        );
        // Straight to the terminal: libtest would swallow println! of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: lab test {}: {reason}",
            fault.name()
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "isatap-lab-{}-{}",
        std::process::id(),
        fault.name()
    ));
    let outcome = lab::run(fault, &dir).unwrap_or_else(|e| panic!("{}: {e:#}", fault.name()));
    let found = lab::analyze(&dir, true).unwrap();
    let kept = std::env::var_os("ISATAP_LAB_KEEP").is_some();
    if let Err(why) = lab::verdict(fault, &found) {
        let probes: Vec<String> = outcome
            .probes
            .iter()
            .map(|p| format!("$ {}\n{}", p.command, p.output))
            .collect();
        panic!(
            "{why}\n\nprobes:\n{}\nendpoints:\n{}\ncaptures kept in {}",
            probes.join("\n"),
            outcome.log.join("\n"),
            dir.display()
        );
    }
    if !kept {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn healthy() {
    check(Fault::Healthy);
}

#[test]
fn missing_published_route() {
    check(Fault::MissingPublishedRoute);
}

#[test]
fn wrong_next_hop() {
    check(Fault::WrongNextHop);
}

#[test]
fn mistyped_next_hop() {
    check(Fault::MistypedNextHop);
}

#[test]
fn no_return_route() {
    check(Fault::NoReturnRoute);
}

#[test]
fn return_via_other_node() {
    check(Fault::ReturnViaOtherNode);
}

#[test]
fn silent_client() {
    check(Fault::SilentClient);
}

#[test]
fn protocol_41_rejected() {
    check(Fault::Protocol41Rejected);
}

#[test]
fn routing_loop() {
    check(Fault::RoutingLoop);
}

#[test]
fn mtu_1280() {
    check(Fault::Mtu1280);
}

#[test]
fn router_not_advertising() {
    check(Fault::RouterNotAdvertising);
}

#[test]
fn station_behind_nat() {
    check(Fault::StationBehindNat);
}

/// The committed lab captures name their fault too (with their topology file).
#[test]
fn committed_lab_captures_name_their_fault() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/lab");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut failures = Vec::new();
    for fault in Fault::ALL {
        let dir = root.join(fault.name());
        assert!(
            readme.contains(&format!("`{}/`", fault.name())),
            "captures/lab/README.md lacks {}",
            fault.name()
        );
        let found = lab::analyze(&dir, true).unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
        if let Err(why) = lab::verdict(fault, &found) {
            failures.push(why);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

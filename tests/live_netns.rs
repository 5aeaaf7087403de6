//! End-to-end tests of `isatap-trace live` on real interfaces: two network
//! namespaces joined by a veth pair, the tool capturing on one end while the
//! test sends real traffic from it —
//! - native ICMPv6 echo that the peer's kernel answers (flow `answered`);
//! - ISATAP-encapsulated echo (protocol 41) to the peer's IPv4, which the peer
//!   kernel, having no ISATAP/6in4 tunnel, refuses with ICMP protocol
//!   unreachable (finding `protocol-41-blocked`);
//!
//! then `analyze` of the `--write` file must agree with the live report. Also:
//! the interface going down mid-run, an unknown interface, no permission.
//!
//! They need root and `ip netns`; elsewhere they print `SKIP: <reason>` and
//! pass, unless `ISATAP_LAB_REQUIRED=1` (CI as root), where they fail. Traffic is sent by this test binary itself, re-run inside the
//! namespace (`send_from_namespace`), through raw sockets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use isatap_trace::synth::packet::echo6;
use serde_json::Value;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

const BIN: &str = env!("CARGO_BIN_EXE_isatap-trace");
/// Set (to the traffic to send) when this binary runs as the sender.
const SEND_ENV: &str = "ISATAP_TRACE_TEST_SEND";

const A4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const A6: &str = "2001:db8:41::1";
const B6: &str = "2001:db8:41::2";
/// The DA client the ISATAP echo is addressed to (never reached).
const CLIENT6: &str = "2001:db8:1000::1";
const ECHO_ID: u16 = 0x4154;
const ISATAP_ECHO_ID: u16 = 0x4155;

/// A namespace test that cannot run here passes with `SKIP: <reason>`, unless
/// `ISATAP_LAB_REQUIRED=1` (CI as root), where it fails.
fn skip(reason: &str) {
    assert!(
        std::env::var_os("ISATAP_LAB_REQUIRED").is_none_or(|v| v != "1"),
        "the live namespace tests are required here but cannot run: {reason}"
    );
    note_skip(reason);
}

/// Straight to the terminal: libtest would swallow println! of a passing test.
fn note_skip(reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIP: live test: {reason}");
}

/// Runs a command, failing the test with its output if it fails.
fn sh(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "{} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Two namespaces joined by a veth pair, removed again on drop.
struct Lab {
    a: String,
    b: String,
    va: String,
}

impl Lab {
    /// Builds the lab, or says why this machine cannot.
    fn new(tag: &str) -> Result<Lab, String> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("cannot run id: {e}"))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("not root (network namespaces need it)".into());
        }
        if Command::new("ip").arg("-V").output().is_err() {
            return Err("the ip command (iproute2) is not installed".into());
        }
        let pid = std::process::id();
        let a = format!("itl{pid}{tag}a");
        let b = format!("itl{pid}{tag}b");
        let added = Command::new("ip")
            .args(["netns", "add", &a])
            .output()
            .map_err(|e| format!("ip netns add: {e}"))?;
        if !added.status.success() {
            return Err(format!(
                "ip netns add failed: {}",
                String::from_utf8_lossy(&added.stderr).trim()
            ));
        }
        let lab = Lab {
            a,
            b,
            va: format!("v{tag}{pid}a"),
        };
        let vb = format!("v{tag}{pid}b");
        let (a, b, va) = (lab.a.as_str(), lab.b.as_str(), lab.va.as_str());
        sh(&["ip", "netns", "add", b]);
        sh(&[
            "ip", "link", "add", va, "netns", a, "type", "veth", "peer", "name", &vb, "netns", b,
        ]);
        for (ns, dev, v4, v6) in [(a, va, A4, A6), (b, vb.as_str(), B4, B6)] {
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            sh(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v4}/24"),
                "dev",
                dev,
            ]);
            sh(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ]);
            sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        // The kernel turns the carrier on up to a second after both ends are
        // up; until then the link drops what is sent.
        for (ns, dev) in [(a, va), (b, vb.as_str())] {
            wait_until_up(ns, dev);
        }
        Ok(lab)
    }

    /// Whether the peer's kernel has a protocol-41 handler (the sit module),
    /// which would answer port unreachable instead of protocol unreachable.
    fn peer_has_sit(&self) -> bool {
        Command::new("ip")
            .args(["-n", &self.b, "link", "show", "sit0"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Starts `isatap-trace live` on the A end and waits until it captures.
    fn start_live(&self, extra: &[&str]) -> Live {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.a, BIN, "live", "--iface", &self.va])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start isatap-trace live");
        let stdout = child.stdout.take().expect("stdout");
        let stdout = thread::spawn(move || {
            let mut s = String::new();
            let _ = BufReader::new(stdout).read_to_string(&mut s);
            s
        });
        let (ready_tx, ready_rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let stderr = thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("capturing on") {
                    let _ = ready_tx.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let ready = ready_rx.recv_timeout(Duration::from_secs(20)).is_ok();
        let mut live = Live {
            child,
            stdout: Some(stdout),
            stderr: Some(stderr),
        };
        if !ready {
            let out = live.wait(Duration::from_secs(5));
            panic!("live did not start capturing: {}", out.stderr);
        }
        live
    }

    /// Sends traffic from inside namespace A (this binary, re-run there).
    fn send(&self, what: &str) {
        let exe = std::env::current_exe().expect("test binary");
        let out = Command::new("ip")
            .args(["netns", "exec", &self.a])
            .arg(exe)
            .args(["send_from_namespace", "--exact", "--ignored", "--nocapture"])
            .env(SEND_ENV, what)
            .output()
            .expect("run the sender");
        assert!(
            out.status.success(),
            "sender failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn wait_until_up(ns: &str, dev: &str) {
    let started = Instant::now();
    loop {
        let out = sh(&["ip", "-n", ns, "-o", "link", "show", "dev", dev]);
        if String::from_utf8_lossy(&out.stdout).contains(" state UP ") {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{dev} in {ns} never came up: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// A running `live`, its output collected by threads.
struct Live {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Live {
    /// Waits for the run to end (killing it after `limit`).
    fn wait(&mut self, limit: Duration) -> Finished {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break Some(status);
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(50));
        };
        let take = |h: &mut Option<JoinHandle<String>>| {
            h.take()
                .map(|h| h.join().unwrap_or_default())
                .unwrap_or_default()
        };
        Finished {
            code: status.and_then(|s| s.code()),
            stdout: take(&mut self.stdout),
            stderr: take(&mut self.stderr),
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("isatap-live-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn json(text: &str, what: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} is not JSON ({e}): {text}"))
}

fn finding_kinds(r: &Value) -> Vec<String> {
    let mut k: Vec<String> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect();
    k.sort();
    k
}

/// What must agree between live and analyze: findings (kind, severity, node,
/// evidence frames) and flows (addresses, probes, verdict).
fn essence(r: &Value) -> Value {
    let findings: Vec<Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let frames: Vec<&Value> = f["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| &e["frame"])
                .collect();
            serde_json::json!([f["kind"], f["severity"], f["node"], frames, f["fix"]])
        })
        .collect();
    let flows: Vec<Value> = r["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            serde_json::json!([
                f["protocol"],
                f["src"],
                f["dst"],
                f["probes"],
                f["answered"],
                f["verdict"]
            ])
        })
        .collect();
    serde_json::json!({ "findings": findings, "flows": flows })
}

fn flow_to<'a>(r: &'a Value, dst: &str) -> &'a Value {
    r["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["dst"] == dst)
        .unwrap_or_else(|| panic!("no flow to {dst}: {r:#}"))
}

#[test]
fn live_sees_answered_echo_and_refused_protocol_41() {
    let lab = match Lab::new("e") {
        Ok(lab) => lab,
        Err(reason) => return skip(&reason),
    };
    let dir = TempDir::new("e");
    let saved = dir.0.join("live.pcapng");
    let saved_arg = saved.to_str().unwrap();
    let mut live = lab.start_live(&[
        "--duration",
        "4",
        "--timeout",
        "1",
        "--format",
        "json",
        "--write",
        saved_arg,
    ]);
    lab.send("native,isatap");
    let run = live.wait(Duration::from_secs(20));
    assert_eq!(
        run.code,
        Some(1),
        "an error finding means exit status 1; stderr: {}",
        run.stderr
    );
    let report = json(&run.stdout, "the live report");
    let capture = &report["captures"][0];
    assert_eq!(capture["format"], "live");
    assert!(capture["packets"].as_u64().unwrap() >= 12, "{capture:#}");
    assert!(
        capture["kernel_drops"].is_u64(),
        "kernel drops are reported: {capture:#}"
    );

    let native = flow_to(&report, B6);
    assert_eq!(native["protocol"], "icmpv6-echo");
    assert_eq!(
        (&native["probes"], &native["verdict"]),
        (&Value::from(3), &Value::from("answered")),
        "{native:#}"
    );
    assert!(
        finding_kinds(&report).contains(&"protocol-41-blocked".to_owned()),
        "expected protocol-41-blocked (peer has sit0: {}): {:#}",
        lab.peer_has_sit(),
        report["findings"]
    );
    let blocked = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "protocol-41-blocked")
        .unwrap();
    // The peer is what the sender takes for its ISATAP router.
    assert!(
        blocked["node"].as_str().unwrap().ends_with(&B4.to_string()),
        "{blocked:#}"
    );
    assert!(
        blocked["summary"]
            .as_str()
            .unwrap()
            .contains("protocol unreachable")
    );

    // The saved capture gives the same findings and verdicts.
    let analyzed = Command::new(BIN)
        .args(["analyze", "--format", "json", saved_arg])
        .output()
        .expect("run analyze");
    assert_eq!(analyzed.status.code(), Some(1));
    let file_report = json(
        &String::from_utf8_lossy(&analyzed.stdout),
        "the analyze report",
    );
    assert_eq!(essence(&report), essence(&file_report));
    assert_eq!(
        file_report["captures"][0]["packets"], capture["packets"],
        "--write saved every captured frame"
    );
    assert_eq!(
        file_report["captures"][0]["kernel_drops"],
        capture["kernel_drops"]
    );
}

#[test]
fn interface_going_down_ends_the_run_with_a_report() {
    let lab = match Lab::new("d") {
        Ok(lab) => lab,
        Err(reason) => return skip(&reason),
    };
    let mut live = lab.start_live(&["--duration", "30", "--timeout", "1", "--format", "json"]);
    lab.send("native");
    sh(&["ip", "-n", &lab.a, "link", "set", &lab.va, "down"]);
    let run = live.wait(Duration::from_secs(10));
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("went down"), "{}", run.stderr);
    let report = json(&run.stdout, "the report of what was seen");
    let native = flow_to(&report, B6);
    assert_eq!(native["verdict"], "answered", "{native:#}");
}

#[cfg(feature = "libpcap")]
#[test]
fn libpcap_applies_a_kernel_filter() {
    let lab = match Lab::new("f") {
        Ok(lab) => lab,
        Err(reason) => return skip(&reason),
    };
    let bad = Command::new("ip")
        .args(["netns", "exec", &lab.a, BIN, "live", "--iface", &lab.va])
        .args(["--duration", "1", "--filter", "no such filter"])
        .output()
        .expect("run live");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("invalid capture filter"), "{stderr}");
    // Only ICMPv6 passes: the protocol-41 traffic never reaches the analysis.
    let mut live = lab.start_live(&[
        "--duration",
        "2",
        "--timeout",
        "1",
        "--format",
        "json",
        "--filter",
        "icmp6",
    ]);
    lab.send("native,isatap");
    let run = live.wait(Duration::from_secs(20));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let report = json(&run.stdout, "the live report");
    assert_eq!(flow_to(&report, B6)["verdict"], "answered");
    assert!(finding_kinds(&report).is_empty(), "{report:#}");
}

#[test]
fn unknown_interface_lists_those_that_exist() {
    let out = Command::new(BIN)
        .args(["live", "--iface", "nosuch-if0", "--duration", "1"])
        .output()
        .expect("run live");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no interface named `nosuch-if0`"),
        "{stderr}"
    );
    assert!(stderr.contains("lo"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn without_permission_says_how_to_fix_it() {
    let uid = Command::new("id").arg("-u").output().map(|o| o.stdout);
    let root = uid.is_ok_and(|u| String::from_utf8_lossy(&u).trim() == "0");
    let mut cmd = if root {
        if Command::new("setpriv").arg("--version").output().is_err() {
            note_skip("root, and setpriv (util-linux) is missing to drop privileges");
            return;
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
        c
    } else {
        Command::new(BIN)
    };
    let out = cmd
        .args(["live", "--iface", "lo", "--duration", "1"])
        .output()
        .expect("run live");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // setpriv exits 126/127 when it cannot execute the binary at all.
    if root && matches!(out.status.code(), Some(126 | 127)) {
        note_skip(&format!(
            "the unprivileged user cannot execute {BIN}: {stderr}"
        ));
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot open lo: permission denied"),
        "{stderr}"
    );
    assert!(stderr.contains("setcap cap_net_raw"), "{stderr}");
}

/// The sender: run by the tests above inside namespace A (it does nothing
/// when run any other way).
#[test]
#[ignore = "run by the live tests inside a network namespace"]
fn send_from_namespace() {
    let Ok(what) = std::env::var(SEND_ENV) else {
        return;
    };
    let b6: Ipv6Addr = B6.parse().unwrap();
    let native =
        Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6)).expect("raw ICMPv6 socket");
    let isatap = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(41)))
        .expect("raw protocol-41 socket");
    let data = b"abcdefghijklmnopqrstuvwabcdefghi";
    for seq in 1..=3u16 {
        if what.contains("native") {
            // The kernel fills in the ICMPv6 checksum of raw ICMPv6 sockets.
            let mut echo = vec![128, 0, 0, 0];
            echo.extend_from_slice(&ECHO_ID.to_be_bytes());
            echo.extend_from_slice(&seq.to_be_bytes());
            echo.extend_from_slice(data);
            let to = SockAddr::from(SocketAddr::V6(SocketAddrV6::new(b6, 0, 0, 0)));
            native.send_to(&echo, &to).expect("send ICMPv6 echo");
        }
        if what.contains("isatap") {
            // An ISATAP host's echo: the IPv6 packet goes to the IPv4 address
            // of what it takes for its router, as protocol 41.
            let [p, q, r, s] = A4.octets();
            let src = Ipv6Addr::new(
                0x2001,
                0xdb8,
                1,
                0,
                0,
                0x5efe,
                u16::from_be_bytes([p, q]),
                u16::from_be_bytes([r, s]),
            );
            let dst: Ipv6Addr = CLIENT6.parse().unwrap();
            let inner = echo6(src, dst, 128, false, ISATAP_ECHO_ID, seq, data).bytes();
            let to = SockAddr::from(SocketAddr::V4(SocketAddrV4::new(B4, 0)));
            isatap.send_to(&inner, &to).expect("send protocol 41");
        }
        thread::sleep(Duration::from_millis(150));
    }
}

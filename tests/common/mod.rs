//! Helpers shared by the integration tests: the sample scenarios as command
//! lines, external tools that may be missing, running a child process with a
//! time limit, and scratch directories.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The capture arguments of a scenario: station first, then the others by name.
pub fn capture_args(scenario: &str) -> Vec<String> {
    let dir = root().join("captures").join(scenario);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcapng"))
        .collect();
    files.sort();
    files.sort_by_key(|p| !p.ends_with("station.pcapng"));
    files.iter().map(|p| p.display().to_string()).collect()
}

pub fn topology_arg(scenario: &str) -> String {
    root()
        .join("captures")
        .join(scenario)
        .join("topology.toml")
        .display()
        .to_string()
}

/// Every scenario folder under `captures/` (the synthetic ones and the
/// lab's, `lab/<fault>`): those that hold a topology.toml.
pub fn scenarios() -> Vec<String> {
    let mut names = Vec::new();
    for (dir, prefix) in [
        (root().join("captures"), ""),
        (root().join("captures/lab"), "lab/"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().join("topology.toml").is_file() {
                names.push(format!("{prefix}{}", e.file_name().to_string_lossy()));
            }
        }
    }
    names.sort();
    names
}

/// A fresh directory for one test's files, kept under the target directory
/// so that a failure can be looked at.
pub fn work_dir(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(tag);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The isatap-trace binary with its colour switched off and a fixed redaction key.
pub fn isatap_trace() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_isatap-trace"));
    c.env("NO_COLOR", "1")
        .env("ISATAP_TRACE_REDACT_KEY", "integration-test");
    c
}

/// True when `program --version` runs.
pub fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd` to its end, or kills it after `limit`.
pub fn run_for(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let id = child.id();
    let started = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(out) => return out.unwrap(),
            Err(_) if started.elapsed() > limit => {
                let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
                panic!("{cmd:?} did not finish within {limit:?}");
            }
            Err(_) => {}
        }
    }
}

/// Runs `analyze` with the scenario's topology and captures plus `extra`.
pub fn analyze(scenario: &str, extra: &[&str]) -> Output {
    let mut cmd = isatap_trace();
    cmd.arg("analyze")
        .arg("--topology")
        .arg(topology_arg(scenario))
        .args(extra)
        .args(capture_args(scenario));
    run_for(&mut cmd, Duration::from_secs(120))
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A directory of its own under the system temp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// `isatap-trace-<suite>-<pid>-<n>-<tag>`: unique per test run and call.
    pub fn new(suite: &str, tag: &str) -> Scratch {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "isatap-trace-{suite}-{}-{n}-{tag}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes `bytes` to `name` in the directory.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

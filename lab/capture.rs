//! Recording what each vantage point sees: one `tcpdump` per interface,
//! merged afterwards into one pcapng file per vantage point whose interfaces
//! carry the real interface names (the project's own pcapng writer).
//!
//! Guarantees: a capture is listening when [`Tcpdump::start`] returns; stopping
//! it lets tcpdump write out what it holds; the merged file has the frames of
//! all its interfaces in timestamp order with their original lengths.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use isatap_trace::capture::file::CaptureFile;
use isatap_trace::capture::pcapng_writer::PcapngWriter;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// One running `tcpdump -i <interface>` inside a namespace.
pub struct Tcpdump {
    pub interface: String,
    pub path: PathBuf,
    child: Option<Child>,
    stderr: Option<mpsc::Receiver<String>>,
}

impl Tcpdump {
    /// Starts tcpdump on `interface` of namespace `netns`, writing `path`;
    /// returns once tcpdump says it is listening.
    pub fn start(netns: &str, interface: &str, path: &Path) -> Result<Tcpdump> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", netns, "tcpdump", "-i", interface])
            .args(["-w"])
            .arg(path)
            .args([
                "-U",
                "-n",
                "-s",
                "0",
                "-Z",
                "root",
                "--time-stamp-precision=nano",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start tcpdump")?;
        let stderr = child.stderr.take().context("tcpdump stderr")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut t = Tcpdump {
            interface: interface.to_owned(),
            path: path.to_path_buf(),
            child: Some(child),
            stderr: Some(rx),
        };
        let until = Instant::now() + Duration::from_secs(10);
        let mut said = Vec::new();
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match t.stderr.as_ref().map(|rx| rx.recv_timeout(left)) {
                Some(Ok(line)) if line.contains("listening on") => return Ok(t),
                Some(Ok(line)) => said.push(line),
                _ => break,
            }
        }
        t.stop();
        Err(anyhow!(
            "tcpdump on {interface} in {netns} did not start listening: {}",
            said.join("; ")
        ))
    }

    /// Stops tcpdump (SIGINT, as Ctrl-C) and waits for it to close its file.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
        }
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Merges per-interface captures (interface name, pcap file) into one
/// pcapng file at `out`.
pub fn merge(parts: &[(String, PathBuf)], out: &Path, application: &str) -> Result<usize> {
    struct Rec {
        ts: i64,
        iface: u32,
        orig_len: u32,
        bytes: Vec<u8>,
    }
    let mut records = Vec::new();
    let mut link_types = Vec::new();
    for (i, (name, path)) in parts.iter().enumerate() {
        let mut file = CaptureFile::open(path)
            .map_err(|e| anyhow!("cannot read the capture of {name}: {e}"))?;
        let summary = file.for_each_frame(|f| {
            records.push(Rec {
                ts: f.ts_ns,
                iface: i as u32,
                orig_len: f.orig_len,
                bytes: f.bytes.to_vec(),
            });
        });
        if let Some(damage) = summary.damage {
            bail!("the capture of {name} is damaged: {damage}");
        }
        let link_type = summary
            .interfaces
            .first()
            .map(|i| i.link_type)
            .or_else(|| summary.link_types.first().copied())
            .with_context(|| format!("the capture of {name} names no link type"))?;
        link_types.push(link_type);
    }
    records.sort_by_key(|r| (r.ts, r.iface));
    let mut w = PcapngWriter::new(
        BufWriter::new(File::create(out).with_context(|| format!("create {}", out.display()))?),
        application,
    )?;
    for ((name, _), lt) in parts.iter().zip(&link_types) {
        w.add_interface(*lt, Some(name))?;
    }
    for r in &records {
        w.write_packet(r.iface, r.ts, r.orig_len, &r.bytes, None)?;
    }
    w.into_inner()?;
    Ok(records.len())
}

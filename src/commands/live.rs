//! `isatap-trace live`: diagnose while the administrator reproduces the
//! failure. Frames from one interface go through the same decoding,
//! correlation and diagnosis as `analyze`; a tokio loop takes them from the
//! capture thread, saves them (`--write`), and a few times a second draws the
//! conclusions so far, printing each finding the moment it is confirmed.
//!
//! Guarantees:
//! - nothing is called unanswered before `--timeout` has passed since it was
//!   sent: conclusions are drawn as of now − timeout
//!   ([`conclude_until`]); probes still waiting when the capture ends are left
//!   out of the final report, which says how many;
//! - `--write` saves every captured frame, before `--host`/`--net` filtering,
//!   numbered as the report's evidence numbers them, so `analyze FILE` gives
//!   the same findings (when no filter was given);
//! - JSON and Markdown go to stdout as the final report only; the status line
//!   goes to stderr and only when stderr is a terminal;
//! - the kernel's drop count is in every report; an interface that goes down
//!   or disappears ends the run with the report of what was seen, then exit
//!   status 2.

pub mod select;

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::analyze::render;
use super::pipeline::{Gathered, conclude_until, count};
use super::{Outcome, is_broken_pipe};
use crate::capture::CaptureInfo;
use crate::capture::live::{
    self, BACKEND, CaptureEvent, Capturer, LiveError, LiveFrame, OpenOptions, now_ns,
};
use crate::capture::pcapng_writer::PcapngWriter;
use crate::cli::ReportFormat;
use crate::decode::decode;
use crate::error::Error;
use crate::flow::summary::pending;
use crate::flow::{Correlator, Decoding, Limits};
use crate::report::model::FindingEntry;
use crate::report::{Report, text};
use crate::topology::Topology;

pub use select::AddressFilter;

/// How often conclusions are drawn and the status line is redrawn.
const TICK: Duration = Duration::from_millis(250);
/// Frames waiting between the capture thread and the analysis.
const QUEUE: usize = 4096;
/// How long the end of a run waits for the capture thread to hand over what
/// it still holds (it stops within [`live::POLL_INTERVAL`]).
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// A resolved `live` invocation.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub iface: String,
    pub topology: Option<PathBuf>,
    /// Stop after this long; `None`: until Ctrl-C (or SIGTERM).
    pub duration: Option<Duration>,
    /// How long a probe may wait for its answer before it is unanswered.
    pub timeout: Duration,
    /// Save every captured frame here as pcapng.
    pub write: Option<PathBuf>,
    /// `--host` / `--net`.
    pub filter: AddressFilter,
    /// A kernel BPF filter (libpcap builds only).
    pub bpf: Option<String>,
    pub format: ReportFormat,
    /// Colour the text output (stdout is a terminal and NO_COLOR is unset).
    pub color: bool,
    /// Show the status line on stderr (stderr is a terminal).
    pub status: bool,
}

/// Runs a live capture until `--duration`, Ctrl-C or SIGTERM, then writes the
/// report to `out`. Progress and the status line go to `err`.
pub fn run(cfg: &LiveConfig, out: &mut dyn Write, err: &mut dyn Write) -> Result<Outcome, Error> {
    let topology = cfg.topology.as_deref().map(Topology::load).transpose()?;
    let source = live::open(
        &cfg.iface,
        &OpenOptions {
            filter: cfg.bpf.clone(),
        },
    )?;
    let link_type = source.link_type();
    let writer = match &cfg.write {
        Some(path) => Some(Saver::create(path.clone(), &cfg.iface, link_type)?),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: "<tokio runtime>".into(),
            source,
        })?;
    let (capturer, rx) = Capturer::start(source, QUEUE).map_err(|source| Error::Io {
        path: "<capture thread>".into(),
        source,
    })?;
    let _ = writeln!(
        err,
        "isatap-trace: capturing on {} ({BACKEND}, link type {link_type}){}; \
         Ctrl-C ends the capture and prints the report",
        cfg.iface,
        match cfg.duration {
            Some(d) => format!(" for {}", seconds(d)),
            None => String::new(),
        },
    );
    let _ = err.flush();
    let mut session = Session::new(cfg, topology, link_type, writer);
    let failure = runtime.block_on(session.capture(&capturer, rx, out, err));
    session.kernel_drops = capturer.join(DRAIN_LIMIT).or(session.kernel_drops);
    session.finish(failure, out, err)
}

/// How the capture loop ended, when not as asked.
enum Failure {
    Source(LiveError),
    Write(Error),
}

/// The pcapng file of `--write`.
struct Saver {
    path: PathBuf,
    writer: PcapngWriter<BufWriter<File>>,
}

impl Saver {
    fn create(path: PathBuf, iface: &str, link_type: u32) -> Result<Saver, Error> {
        let io_err = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file = File::create(&path).map_err(io_err)?;
        let mut writer =
            PcapngWriter::new(BufWriter::with_capacity(1 << 16, file), "isatap-trace live")
                .map_err(io_err)?;
        writer
            .add_interface(link_type, Some(iface))
            .map_err(io_err)?;
        Ok(Saver { path, writer })
    }

    fn error(&self, source: io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// Everything a live run accumulates.
struct Session<'a> {
    cfg: &'a LiveConfig,
    topology: Option<Topology>,
    gathered: Gathered,
    link_type: u32,
    saver: Option<Saver>,
    /// Frames captured (the number of the last one).
    frames: u64,
    /// Findings already printed, by the identity `diagnose` merges on.
    printed: HashSet<(String, String, String)>,
    open_flows: u32,
    kernel_drops: Option<u64>,
    /// Frames arrived since the conclusions were last drawn.
    dirty: bool,
    /// Capture time of the newest frame, and the cutoff of the last conclusions.
    newest_ns: i64,
    judged_until: i64,
    next_conclusions: Instant,
    status_shown: bool,
    started: Instant,
}

impl<'a> Session<'a> {
    fn new(
        cfg: &'a LiveConfig,
        topology: Option<Topology>,
        link_type: u32,
        saver: Option<Saver>,
    ) -> Session<'a> {
        let info = CaptureInfo {
            label: cfg.iface.clone(),
            path: PathBuf::from(&cfg.iface),
            format: crate::capture::Format::Live.name(),
            link_types: vec![link_type],
            interfaces: vec![Some(cfg.iface.clone())],
            ..CaptureInfo::default()
        };
        Session {
            cfg,
            topology,
            gathered: Gathered {
                infos: vec![info],
                correlator: Correlator::new(Limits::default()),
                unreadable: Vec::new(),
            },
            link_type,
            saver,
            frames: 0,
            printed: HashSet::new(),
            open_flows: 0,
            kernel_drops: None,
            dirty: false,
            newest_ns: i64::MIN,
            judged_until: i64::MIN,
            next_conclusions: Instant::now(),
            status_shown: false,
            started: Instant::now(),
        }
    }

    fn timeout_ns(&self) -> i64 {
        i64::try_from(self.cfg.timeout.as_nanos()).unwrap_or(i64::MAX)
    }

    /// Takes frames until the capture is asked to end or fails on its own.
    async fn capture(
        &mut self,
        capturer: &Capturer,
        mut rx: mpsc::Receiver<CaptureEvent>,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Option<Failure> {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let duration = self.cfg.duration;
        let deadline = async move {
            match duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        let failure = loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Some(CaptureEvent::Frame(f)) => {
                        if let Err(e) = self.take(&f) {
                            break Some(Failure::Write(e));
                        }
                    }
                    Some(CaptureEvent::Failed(e)) => break Some(Failure::Source(e)),
                    None => break Some(Failure::Source(LiveError::Failed {
                        iface: self.cfg.iface.clone(),
                        reason: "the capture thread ended unexpectedly".into(),
                    })),
                },
                _ = tick.tick() => {
                    self.kernel_drops = capturer.kernel_drops();
                    if let Err(e) = self.tick(out, err) {
                        break Some(Failure::Write(e));
                    }
                }
                () = &mut deadline => break None,
                () = &mut shutdown => break None,
            }
        };
        // Take what the capture thread still holds: everything captured before
        // the end is analysed (and saved, unless saving failed).
        capturer.stop();
        let drain = async {
            let mut write_failure = None;
            while let Some(event) = rx.recv().await {
                if let CaptureEvent::Frame(f) = event
                    && let Err(e) = self.take(&f)
                {
                    write_failure.get_or_insert(e);
                }
            }
            write_failure
        };
        match tokio::time::timeout(DRAIN_LIMIT, drain).await {
            Ok(Some(e)) if failure.is_none() => Some(Failure::Write(e)),
            _ => failure,
        }
    }

    /// One captured frame: save it, count it, and (if it passes the address
    /// filter) correlate it.
    fn take(&mut self, f: &LiveFrame) -> Result<(), Error> {
        self.frames += 1;
        if let Some(saver) = &mut self.saver
            && let Err(e) = saver
                .writer
                .write_packet(0, f.ts_ns, f.orig_len, &f.bytes, None)
        {
            let e = saver.error(e);
            self.saver = None;
            return Err(e);
        }
        let frame = f.frame(self.frames, self.link_type);
        let decoded = decode(&frame);
        let info = &mut self.gathered.infos[0];
        info.packets = self.frames;
        let decoding = match decoded.error {
            None => Decoding::Clean,
            Some(e) if e.is_unsupported() => Decoding::Unsupported,
            Some(e) => Decoding::Malformed(e),
        };
        count(info, &frame, decoding);
        if self.cfg.filter.matches(&decoded) {
            self.gathered.correlator.add(0, &frame, &decoded);
            self.dirty = true;
        }
        self.newest_ns = self.newest_ns.max(f.ts_ns);
        Ok(())
    }

    /// Flushes the saved capture, draws the conclusions if they can have
    /// changed, prints new findings, redraws the status line. Fails only when
    /// the capture file cannot be written.
    fn tick(&mut self, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Error> {
        if let Some(saver) = &mut self.saver
            // A capture cut short still leaves a readable file.
            && let Err(e) = saver.writer.flush()
        {
            let e = saver.error(e);
            self.saver = None;
            return Err(e);
        }
        if Instant::now() >= self.next_conclusions {
            let started = Instant::now();
            let new = self.confirm(now_ns());
            if !new.is_empty() && self.cfg.format == ReportFormat::Text {
                self.clear_status(err);
                colored::control::set_override(self.cfg.color);
                for f in &new {
                    let _ = text::write_finding(out, f);
                }
                let _ = out.flush();
            }
            // Conclusions over a large table may take a while: never spend
            // more than a fifth of the time on them.
            self.next_conclusions = Instant::now() + started.elapsed() * 4;
        }
        self.draw_status(err);
        Ok(())
    }

    /// Draws the conclusions as of `now_ns` − timeout, if they can have
    /// changed since last time, and returns the findings not confirmed before.
    fn confirm(&mut self, now_ns: i64) -> Vec<FindingEntry> {
        let cutoff = now_ns.saturating_sub(self.timeout_ns());
        // Conclusions change when frames arrive, or when the cutoff passes a
        // frame that was still within its timeout last time.
        if !self.dirty && self.newest_ns <= self.judged_until {
            return Vec::new();
        }
        self.gathered.infos[0].kernel_drops = self.kernel_drops;
        let report = conclude_until(&mut self.gathered, self.topology.as_ref(), Some(cutoff));
        self.open_flows = pending(&self.gathered.correlator.table, Some(cutoff)).flows;
        self.dirty = false;
        self.judged_until = cutoff;
        report
            .findings
            .into_iter()
            .filter(|f| {
                self.printed
                    .insert((f.kind.to_owned(), f.node.clone(), f.fix.clone()))
            })
            .collect()
    }

    fn status_text(&self) -> String {
        let info = &self.gathered.infos[0];
        let findings = self.printed.len();
        format!(
            "{}: {} frames, {} decoded, {} flow{} open, {} finding{}, {} kernel drops  [{}s]",
            self.cfg.iface,
            self.frames,
            info.decoded,
            self.open_flows,
            if self.open_flows == 1 { "" } else { "s" },
            findings,
            if findings == 1 { "" } else { "s" },
            self.kernel_drops
                .map_or_else(|| "?".to_owned(), |d| d.to_string()),
            self.started.elapsed().as_secs()
        )
    }

    fn draw_status(&mut self, err: &mut dyn Write) {
        if !self.cfg.status {
            return;
        }
        let _ = write!(err, "\r\x1b[2K{}", self.status_text());
        let _ = err.flush();
        self.status_shown = true;
    }

    fn clear_status(&mut self, err: &mut dyn Write) {
        if self.status_shown {
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.status_shown = false;
        }
    }

    /// The report at the end of the capture (`end_ns`): conclusions as of
    /// the end minus the timeout, saying how many probes were still waiting.
    fn final_report(&mut self, end_ns: i64) -> Report {
        let cutoff = end_ns.saturating_sub(self.timeout_ns());
        let mut report = conclude_until(&mut self.gathered, self.topology.as_ref(), Some(cutoff));
        let waiting = pending(&self.gathered.correlator.table, Some(cutoff));
        if waiting.probes > 0 {
            report.assumptions.push(format!(
                "{} probe{} of {} flow{} left in the last {} of the capture; their answers could not be \
                 waited for (--timeout), so they are left out.",
                waiting.probes,
                if waiting.probes == 1 { "" } else { "s" },
                waiting.flows,
                if waiting.flows == 1 { "" } else { "s" },
                seconds(self.cfg.timeout)
            ));
        }
        report
    }

    /// Writes the final report and says how the run ends.
    fn finish(
        mut self,
        failure: Option<Failure>,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Outcome, Error> {
        self.clear_status(err);
        let end_ns = now_ns();
        // Unknown (the backend could not read the counter) stays unknown.
        self.gathered.infos[0].kernel_drops = self.kernel_drops;
        let mut failure = failure;
        if let Some(mut saver) = self.saver.take() {
            let saved = match self.kernel_drops {
                Some(drops) => saver.writer.write_drops(0, end_ns, drops),
                None => Ok(()),
            }
            .and_then(|()| saver.writer.flush());
            if let Err(e) = saved
                && failure.is_none()
            {
                failure = Some(Failure::Write(saver.error(e)));
            }
        }
        let report = self.final_report(end_ns);
        write_report(&report, self.cfg, out)?;
        match failure {
            Some(Failure::Source(e)) => Err(e.into()),
            Some(Failure::Write(e)) => Err(e),
            None => Ok(if report.errors() > 0 {
                Outcome::Findings
            } else {
                Outcome::Clean
            }),
        }
    }
}

fn write_report(report: &Report, cfg: &LiveConfig, out: &mut dyn Write) -> Result<(), Error> {
    match render(report, cfg.format, out, cfg.color).and_then(|()| out.flush()) {
        Err(e) if !is_broken_pipe(&e) => Err(Error::Io {
            path: "<stdout>".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Ctrl-C, or SIGTERM where there is one.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling: only --duration (or the interface) ends the run.
        std::future::pending::<()>().await;
    }
}

/// "3 s", "2.5 s".
fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::capture::live::LINKTYPE_RAW;
    use crate::commands::pipeline::conclude;
    use crate::synth::packet::{echo6, icmpv6, ipv4};

    const SECOND: i64 = 1_000_000_000;
    const STATION: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);
    const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 31);

    fn config() -> LiveConfig {
        LiveConfig {
            iface: "test0".into(),
            topology: None,
            duration: None,
            timeout: Duration::from_secs(3),
            write: None,
            filter: AddressFilter::default(),
            bpf: None,
            format: ReportFormat::Json,
            color: false,
            status: false,
        }
    }

    fn isatap(v4: Ipv4Addr) -> Ipv6Addr {
        let [a, b, c, d] = v4.octets();
        Ipv6Addr::new(
            0x2001,
            0xdb8,
            1,
            0,
            0,
            0x5efe,
            u16::from_be_bytes([a, b]),
            u16::from_be_bytes([c, d]),
        )
    }

    /// An ISATAP station that solicits its router and pings a DA client
    /// three times over protocol 41; nothing ever comes back.
    fn silent_router(session: &mut Session<'_>) {
        let link_local = |v4: Ipv4Addr| {
            let s = isatap(v4).segments();
            Ipv6Addr::new(0xfe80, 0, 0, 0, s[4], s[5], s[6], s[7])
        };
        let rs = icmpv6(
            link_local(STATION),
            link_local(ROUTER),
            255,
            133,
            0,
            &[0; 4],
        );
        let mut frames = vec![(0, ipv4(STATION, ROUTER, 128, 41, 1, &rs.bytes()))];
        for seq in 1..=3u16 {
            let target: Ipv6Addr = "2001:db8:1000::1".parse().unwrap();
            let echo = echo6(isatap(STATION), target, 128, false, 1, seq, b"abcdefgh");
            let at = i64::from(seq - 1) * SECOND / 2;
            frames.push((at, ipv4(STATION, ROUTER, 128, 41, seq, &echo.bytes())));
        }
        for (ts_ns, bytes) in frames {
            let frame = LiveFrame {
                ts_ns,
                orig_len: bytes.len() as u32,
                bytes,
            };
            session.take(&frame).unwrap();
        }
    }

    fn kinds(findings: &[FindingEntry]) -> Vec<&'static str> {
        findings.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn silence_is_judged_only_after_the_timeout() {
        let cfg = config();
        let mut session = Session::new(&cfg, None, LINKTYPE_RAW, None);
        silent_router(&mut session);
        // 1.5 s after the first packet: everything is still within 3 s.
        assert!(session.confirm(SECOND + SECOND / 2).is_empty());
        assert_eq!(session.open_flows, 1);
        // Nothing new and the cutoff did not pass the newest frame: no change.
        assert!(session.confirm(SECOND + SECOND / 2).is_empty());
        // 3.2 s: the solicitation and the first echo have waited long enough.
        let new = session.confirm(3 * SECOND + SECOND / 5);
        assert_eq!(
            kinds(&new),
            ["no-router-advertisement", "protocol-41-blocked"],
            "{new:#?}"
        );
        // As of that cutoff (3.2 s − 3 s), one echo is judged.
        let report = conclude_until(&mut session.gathered, None, Some(SECOND / 5));
        assert_eq!(report.flows.len(), 1);
        assert_eq!(
            (report.flows[0].probes, report.flows[0].verdict),
            (1, "unanswered")
        );
        // Later conclusions confirm nothing new: each finding is printed once.
        assert!(session.confirm(10 * SECOND).is_empty());
        assert_eq!(session.open_flows, 0);
    }

    #[test]
    fn the_final_report_leaves_out_probes_still_waiting() {
        let cfg = config();
        let mut session = Session::new(&cfg, None, LINKTYPE_RAW, None);
        silent_router(&mut session);
        // The capture ends 3.7 s after the first packet: the third echo (at
        // 1 s) has waited only 2.7 s.
        let report = session.final_report(3 * SECOND + 7 * SECOND / 10);
        assert_eq!((report.flows[0].probes, report.flows[0].answered), (2, 0));
        assert!(
            report
                .assumptions
                .iter()
                .any(|a| a.starts_with("1 probe of 1 flow left")),
            "{:?}",
            report.assumptions
        );
        // Once every timeout has run out, the live conclusions are those of a file.
        let live = session.final_report(60 * SECOND);
        let file = conclude(&mut session.gathered, None);
        assert_eq!(live, file);
    }

    #[test]
    fn filtered_frames_are_counted_and_saved_but_not_analysed() {
        let mut cfg = config();
        cfg.filter = AddressFilter {
            hosts: vec!["198.51.100.7".parse().unwrap()],
            nets: Vec::new(),
        };
        let dir = std::env::temp_dir().join(format!("live-filter-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("saved.pcapng");
        let saver = Saver::create(path.clone(), "test0", LINKTYPE_RAW).unwrap();
        let mut session = Session::new(&cfg, None, LINKTYPE_RAW, Some(saver));
        silent_router(&mut session);
        let report = session.final_report(60 * SECOND);
        assert!(report.flows.is_empty() && report.findings.is_empty());
        assert_eq!(
            (report.captures[0].packets, report.captures[0].decoded),
            (4, 4)
        );
        drop(session);
        let mut file = crate::capture::file::CaptureFile::open(&path).unwrap();
        let mut saved = 0;
        file.for_each_frame(|_| saved += 1);
        assert_eq!(saved, 4, "--write saves frames the filter leaves out");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

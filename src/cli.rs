//! Command-line definitions (clap) and their resolution into validated
//! configurations. Raw arguments never leave this module: commands receive a
//! resolved config whose paths, labels and formats are already checked.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use crate::error::Error;
use crate::report::sanitize::is_terminal_unsafe;

const ABOUT: &str = "Follow DirectAccess manage-out pings and traceroutes through ISATAP, \
6to4 and Teredo tunnels across capture points, and say where they died and why.";

const AFTER_HELP: &str = "\
Captures are pcap or pcapng files, optionally gzip-compressed; `-` reads stdin.
Name the vantage point of each with LABEL=PATH (station=st.pcapng router=r.pcap).

Exit status: 0 no error finding, 1 at least one error finding, 2 usage error or
unreadable input.";

#[derive(Debug, Parser)]
#[command(name = "isatap-trace", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Follow every ping and traceroute across the captures and say where it died and why.
    Analyze(AnalyzeArgs),
    /// Print one line per frame with every tunnel layer (like tcpdump -nn).
    Decode(DecodeArgs),
    /// Print the topology the captures show, as TOML that --topology accepts.
    Topology(TopologyArgs),
    /// Capture on an interface and diagnose while the failure is reproduced.
    #[command(after_help = LIVE_AFTER_HELP)]
    Live(LiveArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Verdict first, for a terminal (coloured unless NO_COLOR is set or output is not a terminal).
    Text,
    /// The isatap-trace/1 JSON schema.
    Json,
    /// Ticket-ready Markdown.
    Markdown,
    /// One self-contained HTML page (inline CSS and SVG): the verdict, a ladder
    /// diagram of each failing flow across the capture points, flows, findings
    /// with evidence and fix, captures. Prints well.
    Html,
}

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// The deployment (router, DA nodes and their client prefixes) to check the captures against.
    #[arg(long, short = 't', value_name = "FILE")]
    pub topology: Option<PathBuf>,
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the evidence as a pcapng FILE.
    ///
    /// It holds the frames the findings cite and every sighting (request,
    /// reply, ICMP error) of the probes of the flows they explain, from all
    /// captures, with their original timestamps, one interface block per
    /// source interface, and a comment on each packet naming the finding and
    /// the capture and frame it came from. Only sightings the analysis keeps
    /// in detail are exported (the first probes of each flow, the first
    /// sightings of each kind per probe). The captures are read again, so
    /// `-` (stdin) cannot be used with it.
    #[arg(long, value_name = "FILE")]
    pub export_pcap: Option<PathBuf>,
    /// Replace every IPv4, IPv6 and MAC address in all outputs by pseudonyms.
    ///
    /// The pseudonyms are consistent across the report and the exported
    /// capture, one-to-one, keep prefix structure (one /64 stays one /64) and
    /// keep the IPv4 embedded in ISATAP, 6to4 and Teredo addresses equal to
    /// the pseudonym of the outer IPv4; checksums of exported frames are
    /// adjusted; topology names are kept. The key is random for each run;
    /// set ISATAP_TRACE_REDACT_KEY to a secret phrase to get the same
    /// pseudonyms in several runs.
    #[arg(long)]
    pub redact: bool,
    /// Captures, one per vantage point: [LABEL=]PATH (`-` for stdin).
    #[arg(value_name = "CAPTURE", required = true)]
    pub captures: Vec<String>,
}

const LIVE_AFTER_HELP: &str = "\
Capturing needs root or CAP_NET_RAW:
  sudo setcap cap_net_raw,cap_net_admin=eip $(which isatap-trace)

A probe counts as unanswered once --timeout has passed without an answer.
Findings are printed the moment they are confirmed (text format), with a status
line on stderr when it is a terminal; Ctrl-C or --duration ends the capture and
prints the report. The kernel's drop count is in every report.

Exit status: 0 no error finding, 1 at least one error finding, 2 the capture
could not start or the interface went down (the report of what was seen is
still printed).";

#[derive(Debug, clap::Args)]
pub struct LiveArgs {
    /// The interface to capture on (eth0, ens192, …).
    #[arg(long, short = 'i', value_name = "IFACE")]
    pub iface: String,
    /// The deployment (router, DA nodes and their client prefixes) to check the traffic against.
    #[arg(long, short = 't', value_name = "FILE")]
    pub topology: Option<PathBuf>,
    /// Stop after SECS seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECS", value_parser = positive_seconds)]
    pub duration: Option<Duration>,
    /// Seconds a probe may wait for its answer before it counts as unanswered.
    #[arg(long, value_name = "SECS", default_value = "3", value_parser = seconds)]
    pub timeout: Duration,
    /// Save every captured frame as pcapng (before --host/--net filtering, so the
    /// file is the faithful capture; `analyze FILE` gives the same findings).
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Only analyse frames to or from ADDR in any IP layer: outer IPv4, the IPv6
    /// inside protocol 41 or Teredo, or a packet an ICMP error quotes. Repeatable.
    #[arg(long, value_name = "ADDR")]
    pub host: Vec<IpAddr>,
    /// Like --host, for every address in PREFIX (192.0.2.0/24, fd9c:30c:2da4:1000::/64). Repeatable.
    #[arg(long, value_name = "PREFIX")]
    pub net: Vec<IpNet>,
    /// Report format (JSON and Markdown: the final report only).
    #[arg(long, short = 'f', value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// A kernel BPF filter (libpcap syntax), applied before everything else.
    /// It cannot see inside tunnels: prefer --host/--net.
    #[cfg(feature = "libpcap")]
    #[arg(long, value_name = "BPF")]
    pub filter: Option<String>,
}

/// Seconds as a duration: a finite, non-negative number (`2.5`).
fn seconds(arg: &str) -> Result<Duration, String> {
    let secs: f64 = arg
        .trim()
        .parse()
        .map_err(|_| format!("`{arg}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{arg}`: expected seconds, 0 or more"))
}

/// Seconds, more than zero.
fn positive_seconds(arg: &str) -> Result<Duration, String> {
    let d = seconds(arg)?;
    if d.is_zero() {
        return Err("must be more than 0 seconds".into());
    }
    Ok(d)
}

#[derive(Debug, clap::Args)]
pub struct TopologyArgs {
    /// Captures, one per vantage point: [LABEL=]PATH (`-` for stdin).
    #[arg(value_name = "CAPTURE", required = true)]
    pub captures: Vec<String>,
}

/// Parses the capture arguments and makes their labels unique (a repeated
/// label gets `-2`, `-3`… so evidence stays unambiguous).
pub fn capture_specs(args: &[String]) -> Result<Vec<CaptureSpec>, Error> {
    let mut specs: Vec<CaptureSpec> = Vec::new();
    let mut stdin_used = false;
    for arg in args {
        let mut spec = CaptureSpec::parse(arg)?;
        if spec.path.as_os_str() == "-" {
            if stdin_used {
                return Err(Error::Usage("`-` (stdin) can be given only once".into()));
            }
            stdin_used = true;
        }
        let base = spec.label.clone();
        let mut n = 1;
        while specs.iter().any(|s| s.label == spec.label) {
            n += 1;
            spec.label = format!("{base}-{n}");
        }
        specs.push(spec);
    }
    Ok(specs)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FrameFormat {
    /// One line per frame, tcpdump style.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = FrameFormat::Text)]
    pub format: FrameFormat,
    /// The capture to decode: [LABEL=]PATH, `-` for stdin.
    #[arg(value_name = "CAPTURE")]
    pub capture: String,
}

/// A capture named on the command line, with the vantage point it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSpec {
    pub label: String,
    pub path: PathBuf,
}

impl CaptureSpec {
    /// Parses `[LABEL=]PATH`. A path that exists is taken whole even if it holds `=`.
    pub fn parse(arg: &str) -> Result<CaptureSpec, Error> {
        if arg.is_empty() {
            return Err(Error::Usage("empty capture argument".into()));
        }
        if let Some((label, path)) = arg.split_once('=')
            && !Path::new(arg).exists()
        {
            if label.is_empty() || path.is_empty() {
                return Err(Error::Usage(format!(
                    "`{arg}`: expected LABEL=PATH with both parts present"
                )));
            }
            if !label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(Error::Usage(format!(
                    "`{arg}`: a label may hold letters, digits, '-', '_' and '.' only"
                )));
            }
            return Ok(CaptureSpec {
                label: label.to_owned(),
                path: PathBuf::from(path),
            });
        }
        Ok(CaptureSpec {
            label: default_label(Path::new(arg)),
            path: PathBuf::from(arg),
        })
    }
}

/// The file name without directories and capture/compression extensions.
fn default_label(path: &Path) -> String {
    if path.as_os_str() == "-" {
        return "stdin".into();
    }
    let mut name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "capture".into());
    for ext in [".gz", ".pcapng", ".pcap", ".cap", ".ntar"] {
        if let Some(stem) = name.strip_suffix(ext)
            && !stem.is_empty()
        {
            name = stem.to_owned();
        }
    }
    // A label goes into reports, topology files and fix commands: a file name
    // that came with the captures must not carry control characters into them.
    name.chars()
        .map(|c| if is_terminal_unsafe(c) { '_' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_capture_specs() {
        let s = CaptureSpec::parse("router=/tmp/nonexistent/r.pcapng").unwrap();
        assert_eq!(s.label, "router");
        assert_eq!(s.path, PathBuf::from("/tmp/nonexistent/r.pcapng"));
        let s = CaptureSpec::parse("/x/station.pcapng.gz").unwrap();
        assert_eq!(s.label, "station");
        assert_eq!(CaptureSpec::parse("-").unwrap().label, "stdin");
        assert!(CaptureSpec::parse("=x.pcap").is_err());
        assert!(CaptureSpec::parse("a b=x.pcap").is_err());
        assert!(CaptureSpec::parse("").is_err());
        // A file name's control characters do not make it into the label.
        let s = CaptureSpec::parse("/x/dav\u{1b}[2J\u{202e}01.pcapng").unwrap();
        assert_eq!(s.label, "dav_[2J_01");
    }

    #[test]
    fn repeated_labels_are_numbered() {
        let args = vec![
            "a/x.pcap".to_owned(),
            "b/x.pcap".to_owned(),
            "x=c.pcap".to_owned(),
        ];
        let labels: Vec<String> = capture_specs(&args)
            .unwrap()
            .into_iter()
            .map(|s| s.label)
            .collect();
        assert_eq!(labels, ["x", "x-2", "x-3"]);
        assert!(capture_specs(&["-".to_owned(), "-".to_owned()]).is_err());
    }

    #[test]
    fn live_arguments() {
        let cli = Cli::try_parse_from([
            "isatap-trace",
            "live",
            "--iface",
            "eth0",
            "--duration",
            "2.5",
            "--host",
            "192.0.2.1",
            "--host",
            "2001:db8::1",
            "--net",
            "2001:db8:1000::/64",
        ])
        .unwrap();
        let Command::Live(args) = cli.command else {
            panic!("not live")
        };
        assert_eq!(args.iface, "eth0");
        assert_eq!(args.duration, Some(Duration::from_millis(2500)));
        assert_eq!(args.timeout, Duration::from_secs(3));
        assert_eq!(args.host.len(), 2);
        assert_eq!(args.net.len(), 1);
        for bad in [
            ["--duration", "0"],
            ["--duration", "-1"],
            ["--timeout", "soon"],
            ["--net", "2001:db8::1"],
        ] {
            let mut argv = vec!["isatap-trace", "live", "--iface", "eth0"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
        }
        assert!(
            Cli::try_parse_from(["isatap-trace", "live"]).is_err(),
            "--iface is required"
        );
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

//! Command-line definitions (clap) and their resolution into validated
//! configurations. Raw arguments never leave this module: commands receive a
//! resolved config whose paths, labels and formats are already checked.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Verdict first, for a terminal (coloured unless NO_COLOR is set or output is not a terminal).
    Text,
    /// The isatap-trace/1 JSON schema.
    Json,
    /// Ticket-ready Markdown.
    Markdown,
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
    /// Captures, one per vantage point: [LABEL=]PATH (`-` for stdin).
    #[arg(value_name = "CAPTURE", required = true)]
    pub captures: Vec<String>,
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
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

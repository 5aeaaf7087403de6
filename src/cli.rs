//! Command-line definitions (clap) and their resolution into validated
//! configurations. Raw arguments never leave this module: commands receive a
//! resolved config whose paths, labels and formats are already checked.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::Error;

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
    /// Print one line per frame with every tunnel layer (like tcpdump -nn).
    Decode(DecodeArgs),
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
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_specs() {
        let s = CaptureSpec::parse("router=/tmp/nonexistent/r.pcapng").unwrap();
        assert_eq!(s.label, "router");
        assert_eq!(s.path, PathBuf::from("/tmp/nonexistent/r.pcapng"));
        let s = CaptureSpec::parse("/x/station.pcapng.gz").unwrap();
        assert_eq!(s.label, "station");
        assert_eq!(CaptureSpec::parse("-").unwrap().label, "stdin");
        assert!(CaptureSpec::parse("=x.pcap").is_err());
        assert!(CaptureSpec::parse("a b=x.pcap").is_err());
        assert!(CaptureSpec::parse("").is_err());
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

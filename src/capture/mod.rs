//! Frame sources: capture files (pcap, pcapng, gzip-compressed, stdin) and live
//! interfaces, all yielding the same borrowed [`Frame`].
//!
//! Guarantees: a source never panics on its input. A file that is not a
//! capture fails at open with [`CaptureError`]; damage later in a file ends the
//! frames with a [`Damage`] note while every frame before it is still yielded.
//! Memory does not grow with the file: frames borrow a reusable buffer.

pub mod file;
pub mod framing;
pub mod input;
pub mod live;
pub mod pcapng_writer;

use std::fmt;
use std::path::PathBuf;

/// One captured frame, borrowed from the source's buffer until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based frame number, as Wireshark shows it for the same file.
    pub index: u64,
    /// Nanoseconds since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// LINKTYPE_* value of the interface the frame was captured on.
    pub link_type: u32,
    /// pcapng interface id (0 for classic pcap and live capture).
    pub interface: u32,
    /// Length of the packet on the wire; `bytes.len()` may be shorter (snaplen).
    pub orig_len: u32,
    pub bytes: &'a [u8],
    /// The first `opt_comment` of a pcapng packet block, raw (not yet validated UTF-8).
    pub comment: Option<&'a [u8]>,
}

/// Why a source stopped before the end of its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The file ends in the middle of a record (cut short while copying or capturing).
    Truncated { after_frame: u64, offset: u64 },
    /// A record that cannot be real: the rest of the file cannot be framed.
    Malformed {
        after_frame: u64,
        offset: u64,
        reason: String,
    },
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::Truncated {
                after_frame,
                offset,
            } => write!(
                f,
                "file ends in the middle of a record at byte {offset} (after frame {after_frame}); \
                 the frames before it were read"
            ),
            Damage::Malformed {
                after_frame,
                offset,
                reason,
            } => write!(
                f,
                "damaged record at byte {offset} (after frame {after_frame}): {reason}; \
                 the rest of the file was skipped"
            ),
        }
    }
}

/// An input that cannot be read at all (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    NotACapture { path: PathBuf, reason: String },
}

/// Container format of a capture source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNanos,
    PcapNg,
    Live,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Pcap => "pcap",
            Format::PcapNanos => "pcap-ns",
            Format::PcapNg => "pcapng",
            Format::Live => "live",
        }
    }
}

/// What one capture held, for the report's inventory and the capture checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureInfo {
    pub label: String,
    pub path: PathBuf,
    pub format: &'static str,
    pub gzip: bool,
    pub link_types: Vec<u32>,
    /// pcapng interface names by interface id (None where unnamed).
    pub interfaces: Vec<Option<String>>,
    pub packets: u64,
    pub decoded: u64,
    pub malformed: u64,
    /// Frames of link types this tool does not decode.
    pub unsupported: u64,
    /// The first malformed frames: frame number and what stopped decoding.
    pub malformed_examples: Vec<(u64, String)>,
    pub damage: Option<Damage>,
    pub kernel_drops: Option<u64>,
    pub first_ts_ns: Option<i64>,
    pub last_ts_ns: Option<i64>,
}

impl CaptureInfo {
    pub fn truncated(&self) -> bool {
        matches!(self.damage, Some(Damage::Truncated { .. }))
    }
}

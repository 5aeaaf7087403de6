//! Live frame sources: one interface captured through a backend chosen at
//! build time — AF_PACKET (Linux, through pnet_datalink, no system library)
//! by default, libpcap with the `libpcap` cargo feature (adds BPF filters;
//! Npcap on Windows) — and the capture thread that feeds their frames to the
//! analysis over a channel.
//!
//! Guarantees: a source yields owned frames with their capture time and never
//! panics on what the wire delivers; every way a capture can fail to start
//! (no such interface, no permission, interface down) or stop early (the
//! interface goes down or disappears) is a [`LiveError`] that says what
//! happened and what to do. The capture thread never drops a frame itself:
//! when the analysis falls behind it blocks, so any loss happens in the
//! kernel's socket buffer, where the kernel drop counter sees it.

#[cfg(all(target_os = "linux", not(feature = "libpcap")))]
mod af_packet;
#[cfg(feature = "libpcap")]
mod libpcap;
#[cfg(all(target_os = "linux", not(feature = "libpcap")))]
mod packet_stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::Frame;

/// How long a source waits for a frame before it returns, so that the
/// capture thread notices a stop request promptly.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Largest frame a source reads whole (Wireshark's limit; covers GRO/TSO).
pub const SNAPLEN: usize = 262_144;
/// How often the capture thread reads the kernel drop counter.
const STATS_EVERY: Duration = Duration::from_millis(250);

pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_RAW: u32 = 101;

/// The backend this build captures with.
pub const BACKEND: &str = if cfg!(feature = "libpcap") {
    "libpcap"
} else {
    "AF_PACKET"
};

/// One captured frame, owned (live rates are low; a copy per frame is cheap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveFrame {
    /// Capture time, nanoseconds since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// Length on the wire; `bytes` may be shorter when cut at [`SNAPLEN`].
    pub orig_len: u32,
    pub bytes: Vec<u8>,
}

impl LiveFrame {
    /// The frame as the decoder and correlator take it.
    pub fn frame(&self, index: u64, link_type: u32) -> Frame<'_> {
        Frame {
            index,
            ts_ns: self.ts_ns,
            link_type,
            interface: 0,
            orig_len: self.orig_len,
            bytes: &self.bytes,
            comment: None,
        }
    }
}

/// Why a live capture could not start, or stopped before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(
        "cannot open {iface}: permission denied — run as root or give the binary CAP_NET_RAW: \
         sudo setcap cap_net_raw,cap_net_admin=eip $(which isatap-trace)"
    )]
    PermissionDenied { iface: String },
    #[error("no interface named `{iface}`; the interfaces here are: {}", list(.available))]
    NoSuchInterface {
        iface: String,
        available: Vec<String>,
    },
    #[error("{iface} is down: bring it up first (ip link set {iface} up)")]
    Down { iface: String },
    #[error(
        "{iface} went down during the capture ({reason}); the report covers what was seen until then"
    )]
    WentDown { iface: String, reason: String },
    #[error("{iface} disappeared during the capture; the report covers what was seen until then")]
    Disappeared { iface: String },
    #[error("invalid capture filter `{filter}`: {reason}")]
    Filter { filter: String, reason: String },
    #[error("cannot capture on {iface}: {reason}")]
    Failed { iface: String, reason: String },
    #[error("{0}")]
    Unsupported(String),
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "(none found)".to_owned()
    } else {
        names.join(", ")
    }
}

/// What to open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// A kernel BPF filter (libpcap backend only).
    pub filter: Option<String>,
}

/// A live capture on one interface.
pub trait FrameSource: Send {
    /// The interface captured on.
    fn interface(&self) -> &str;
    /// LINKTYPE_* of every frame of this source.
    fn link_type(&self) -> u32;
    /// The next frame, waiting at most about [`POLL_INTERVAL`]; `Ok(None)`
    /// when none came in that time.
    fn next_frame(&mut self) -> Result<Option<LiveFrame>, LiveError>;
    /// Frames the kernel dropped since the source was opened (socket buffer
    /// full, and for libpcap also the interface's own drops), if it can tell.
    fn kernel_drops(&mut self) -> Option<u64>;
}

/// Opens a live capture on `iface` with this build's backend.
pub fn open(iface: &str, options: &OpenOptions) -> Result<Box<dyn FrameSource>, LiveError> {
    #[cfg(feature = "libpcap")]
    {
        Ok(Box::new(libpcap::Libpcap::open(iface, options)?))
    }
    #[cfg(all(target_os = "linux", not(feature = "libpcap")))]
    {
        if let Some(filter) = &options.filter {
            return Err(LiveError::Filter {
                filter: filter.clone(),
                reason: "BPF filters need a build with the `libpcap` feature; use --host/--net"
                    .into(),
            });
        }
        Ok(Box::new(af_packet::AfPacket::open(iface)?))
    }
    #[cfg(not(any(target_os = "linux", feature = "libpcap")))]
    {
        let _ = (iface, options);
        Err(LiveError::Unsupported(
            "live capture on this system needs a build with the `libpcap` feature \
             (cargo build --release --features libpcap; Npcap on Windows)"
                .into(),
        ))
    }
}

/// The current time on the capture clock, nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// What the capture thread sends.
#[derive(Debug)]
pub enum CaptureEvent {
    Frame(LiveFrame),
    /// The capture stopped on its own; nothing follows.
    Failed(LiveError),
}

/// Kernel drops as last read by the capture thread (`u64::MAX`: unknown).
#[derive(Debug)]
struct Drops(AtomicU64);

impl Drops {
    fn set(&self, drops: Option<u64>) {
        self.0.store(drops.unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn get(&self) -> Option<u64> {
        match self.0.load(Ordering::Relaxed) {
            u64::MAX => None,
            n => Some(n),
        }
    }
}

/// The capture thread: reads the source until stopped, the source fails, or
/// the receiving side goes away.
pub struct Capturer {
    stop: Arc<AtomicBool>,
    drops: Arc<Drops>,
    link_type: u32,
    thread: Option<JoinHandle<()>>,
}

impl Capturer {
    /// Starts capturing from `source`; frames arrive on the returned channel
    /// (at most `queue` waiting; beyond that the thread waits for the reader).
    pub fn start(
        mut source: Box<dyn FrameSource>,
        queue: usize,
    ) -> std::io::Result<(Capturer, mpsc::Receiver<CaptureEvent>)> {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let drops = Arc::new(Drops(AtomicU64::new(u64::MAX)));
        drops.set(source.kernel_drops());
        let link_type = source.link_type();
        let thread = {
            let stop = Arc::clone(&stop);
            let drops = Arc::clone(&drops);
            std::thread::Builder::new()
                .name("capture".into())
                .spawn(move || {
                    let mut stats_at = Instant::now();
                    while !stop.load(Ordering::Relaxed) {
                        let next = source.next_frame();
                        if stats_at.elapsed() >= STATS_EVERY {
                            drops.set(source.kernel_drops());
                            stats_at = Instant::now();
                        }
                        match next {
                            Ok(Some(frame)) => {
                                let sent = tx.blocking_send(CaptureEvent::Frame(frame));
                                if sent.is_err() {
                                    break; // nobody reads any more
                                }
                            }
                            Ok(None) => {}
                            Err(e) => {
                                drops.set(source.kernel_drops());
                                let _ = tx.blocking_send(CaptureEvent::Failed(e));
                                return;
                            }
                        }
                    }
                    drops.set(source.kernel_drops());
                })?
        };
        Ok((
            Capturer {
                stop,
                drops,
                link_type,
                thread: Some(thread),
            },
            rx,
        ))
    }

    pub fn link_type(&self) -> u32 {
        self.link_type
    }

    /// Kernel drops as of the thread's last reading.
    pub fn kernel_drops(&self) -> Option<u64> {
        self.drops.get()
    }

    /// Asks the thread to stop; it does within about [`POLL_INTERVAL`], after
    /// sending what it has read (keep receiving until the channel closes).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Stops the thread and waits for it to end, at most `limit`: a thread
    /// stuck in the capture library is left behind rather than hang the run.
    /// Returns the kernel drops as last read (at the thread's end).
    pub fn join(mut self, limit: Duration) -> Option<u64> {
        self.stop();
        let Some(t) = self.thread.take() else {
            return self.kernel_drops();
        };
        let started = Instant::now();
        while !t.is_finished() && started.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(5));
        }
        if t.is_finished() {
            let _ = t.join();
        }
        self.kernel_drops()
    }
}

impl Drop for Capturer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Whether the interface is administratively up, from Linux's sysfs (`None`:
/// cannot tell, e.g. on another system).
#[cfg_attr(not(feature = "libpcap"), allow(dead_code))]
pub(crate) fn admin_up(iface: &str) -> Option<bool> {
    const IFF_UP: u32 = 0x1;
    if iface.is_empty() || iface.contains('/') || iface == "." || iface == ".." {
        return None;
    }
    let flags = std::fs::read_to_string(format!("/sys/class/net/{iface}/flags")).ok()?;
    let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).ok()?;
    Some(flags & IFF_UP != 0)
}

/// The LINKTYPE_* of frames read raw from a Linux interface of ARPHRD type
/// `arphrd` (from /sys/class/net/IFACE/type): what precedes the IP header.
pub fn link_type_of_arphrd(arphrd: u32, has_mac: bool) -> u32 {
    match arphrd {
        // Ethernet, and loopback (which carries an all-zero Ethernet header).
        1 | 772 => LINKTYPE_ETHERNET,
        // IPIP, IP6IP6, SIT (protocol 41), PPP, IP-over-GRE, tun (ARPHRD_NONE):
        // the frame starts with the IP header.
        768 | 769 | 776 | 512 | 778 | 823 | 65534 => LINKTYPE_RAW,
        _ if has_mac => LINKTYPE_ETHERNET,
        _ => LINKTYPE_RAW,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Script {
        frames: Vec<Result<Option<LiveFrame>, LiveError>>,
    }

    impl FrameSource for Script {
        fn interface(&self) -> &str {
            "test0"
        }
        fn link_type(&self) -> u32 {
            LINKTYPE_RAW
        }
        fn next_frame(&mut self) -> Result<Option<LiveFrame>, LiveError> {
            if self.frames.is_empty() {
                std::thread::sleep(Duration::from_millis(5));
                return Ok(None);
            }
            self.frames.remove(0)
        }
        fn kernel_drops(&mut self) -> Option<u64> {
            Some(7)
        }
    }

    fn frame(n: u8) -> LiveFrame {
        LiveFrame {
            ts_ns: i64::from(n),
            orig_len: 1,
            bytes: vec![n],
        }
    }

    #[test]
    fn capture_thread_delivers_frames_then_the_failure() {
        let source = Script {
            frames: vec![
                Ok(Some(frame(1))),
                Ok(None),
                Ok(Some(frame(2))),
                Err(LiveError::WentDown {
                    iface: "test0".into(),
                    reason: "test".into(),
                }),
            ],
        };
        // A queue of one: the thread must wait for the reader, not drop.
        let (capturer, mut rx) = Capturer::start(Box::new(source), 1).unwrap();
        let mut got = Vec::new();
        while let Some(ev) = rx.blocking_recv() {
            got.push(ev);
        }
        assert!(matches!(&got[0], CaptureEvent::Frame(f) if f.bytes == [1]));
        assert!(matches!(&got[1], CaptureEvent::Frame(f) if f.bytes == [2]));
        assert!(matches!(
            &got[2],
            CaptureEvent::Failed(LiveError::WentDown { .. })
        ));
        assert_eq!(got.len(), 3);
        assert_eq!(capturer.kernel_drops(), Some(7));
        assert_eq!(capturer.link_type(), LINKTYPE_RAW);
        capturer.join(Duration::from_secs(1));
    }

    #[test]
    fn capture_thread_stops_when_asked() {
        let source = Script { frames: vec![] };
        let (capturer, mut rx) = Capturer::start(Box::new(source), 4).unwrap();
        capturer.stop();
        assert!(rx.blocking_recv().is_none(), "channel closes after stop");
        capturer.join(Duration::from_secs(1));
    }

    #[test]
    fn loopback_is_up_and_odd_names_are_unknown() {
        if cfg!(target_os = "linux") && std::path::Path::new("/sys/class/net/lo").exists() {
            assert_eq!(admin_up("lo"), Some(true));
        }
        assert_eq!(admin_up("../lo"), None);
        assert_eq!(admin_up("no-such-interface0"), None);
    }

    #[test]
    fn link_types_of_linux_interfaces() {
        assert_eq!(link_type_of_arphrd(1, true), LINKTYPE_ETHERNET);
        assert_eq!(link_type_of_arphrd(772, false), LINKTYPE_ETHERNET);
        assert_eq!(link_type_of_arphrd(776, false), LINKTYPE_RAW);
        assert_eq!(link_type_of_arphrd(65534, false), LINKTYPE_RAW);
        assert_eq!(link_type_of_arphrd(9999, true), LINKTYPE_ETHERNET);
        assert_eq!(link_type_of_arphrd(9999, false), LINKTYPE_RAW);
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = LiveError::PermissionDenied {
            iface: "eth0".into(),
        };
        let text = e.to_string();
        assert!(text.contains("permission denied"), "{text}");
        assert!(text.contains("setcap cap_net_raw"), "{text}");
        let e = LiveError::NoSuchInterface {
            iface: "eht0".into(),
            available: vec!["lo".into(), "eth0".into()],
        };
        assert!(e.to_string().ends_with("lo, eth0"), "{e}");
    }
}

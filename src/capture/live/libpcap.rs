//! The libpcap backend (cargo feature `libpcap`): any interface libpcap can
//! open — Npcap adapters on Windows — with an optional kernel BPF filter.
//!
//! Guarantees: frames carry libpcap's nanosecond timestamps and original
//! lengths; libpcap's error texts are turned into the same [`LiveError`]s as
//! the default backend (permission, no such interface, interface down); a
//! read never blocks for long, so the capture thread always stops when asked.

use pcap::{Active, Capture, Device, Precision};

use std::time::{Duration, Instant};

use super::{FrameSource, LiveError, LiveFrame, OpenOptions, POLL_INTERVAL, SNAPLEN, admin_up};

/// Kernel buffer asked for: absorbs bursts while the analysis runs.
const BUFFER: i32 = 8 << 20;
/// How often an idle capture checks that the interface is still up: libpcap
/// reports an interface that is gone, not one that was set down.
const STATE_EVERY: Duration = Duration::from_millis(500);
/// The pause when no frame is waiting. The capture is non-blocking: in
/// blocking mode libpcap keeps polling inside pcap_next_ex while the
/// interface is down, and the thread could not be stopped.
const IDLE: Duration = Duration::from_millis(5);

pub struct Libpcap {
    iface: String,
    link_type: u32,
    capture: Capture<Active>,
    checked: Instant,
}

impl Libpcap {
    pub fn open(iface: &str, options: &OpenOptions) -> Result<Libpcap, LiveError> {
        let devices = Device::list().map_err(|e| open_error(iface, &e.to_string()))?;
        let Some(device) = devices.iter().find(|d| d.name == iface).cloned() else {
            return Err(LiveError::NoSuchInterface {
                iface: iface.to_owned(),
                available: devices.into_iter().map(|d| d.name).collect(),
            });
        };
        let mut capture = Capture::from_device(device)
            .map_err(|e| open_error(iface, &e.to_string()))?
            .promisc(true)
            .snaplen(SNAPLEN as i32)
            .buffer_size(BUFFER)
            .timeout(POLL_INTERVAL.as_millis() as i32)
            .immediate_mode(true)
            .precision(Precision::Nano)
            .open()
            .and_then(Capture::setnonblock)
            .map_err(|e| open_error(iface, &e.to_string()))?;
        if let Some(filter) = &options.filter {
            capture
                .filter(filter, true)
                .map_err(|e| LiveError::Filter {
                    filter: filter.clone(),
                    reason: e.to_string(),
                })?;
        }
        let link_type = u32::try_from(capture.get_datalink().0).unwrap_or(u32::MAX);
        Ok(Libpcap {
            iface: iface.to_owned(),
            link_type,
            capture,
            checked: Instant::now(),
        })
    }
}

impl FrameSource for Libpcap {
    fn interface(&self) -> &str {
        &self.iface
    }

    fn link_type(&self) -> u32 {
        self.link_type
    }

    fn next_frame(&mut self) -> Result<Option<LiveFrame>, LiveError> {
        match self.capture.next_packet() {
            Ok(packet) => {
                let h = packet.header;
                // Nanosecond precision was asked for: tv_usec holds nanoseconds.
                // (The fields are i64 on Linux, i32 on Windows.)
                #[allow(clippy::useless_conversion)]
                let ts_ns = i64::from(h.ts.tv_sec)
                    .saturating_mul(1_000_000_000)
                    .saturating_add(i64::from(h.ts.tv_usec));
                Ok(Some(LiveFrame {
                    ts_ns,
                    orig_len: h.len,
                    bytes: packet.data.to_vec(),
                }))
            }
            Err(pcap::Error::TimeoutExpired) => {
                std::thread::sleep(IDLE);
                if self.checked.elapsed() >= STATE_EVERY {
                    self.checked = Instant::now();
                    if admin_up(&self.iface) == Some(false) {
                        return Err(LiveError::WentDown {
                            iface: self.iface.clone(),
                            reason: "it was set administratively down".into(),
                        });
                    }
                }
                Ok(None)
            }
            Err(e) => Err(run_error(&self.iface, &e.to_string())),
        }
    }

    fn kernel_drops(&mut self) -> Option<u64> {
        self.capture
            .stats()
            .ok()
            .map(|s| u64::from(s.dropped) + u64::from(s.if_dropped))
    }
}

fn open_error(iface: &str, text: &str) -> LiveError {
    let lower = text.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        LiveError::PermissionDenied {
            iface: iface.to_owned(),
        }
    } else if lower.contains("no such device") {
        LiveError::NoSuchInterface {
            iface: iface.to_owned(),
            available: Device::list()
                .map(|d| d.into_iter().map(|d| d.name).collect())
                .unwrap_or_default(),
        }
    } else if lower.contains("not up") {
        LiveError::Down {
            iface: iface.to_owned(),
        }
    } else {
        LiveError::Failed {
            iface: iface.to_owned(),
            reason: text.to_owned(),
        }
    }
}

fn run_error(iface: &str, text: &str) -> LiveError {
    let lower = text.to_ascii_lowercase();
    if lower.contains("disappeared") || lower.contains("no such device") {
        LiveError::Disappeared {
            iface: iface.to_owned(),
        }
    } else if lower.contains("went down") || lower.contains("not up") {
        LiveError::WentDown {
            iface: iface.to_owned(),
            reason: text.to_owned(),
        }
    } else {
        LiveError::Failed {
            iface: iface.to_owned(),
            reason: text.to_owned(),
        }
    }
}

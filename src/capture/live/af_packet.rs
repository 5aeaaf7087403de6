//! The default live backend: a Linux AF_PACKET socket, bound and read through
//! pnet_datalink, seeing every frame the interface sends and receives.
//!
//! Guarantees: the socket sees frames of the named interface only (it is
//! created with protocol 0, so nothing is queued before it is bound); frames
//! up to [`SNAPLEN`] bytes are read whole; the kernel's drop counter
//! (PACKET_STATISTICS) is read from the same socket; timestamps are taken
//! when the frame is read (pnet does not hand out the kernel's).

use std::io;
use std::os::fd::{IntoRawFd, RawFd};

use pnet_datalink::{Channel, Config, DataLinkReceiver, NetworkInterface};
use socket2::{Domain, Socket, Type};

use super::{
    FrameSource, LiveError, LiveFrame, POLL_INTERVAL, SNAPLEN, link_type_of_arphrd, now_ns,
    packet_stats,
};

/// Socket receive buffer asked for: absorbs bursts while the analysis runs.
const RECV_BUFFER: usize = 8 << 20;

pub struct AfPacket {
    iface: String,
    link_type: u32,
    rx: Box<dyn DataLinkReceiver>,
    /// The socket `rx` reads; owned (and closed) by `rx`, valid while it lives.
    fd: RawFd,
    drops: Option<u64>,
}

impl AfPacket {
    pub fn open(iface: &str) -> Result<AfPacket, LiveError> {
        let ni = find(iface)?;
        if !ni.is_up() {
            return Err(LiveError::Down {
                iface: iface.to_owned(),
            });
        }
        let socket = Socket::new(Domain::PACKET, Type::RAW, None).map_err(|e| {
            if is_permission(&e) {
                LiveError::PermissionDenied {
                    iface: iface.to_owned(),
                }
            } else {
                failed(iface, &e)
            }
        })?;
        // Best effort: the kernel caps it at net.core.rmem_max.
        let _ = socket.set_recv_buffer_size(RECV_BUFFER);
        let fd = socket.into_raw_fd();
        let config = Config {
            read_buffer_size: SNAPLEN,
            read_timeout: Some(POLL_INTERVAL),
            promiscuous: true,
            socket_fd: Some(fd),
            ..Config::default()
        };
        // pnet binds the socket to the interface (ETH_P_ALL) and owns it from
        // here on: it closes it on failure and when the receiver is dropped.
        let rx = match pnet_datalink::channel(&ni, config) {
            Ok(Channel::Ethernet(_tx, rx)) => rx,
            Ok(_) => {
                return Err(LiveError::Failed {
                    iface: iface.to_owned(),
                    reason: "unexpected channel type from the AF_PACKET backend".into(),
                });
            }
            Err(e) if is_permission(&e) => {
                return Err(LiveError::PermissionDenied {
                    iface: iface.to_owned(),
                });
            }
            Err(e) => return Err(open_error(iface, &e)),
        };
        let has_mac = ni.mac.is_some_and(|m| m.octets() != [0; 6]);
        let link_type = std::fs::read_to_string(format!("/sys/class/net/{iface}/type"))
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .map_or_else(
                || link_type_of_arphrd(u32::MAX, has_mac),
                |t| link_type_of_arphrd(t, has_mac),
            );
        let mut source = AfPacket {
            iface: iface.to_owned(),
            link_type,
            rx,
            fd,
            drops: None,
        };
        // Reading the counter resets it: start from zero.
        source.drops = packet_stats::dropped(source.fd).ok().map(|_| 0);
        Ok(source)
    }
}

impl FrameSource for AfPacket {
    fn interface(&self) -> &str {
        &self.iface
    }

    fn link_type(&self) -> u32 {
        self.link_type
    }

    fn next_frame(&mut self) -> Result<Option<LiveFrame>, LiveError> {
        match self.rx.next() {
            Ok(bytes) => {
                let ts_ns = now_ns();
                Ok(Some(LiveFrame {
                    ts_ns,
                    orig_len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
                    bytes: bytes.to_vec(),
                }))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(None)
            }
            // An interface that goes down sets an error on the socket (ENETDOWN),
            // which pnet reports as an unexpected poll event: ask the interface.
            Err(e) => Err(state_error(&self.iface, &e)),
        }
    }

    fn kernel_drops(&mut self) -> Option<u64> {
        if let Ok(d) = packet_stats::dropped(self.fd) {
            self.drops = Some(self.drops.unwrap_or(0) + u64::from(d));
        }
        self.drops
    }
}

/// The interface named `iface`, or the list of those that exist.
fn find(iface: &str) -> Result<NetworkInterface, LiveError> {
    let all = pnet_datalink::interfaces();
    match all.iter().find(|i| i.name == iface) {
        Some(i) => Ok(i.clone()),
        None => {
            let mut available: Vec<String> = all.into_iter().map(|i| i.name).collect();
            available.dedup();
            Err(LiveError::NoSuchInterface {
                iface: iface.to_owned(),
                available,
            })
        }
    }
}

fn is_permission(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied
        || matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES))
}

fn failed(iface: &str, e: &io::Error) -> LiveError {
    LiveError::Failed {
        iface: iface.to_owned(),
        reason: e.to_string(),
    }
}

/// Explains why binding to the interface failed.
fn open_error(iface: &str, e: &io::Error) -> LiveError {
    match e.raw_os_error() {
        Some(libc::ENODEV | libc::ENXIO) => find(iface).err().unwrap_or_else(|| failed(iface, e)),
        Some(libc::ENETDOWN) => LiveError::Down {
            iface: iface.to_owned(),
        },
        _ => failed(iface, e),
    }
}

/// Explains a socket error by the interface's state: gone, down, or neither.
fn state_error(iface: &str, e: &io::Error) -> LiveError {
    match pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == iface)
    {
        None => LiveError::Disappeared {
            iface: iface.to_owned(),
        },
        Some(i) if !i.is_up() => LiveError::WentDown {
            iface: iface.to_owned(),
            reason: "it was set administratively down".into(),
        },
        Some(_) if e.raw_os_error() == Some(libc::ENETDOWN) => LiveError::WentDown {
            iface: iface.to_owned(),
            reason: e.to_string(),
        },
        Some(_) => failed(iface, e),
    }
}

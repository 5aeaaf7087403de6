//! The AF_PACKET socket's drop counter (`getsockopt(SOL_PACKET,
//! PACKET_STATISTICS)`): frames the kernel discarded because the socket's
//! receive buffer was full.
//!
//! Guarantees: one of the crate's two audited `unsafe` modules
//! (`tests/unsafe_audit.rs` keeps it at that). No safe binding of this
//! socket option exists (std, socket2, rustix and nix have none), and the
//! kernel is the only place the count lives; the call below passes a
//! correctly sized, initialised struct and checks the length written back.

#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::RawFd;

/// Frames dropped since the previous call (the kernel resets the counter on
/// every read). `fd` must be an open AF_PACKET socket.
pub fn dropped(fd: RawFd) -> io::Result<u32> {
    let mut stats = libc::tpacket_stats {
        tp_packets: 0,
        tp_drops: 0,
    };
    let mut len = size_of::<libc::tpacket_stats>() as libc::socklen_t;
    // SAFETY: `stats` is a valid, writable `tpacket_stats` that lives across
    // the call, and `len` holds its exact size, so the kernel writes at most
    // that many bytes into it. A bad `fd` only makes the call fail (EBADF,
    // ENOTSOCK, ENOPROTOOPT); it cannot touch memory of ours.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&raw mut stats).cast::<libc::c_void>(),
            &raw mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if (len as usize) < size_of::<libc::tpacket_stats>() {
        return Err(io::Error::other("short PACKET_STATISTICS answer"));
    }
    Ok(stats.tp_drops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_that_is_no_packet_socket_is_an_error() {
        assert!(dropped(-1).is_err());
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        use std::os::fd::AsRawFd;
        assert!(dropped(file.as_raw_fd()).is_err());
    }

    #[test]
    fn reads_the_counter_of_a_packet_socket() {
        use std::os::fd::AsRawFd;
        // Opening a packet socket needs CAP_NET_RAW; without it there is nothing to read.
        let Ok(socket) = socket2::Socket::new(socket2::Domain::PACKET, socket2::Type::RAW, None)
        else {
            println!("SKIP: no CAP_NET_RAW to open a packet socket");
            return;
        };
        assert_eq!(dropped(socket.as_raw_fd()).unwrap(), 0);
    }
}

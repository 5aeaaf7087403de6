//! Why decoding stopped: a layer, the frame offset where that layer starts, and
//! a kind. Copyable and allocation-free so the hot path never builds strings;
//! the text is made only when an error is shown.

use std::fmt;

/// The protocol layer at which decoding stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    Capture,
    Ethernet,
    Vlan,
    LinuxSll,
    LinuxSll2,
    Null,
    Ipv4,
    Ipv6,
    Ipv6Extension,
    Gre,
    Teredo,
    Icmpv4,
    Icmpv6,
    NdOption,
    Udp,
    Tcp,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::Capture => "capture",
            Layer::Ethernet => "ethernet",
            Layer::Vlan => "vlan",
            Layer::LinuxSll => "linux-sll",
            Layer::LinuxSll2 => "linux-sll2",
            Layer::Null => "null",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Extension => "ipv6-extension",
            Layer::Gre => "gre",
            Layer::Teredo => "teredo",
            Layer::Icmpv4 => "icmpv4",
            Layer::Icmpv6 => "icmpv6",
            Layer::NdOption => "nd-option",
            Layer::Udp => "udp",
            Layer::Tcp => "tcp",
        }
    }
}

/// What was wrong at that layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The frame ends before the header does.
    Truncated { needed: u32, have: u32 },
    /// A header field holds a value that cannot be (bad version, length below minimum…).
    Invalid(&'static str),
    /// More nested tunnels than [`super::MAX_TUNNEL_DEPTH`].
    TunnelTooDeep,
    /// The capture's link type is not one this decoder reads.
    UnsupportedLinkType(u32),
    /// A pcapng packet names an interface its section never described.
    NoInterface,
}

/// A decoding stop: the layers before it are kept in the [`super::Decoded`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecodeError {
    pub layer: Layer,
    /// Frame offset where the failing layer starts.
    pub offset: usize,
    pub kind: ErrorKind,
}

impl DecodeError {
    pub fn truncated(layer: Layer, offset: usize, needed: usize, have: usize) -> DecodeError {
        DecodeError {
            layer,
            offset,
            kind: ErrorKind::Truncated {
                needed: needed.min(u32::MAX as usize) as u32,
                have: have.min(u32::MAX as usize) as u32,
            },
        }
    }

    pub fn invalid(layer: Layer, offset: usize, what: &'static str) -> DecodeError {
        DecodeError {
            layer,
            offset,
            kind: ErrorKind::Invalid(what),
        }
    }

    /// True for frames that are not broken but merely not decodable here.
    pub fn is_unsupported(&self) -> bool {
        matches!(self.kind, ErrorKind::UnsupportedLinkType(_))
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layer = self.layer.name();
        let at = self.offset;
        match self.kind {
            ErrorKind::Truncated { needed, have } => write!(
                f,
                "{layer} at offset {at}: truncated (needs {needed} bytes, {have} captured)"
            ),
            ErrorKind::Invalid(what) => write!(f, "{layer} at offset {at}: {what}"),
            ErrorKind::TunnelTooDeep => write!(
                f,
                "{layer} at offset {at}: more than {} nested tunnels",
                super::MAX_TUNNEL_DEPTH
            ),
            ErrorKind::UnsupportedLinkType(lt) => write!(f, "unsupported link type {lt}"),
            ErrorKind::NoInterface => {
                write!(f, "packet names an interface the capture never described")
            }
        }
    }
}

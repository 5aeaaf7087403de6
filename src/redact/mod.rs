//! `--redact`: consistent pseudonyms for every address in every output.
//!
//! One [`Redactor`] holds one key; everything it maps (report text, topology,
//! exported packet bytes) maps the same way, so the redacted report and the
//! redacted evidence capture still agree with each other, and an ISATAP,
//! 6to4 or Teredo address still embeds the pseudonym of the outer IPv4 it
//! embedded before (the RFC 5214 source check reads the same). Topology
//! names, capture labels and everything that is not an address are kept.
//!
//! The key is random for each run unless the environment variable
//! [`KEY_ENV`] holds a secret phrase: then separate runs (say, the captures
//! of a follow-up ticket) use the same pseudonyms. The key is never written
//! anywhere; without it the pseudonyms cannot be reversed by trying
//! addresses.
//!
//! Guarantees: see [`addr`] (one-to-one, structure kept), [`text`] (every
//! address in free text) and [`frame`] (every address field of the headers
//! the decoder knows, checksums adjusted).

pub mod addr;
pub mod checksum;
pub mod frame;
pub mod keyed;
pub mod text;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::Ipv6Net;

pub use frame::Refused;
pub use keyed::Key;

use addr::AddrMap;
use keyed::Keyed;

/// The environment variable that makes pseudonyms repeatable across runs.
pub const KEY_ENV: &str = "ISATAP_TRACE_REDACT_KEY";

/// Maps addresses to pseudonyms under one key.
#[derive(Clone, Copy, Debug)]
pub struct Redactor {
    map: AddrMap,
}

impl Redactor {
    pub fn new(key: Key) -> Redactor {
        Redactor {
            map: AddrMap::new(Keyed::new(key)),
        }
    }

    /// The key from [`KEY_ENV`] when it is set and not empty, else a random one.
    pub fn from_env() -> Redactor {
        let key = match std::env::var_os(KEY_ENV) {
            Some(secret) if !secret.is_empty() => Key::from_secret(secret.as_encoded_bytes()),
            _ => Key::random(),
        };
        Redactor::new(key)
    }

    pub fn ipv4(&self, a: Ipv4Addr) -> Ipv4Addr {
        self.map.ipv4(a)
    }

    pub fn ipv6(&self, a: Ipv6Addr) -> Ipv6Addr {
        self.map.ipv6(a)
    }

    pub fn ip(&self, a: IpAddr) -> IpAddr {
        match a {
            IpAddr::V4(v4) => IpAddr::V4(self.ipv4(v4)),
            IpAddr::V6(v6) => IpAddr::V6(self.ipv6(v6)),
        }
    }

    pub fn mac(&self, m: [u8; 6]) -> [u8; 6] {
        self.map.mac(m)
    }

    /// The pseudonym of a prefix: that of its network address, masked.
    pub fn ipv6_net(&self, n: Ipv6Net) -> Ipv6Net {
        Ipv6Net::new(self.ipv6(n.network()), n.prefix_len()).map_or(n, |m| m.trunc())
    }

    /// `s` with every address in it replaced.
    pub fn text(&self, s: &str) -> String {
        text::redact(&self.map, s)
    }

    /// Rewrites the addresses of a captured frame of `link_type` in place.
    pub fn frame(&self, link_type: u32, bytes: &mut [u8]) -> Result<(), Refused> {
        frame::rewrite(&self.map, link_type, bytes)
    }
}

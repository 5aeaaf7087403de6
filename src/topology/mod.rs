//! The deployment: the ISATAP router and the DirectAccess nodes with the
//! client prefixes they own. Read from the `--topology` TOML file, or inferred
//! from the captures ([`infer`]) with the assumptions that took.
//!
//! Guarantees: a topology file is validated completely (unknown keys, bad
//! addresses, duplicate names or prefixes) and every problem is reported with
//! the file name; what is written by [`Topology::to_toml`] reads back equal.

pub mod infer;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::str::FromStr;

use ipnet::Ipv6Net;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// A MAC address written `00:15:5d:01:02:25`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<MacAddr, String> {
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(format!("`{s}` is not a MAC address (six hex bytes)"));
        }
        let mut mac = [0u8; 6];
        for (slot, part) in mac.iter_mut().zip(parts) {
            *slot = u8::from_str_radix(part, 16)
                .ok()
                .filter(|_| part.len() == 2)
                .ok_or_else(|| format!("`{s}` is not a MAC address (six hex bytes)"))?;
        }
        Ok(MacAddr(mac))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MacAddr, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The ISATAP router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Router {
    pub name: String,
    /// Where stations send protocol 41.
    pub ipv4: Ipv4Addr,
    /// The router's address on the DA server VLAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Addr>,
    /// The prefix ISATAP hosts autoconfigure from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isatap_prefix: Option<Ipv6Net>,
    /// Name of the router's interface toward the DA nodes, for the fix commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lan_interface: Option<String>,
    /// Name of the router's ISATAP interface, for the fix commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isatap_interface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
}

/// A DirectAccess node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaNode {
    pub name: String,
    pub ipv6: Ipv6Addr,
    /// Lets the tool spot the node's own ISATAP interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Addr>,
    /// The IP-HTTPS prefix of the node's clients.
    pub client_prefix: Ipv6Net,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// Name of the node's internal interface, for the fix commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<Router>,
    #[serde(default, rename = "da_node", skip_serializing_if = "Vec::is_empty")]
    pub da_nodes: Vec<DaNode>,
}

impl Topology {
    /// Reads and validates a topology file.
    pub fn load(path: &Path) -> Result<Topology, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Topology::parse(&text).map_err(|message| Error::Topology {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses and validates topology TOML.
    pub fn parse(text: &str) -> Result<Topology, String> {
        let topo: Topology = toml::from_str(text).map_err(|e| e.to_string().trim().to_owned())?;
        topo.validate()?;
        Ok(topo)
    }

    fn validate(&self) -> Result<(), String> {
        let mut names = Vec::new();
        if let Some(r) = &self.router {
            if r.name.trim().is_empty() {
                return Err("router: `name` is empty".into());
            }
            names.push(r.name.to_lowercase());
        }
        for (i, n) in self.da_nodes.iter().enumerate() {
            let label = format!("da_node #{} ({})", i + 1, n.name);
            if n.name.trim().is_empty() {
                return Err(format!("da_node #{}: `name` is empty", i + 1));
            }
            if names.contains(&n.name.to_lowercase()) {
                return Err(format!("{label}: the name is used twice"));
            }
            names.push(n.name.to_lowercase());
            if n.client_prefix.prefix_len() > 64 {
                return Err(format!(
                    "{label}: client_prefix {} is longer than /64; IP-HTTPS prefixes are /64",
                    n.client_prefix
                ));
            }
            for other in &self.da_nodes[..i] {
                if other.client_prefix.contains(&n.client_prefix)
                    || n.client_prefix.contains(&other.client_prefix)
                {
                    return Err(format!(
                        "{label}: client_prefix {} overlaps {}'s {}",
                        n.client_prefix, other.name, other.client_prefix
                    ));
                }
                if other.ipv6 == n.ipv6 {
                    return Err(format!("{label}: ipv6 {} is also {}'s", n.ipv6, other.name));
                }
            }
        }
        Ok(())
    }

    /// The topology as TOML that [`Topology::parse`] accepts.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The DA node owning the client prefix that holds `addr`.
    pub fn owner_of(&self, addr: &IpAddr) -> Option<&DaNode> {
        let IpAddr::V6(a) = addr else { return None };
        self.da_nodes.iter().find(|n| n.client_prefix.contains(a))
    }

    /// The DA node with this IPv6 address or MAC.
    pub fn node_by_address(&self, addr: &Ipv6Addr) -> Option<&DaNode> {
        self.da_nodes.iter().find(|n| &n.ipv6 == addr)
    }

    pub fn node_by_mac(&self, mac: &[u8; 6]) -> Option<&DaNode> {
        self.da_nodes
            .iter()
            .find(|n| n.mac.is_some_and(|m| &m.0 == mac))
    }

    pub fn node_by_ipv4(&self, addr: &IpAddr) -> Option<&DaNode> {
        let IpAddr::V4(a) = addr else { return None };
        self.da_nodes.iter().find(|n| n.ipv4.as_ref() == Some(a))
    }

    pub fn node_by_name(&self, name: &str) -> Option<&DaNode> {
        self.da_nodes
            .iter()
            .find(|n| n.name.eq_ignore_ascii_case(name))
    }

    /// The router's name, or a description of it when unknown.
    pub fn router_name(&self) -> String {
        self.router
            .as_ref()
            .map_or_else(|| "the ISATAP router".to_owned(), |r| r.name.clone())
    }
}

/// A capture label that names the router: its name, `router…` or `isatap…`.
pub fn is_router_label(label: &str, router_name: &str) -> bool {
    let label = label.to_lowercase();
    label == router_name.to_lowercase() || label.contains("router") || label.starts_with("isatap")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESIGN_EXAMPLE: &str = r#"
[router]
name = "ISATAP01"
ipv4 = "172.16.16.31"
ipv6 = "fd9c:30c:2da4:111::31"
isatap_prefix = "fd9c:30c:2da4:1::/64"

[[da_node]]
name = "DAV01"
ipv6 = "fd9c:30c:2da4:111::25"
ipv4 = "172.16.16.25"
client_prefix = "fd9c:30c:2da4:1000::/64"
mac = "00:15:5d:01:02:25"

[[da_node]]
name = "DAV02"
ipv6 = "fd9c:30c:2da4:111::26"
client_prefix = "fd9c:30c:2da4:1001::/64"
"#;

    #[test]
    fn parses_the_design_example_and_round_trips() {
        let t = Topology::parse(DESIGN_EXAMPLE).unwrap();
        assert_eq!(
            t.router.as_ref().unwrap().ipv4,
            Ipv4Addr::new(172, 16, 16, 31)
        );
        assert_eq!(t.da_nodes.len(), 2);
        assert_eq!(
            t.da_nodes[0].mac,
            Some(MacAddr([0, 0x15, 0x5d, 1, 2, 0x25]))
        );
        let client: IpAddr = "fd9c:30c:2da4:1001::7".parse().unwrap();
        assert_eq!(t.owner_of(&client).unwrap().name, "DAV02");
        assert_eq!(Topology::parse(&t.to_toml()).unwrap(), t);
    }

    #[test]
    fn rejects_bad_files_with_a_reason() {
        let typo = DESIGN_EXAMPLE.replace(
            "client_prefix = \"fd9c:30c:2da4:1001",
            "client_prefx = \"fd9c:30c:2da4:1001",
        );
        assert!(Topology::parse(&typo).unwrap_err().contains("client_prefx"));
        let overlap = DESIGN_EXAMPLE.replace("2da4:1001::/64", "2da4:1000::/64");
        assert!(Topology::parse(&overlap).unwrap_err().contains("overlaps"));
        let bad_mac = DESIGN_EXAMPLE.replace("00:15:5d:01:02:25", "00:15:5d:01:02");
        assert!(Topology::parse(&bad_mac).unwrap_err().contains("MAC"));
        let bad_ip = DESIGN_EXAMPLE.replace("172.16.16.31", "172.16.16.310");
        assert!(Topology::parse(&bad_ip).is_err());
    }
}

//! What the rules read: the captures, probes, facts, flow summaries and the
//! (given or inferred) topology, with lookups that name things the way an
//! administrator knows them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::capture::CaptureInfo;
use crate::decode::Mac;
use crate::decode::addr::isatap_ipv4;
use crate::flow::table::{Probe, ProbeDetail, ProbeTable, Sighting, Via};
use crate::flow::{Facts, FlowSummary};
use crate::topology::{DaNode, Topology};

/// Everything the rules look at.
pub struct Analysis<'a> {
    pub captures: &'a [CaptureInfo],
    pub table: &'a ProbeTable,
    pub facts: &'a Facts,
    pub flows: &'a [FlowSummary],
    pub topology: &'a Topology,
    /// The topology came from a file (so missing pieces are configuration
    /// errors, not gaps in what the captures show).
    pub topology_given: bool,
    /// Live capture: the instant (ns since the epoch, capture clock) up to
    /// which silence is judged. A solicitation, or a tunnel's first packet,
    /// sent after it is still within its timeout and not called unanswered;
    /// flows are summarised up to it ([`crate::flow::summarize_until`]).
    /// `None` for capture files: everything is judged.
    pub judged_until: Option<i64>,
}

impl<'a> Analysis<'a> {
    /// The link facts and tunnel header a sighting of this analysis was seen with.
    pub fn via(&self, s: &Sighting) -> &'a Via {
        self.table.via(s)
    }

    /// Whether the silence after something sent at `ts_ns` can be judged yet.
    pub fn judged(&self, ts_ns: i64) -> bool {
        self.judged_until.is_none_or(|cutoff| ts_ns <= cutoff)
    }

    pub fn label(&self, capture: u16) -> &str {
        self.captures
            .get(usize::from(capture))
            .map_or("?", |c| c.label.as_str())
    }

    pub fn router_v4(&self) -> Option<IpAddr> {
        self.topology.router.as_ref().map(|r| IpAddr::V4(r.ipv4))
    }

    /// IPv4 addresses ISATAP hosts accept tunnelled packets from: the router.
    pub fn routers_v4(&self) -> Vec<IpAddr> {
        self.router_v4().into_iter().collect()
    }

    pub fn router_name(&self) -> String {
        self.topology.router_name()
    }

    /// Every IPv6 address the router answers with: its LAN address and its
    /// ISATAP addresses (link-local and in the ISATAP prefix).
    pub fn is_router_address(&self, addr: &IpAddr) -> bool {
        let Some(router) = &self.topology.router else {
            return false;
        };
        match addr {
            IpAddr::V4(v4) => *v4 == router.ipv4,
            IpAddr::V6(v6) => {
                router.ipv6.as_ref() == Some(v6) || isatap_ipv4(v6) == Some(router.ipv4)
            }
        }
    }

    /// A capture taken on the router: labelled with its name, or `router`/`isatap…`.
    pub fn is_router_capture(&self, capture: u16) -> bool {
        crate::topology::is_router_label(self.label(capture), &self.router_name())
    }

    /// The router's MAC on the DA side, if known.
    pub fn router_mac(&self) -> Option<Mac> {
        let router = self.topology.router.as_ref()?;
        router
            .mac
            .map(|m| m.0)
            .or_else(|| router.ipv6.and_then(|a| self.facts.macs_of(&a).next()))
    }

    /// The DA node a MAC belongs to (from the topology or Neighbor Discovery).
    pub fn node_of_mac(&self, mac: &Mac) -> Option<&'a DaNode> {
        self.topology.node_by_mac(mac).or_else(|| {
            let addr = self.facts.address_of_mac(mac)?;
            self.topology.node_by_address(&addr)
        })
    }

    /// The DA node a capture was taken on, by its label.
    pub fn node_of_capture(&self, capture: u16) -> Option<&'a DaNode> {
        self.topology.node_by_name(self.label(capture))
    }

    /// The DA node with this IPv4 address (its own ISATAP interface).
    pub fn node_of_ipv4(&self, v4: &IpAddr) -> Option<&'a DaNode> {
        self.topology.node_by_ipv4(v4)
    }

    /// The name of the node an address belongs to, else the address.
    pub fn node_name(&self, addr: &IpAddr) -> String {
        if self.is_router_address(addr) {
            return self.router_name();
        }
        if let IpAddr::V6(v6) = addr
            && let Some(node) = self.topology.node_by_address(v6)
        {
            return node.name.clone();
        }
        self.node_of_ipv4(addr)
            .map_or_else(|| addr.to_string(), |n| n.name.clone())
    }

    /// An address as an administrator knows it: "DAV01 (fd9c:…::25)".
    pub fn describe(&self, addr: &IpAddr) -> String {
        if self.is_router_address(addr) {
            return format!("{} ({addr})", self.router_name());
        }
        if let IpAddr::V6(v6) = addr
            && let Some(node) = self.topology.node_by_address(v6)
        {
            return format!("{} ({addr})", node.name);
        }
        if let Some(node) = self.node_of_ipv4(addr) {
            return format!("{} ({addr})", node.name);
        }
        addr.to_string()
    }

    /// The probes of a flow with their kept detail.
    pub fn probes(
        &self,
        flow: &FlowSummary,
    ) -> impl Iterator<Item = (&'a Probe, Option<&'a ProbeDetail>)> + '_ {
        let table = self.table;
        table.probes_of(flow.index as usize).iter().map(move |&p| {
            let probe = &table.probes[p as usize];
            (probe, table.detail(probe))
        })
    }

    /// The ISATAP prefix, as text for commands.
    pub fn isatap_prefix_text(&self) -> String {
        self.topology
            .router
            .as_ref()
            .and_then(|r| r.isatap_prefix)
            .map_or_else(|| "<ISATAP prefix>/64".to_owned(), |p| p.to_string())
    }

    pub fn router_ipv6_text(&self) -> String {
        self.topology
            .router
            .as_ref()
            .and_then(|r| r.ipv6)
            .map_or_else(|| "<router LAN IPv6 address>".to_owned(), |a| a.to_string())
    }

    pub fn router_lan_interface(&self) -> String {
        self.topology
            .router
            .as_ref()
            .and_then(|r| r.lan_interface.clone())
            .unwrap_or_else(|| "<router interface toward the DA nodes>".to_owned())
    }

    pub fn router_isatap_interface(&self) -> Option<String> {
        self.topology
            .router
            .as_ref()
            .and_then(|r| r.isatap_interface.clone())
    }

    /// An IPv6 address's embedded ISATAP IPv4, if any.
    pub fn embedded_v4(addr: &IpAddr) -> Option<Ipv4Addr> {
        match addr {
            IpAddr::V6(a) => isatap_ipv4(a),
            IpAddr::V4(_) => None,
        }
    }

    /// A link-local-or-global IPv6 target is one of the DA nodes.
    pub fn node_by_address(&self, addr: &Ipv6Addr) -> Option<&'a DaNode> {
        self.topology.node_by_address(addr)
    }
}

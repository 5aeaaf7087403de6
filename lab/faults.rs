//! The faults the lab injects, by name: what each changes in the healthy
//! deployment, which DA client the probes aim at, and the finding (kind and
//! node) the analysis must name for it.
//!
//! Guarantees: names are stable (they are the folder names under
//! `captures/lab/`); every fault but `healthy` expects exactly one finding.

/// One way of breaking the deployment (or none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    Healthy,
    MissingPublishedRoute,
    WrongNextHop,
    MistypedNextHop,
    NoReturnRoute,
    ReturnViaOtherNode,
    SilentClient,
    Protocol41Rejected,
    RoutingLoop,
    Mtu1280,
    RouterNotAdvertising,
    StationBehindNat,
}

/// How the station is attached to the IPv4 LAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StationPath {
    /// On the LAN itself.
    Direct,
    /// Behind a routing firewall (172.16.16.1, proxy ARP) that refuses protocol 41.
    Firewall,
    /// Behind a NAT device (inside 192.168.50.0/24, outside 172.16.16.200).
    Nat,
}

impl Fault {
    pub const ALL: [Fault; 12] = [
        Fault::Healthy,
        Fault::MissingPublishedRoute,
        Fault::WrongNextHop,
        Fault::MistypedNextHop,
        Fault::NoReturnRoute,
        Fault::ReturnViaOtherNode,
        Fault::SilentClient,
        Fault::Protocol41Rejected,
        Fault::RoutingLoop,
        Fault::Mtu1280,
        Fault::RouterNotAdvertising,
        Fault::StationBehindNat,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Healthy => "healthy",
            Fault::MissingPublishedRoute => "missing-published-route",
            Fault::WrongNextHop => "wrong-next-hop",
            Fault::MistypedNextHop => "mistyped-next-hop",
            Fault::NoReturnRoute => "no-return-route",
            Fault::ReturnViaOtherNode => "return-via-other-node",
            Fault::SilentClient => "silent-client",
            Fault::Protocol41Rejected => "protocol-41-rejected",
            Fault::RoutingLoop => "routing-loop",
            Fault::Mtu1280 => "mtu-1280",
            Fault::RouterNotAdvertising => "router-not-advertising",
            Fault::StationBehindNat => "station-behind-nat",
        }
    }

    pub fn by_name(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }

    /// What is broken, in one sentence.
    pub fn description(self) -> &'static str {
        match self {
            Fault::Healthy => {
                "Nothing: the router publishes both client prefixes, each DA node routes the ISATAP prefix back through the router."
            }
            Fault::MissingPublishedRoute => {
                "The router publishes only DAV01's client prefix (with a default route) and has no route to DAV02's."
            }
            Fault::WrongNextHop => {
                "The router's route for DAV02's client prefix has nexthop DAV01 (fd9c:30c:2da4:111::25)."
            }
            Fault::MistypedNextHop => {
                "The router's route for DAV01's client prefix has the mistyped nexthop fd9c:30c:2da4:111::52, which nobody answers."
            }
            Fault::NoReturnRoute => {
                "DAV01 lacks the route to the ISATAP prefix via the router: it answers through its own ISATAP interface."
            }
            Fault::ReturnViaOtherNode => {
                "DAV01's route to the ISATAP prefix has nexthop DAV02 (fd9c:30c:2da4:111::26)."
            }
            Fault::SilentClient => "DAV01's DA client ignores ICMPv6 echo requests.",
            Fault::Protocol41Rejected => {
                "A firewall (172.16.16.1) between the station and the router refuses IP protocol 41 (ICMP administratively prohibited)."
            }
            Fault::RoutingLoop => {
                "DAV01 has lost its route to its IP-HTTPS clients and routes their prefix back to the router."
            }
            Fault::Mtu1280 => {
                "DAV01's IP-HTTPS link has an MTU of 1280 and the station pings with 1300 bytes of data."
            }
            Fault::RouterNotAdvertising => {
                "The router's ISATAP interface does not answer Router Solicitations."
            }
            Fault::StationBehindNat => {
                "The station (192.168.50.20) reaches the router through NAT (outside address 172.16.16.200)."
            }
        }
    }

    /// The finding the analysis must give: (kind, node to fix).
    pub fn expected(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Fault::Healthy => return None,
            Fault::MissingPublishedRoute => ("missing-published-route", "ISATAP01"),
            Fault::WrongNextHop => ("wrong-next-hop", "ISATAP01"),
            Fault::MistypedNextHop => ("neighbor-unreachable", "ISATAP01"),
            Fault::NoReturnRoute => ("return-bypasses-isatap-router", "DAV01"),
            Fault::ReturnViaOtherNode => ("return-via-wrong-node", "DAV01"),
            Fault::SilentClient => (
                "no-reply-from-target",
                "DA client fd9c:30c:2da4:1000:2c4e:91b3:8a7d:11f5",
            ),
            Fault::Protocol41Rejected => ("protocol-41-blocked", "firewall 172.16.16.1"),
            Fault::RoutingLoop => ("routing-loop", "DAV01"),
            Fault::Mtu1280 => ("packet-too-big", "DAV01"),
            Fault::RouterNotAdvertising => ("no-router-advertisement", "ISATAP01"),
            Fault::StationBehindNat => (
                "isatap-source-mismatch",
                "station 192.168.50.20 / path to ISATAP01",
            ),
        })
    }

    /// The DA node (0 or 1) whose client the probes aim at.
    pub fn target_node(self) -> usize {
        match self {
            Fault::MissingPublishedRoute | Fault::WrongNextHop => 1,
            _ => 0,
        }
    }

    pub fn station_path(self) -> StationPath {
        match self {
            Fault::Protocol41Rejected => StationPath::Firewall,
            Fault::StationBehindNat => StationPath::Nat,
            _ => StationPath::Direct,
        }
    }

    /// Programs the fault needs besides the lab's own.
    pub fn tools(self) -> &'static [&'static str] {
        match self {
            Fault::StationBehindNat => &["nft"],
            _ => &[],
        }
    }
}

//! The sample scenarios of `captures/`: the DirectAccess manage-out deployment
//! of DESIGN.md (station, ISATAP router, DA nodes DAV01 and DAV02 with a
//! client each), healthy and broken in each known way, recorded at every
//! vantage point as the real stacks would send it: Windows ping (id 1,
//! 32-byte `abcdefghijklmnopqrstuvwabcdefghi`, hop limit 128), Windows tracert
//! (64 zero bytes, three probes per hop), Linux UDP traceroute, unicast RS/RA
//! over protocol 41 with route-information options, Neighbor Discovery on the
//! server VLAN, ICMP errors that quote the offending packet.
//!
//! Clocks of the capture points disagree by seconds, as they do in real life.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::packet::{
    V6, echo6, error6, ethernet, icmpv4, icmpv6, ipv4, lladdr_option, mtu_option, prefix_option,
    route_option, solicited_node, udp6,
};
use super::world::World;
use crate::decode::Mac;

const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
/// 2026-11-20T09:14:00Z: when the sample captures were "taken".
const T0: i64 = 1_795_684_440 * S;
const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_LINUX_SLL2: u32 = 276;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const SERVER_VLAN: u16 = 111;
const WINDOWS_PING_DATA: &[u8] = b"abcdefghijklmnopqrstuvwabcdefghi";
/// One-way delay across the Internet between a DA node and its IP-HTTPS client.
const INTERNET: i64 = 17 * MS;

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap_or(Ipv6Addr::UNSPECIFIED)
}

/// A DirectAccess node and its one client.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub name: &'static str,
    pub capture: &'static str,
    pub ipv6: Ipv6Addr,
    pub ipv4: Ipv4Addr,
    pub mac: Mac,
    pub prefix: Ipv6Addr,
    pub client: Ipv6Addr,
}

/// The deployment of DESIGN.md.
#[derive(Clone, Copy, Debug)]
pub struct Deployment {
    pub station_v4: Ipv4Addr,
    pub station_mac: Mac,
    pub station_ll: Ipv6Addr,
    pub station_isatap: Ipv6Addr,
    pub router_v4: Ipv4Addr,
    pub router_v4_mac: Mac,
    pub router_lan: Ipv6Addr,
    pub router_lan_mac: Mac,
    pub router_isatap_ll: Ipv6Addr,
    pub router_isatap: Ipv6Addr,
    pub isatap_prefix: Ipv6Addr,
    pub nodes: [Node; 2],
    pub dc: Ipv6Addr,
    pub dc_mac: Mac,
}

pub fn deployment() -> Deployment {
    Deployment {
        station_v4: Ipv4Addr::new(172, 16, 16, 50),
        station_mac: [0x00, 0x15, 0x5d, 0x10, 0x00, 0x50],
        station_ll: v6("fe80::5efe:172.16.16.50"),
        station_isatap: v6("fd9c:30c:2da4:1::5efe:172.16.16.50"),
        router_v4: Ipv4Addr::new(172, 16, 16, 31),
        router_v4_mac: [0x00, 0x15, 0x5d, 0x10, 0x00, 0x31],
        router_lan: v6("fd9c:30c:2da4:111::31"),
        router_lan_mac: [0x00, 0x15, 0x5d, 0x11, 0x00, 0x31],
        router_isatap_ll: v6("fe80::5efe:172.16.16.31"),
        router_isatap: v6("fd9c:30c:2da4:1::5efe:172.16.16.31"),
        isatap_prefix: v6("fd9c:30c:2da4:1::"),
        nodes: [
            Node {
                name: "DAV01",
                capture: "dav01",
                ipv6: v6("fd9c:30c:2da4:111::25"),
                ipv4: Ipv4Addr::new(172, 16, 16, 25),
                mac: [0x00, 0x15, 0x5d, 0x11, 0x00, 0x25],
                prefix: v6("fd9c:30c:2da4:1000::"),
                client: v6("fd9c:30c:2da4:1000:2c4e:91b3:8a7d:11f5"),
            },
            Node {
                name: "DAV02",
                capture: "dav02",
                ipv6: v6("fd9c:30c:2da4:111::26"),
                ipv4: Ipv4Addr::new(172, 16, 16, 26),
                mac: [0x00, 0x15, 0x5d, 0x11, 0x00, 0x26],
                prefix: v6("fd9c:30c:2da4:1001::"),
                client: v6("fd9c:30c:2da4:1001:6d2a:f03c:41e8:92b7"),
            },
        ],
        dc: v6("fd9c:30c:2da4:111::10"),
        dc_mac: [0x00, 0x15, 0x5d, 0x11, 0x00, 0x10],
    }
}

/// The topology file shipped with every scenario.
pub const TOPOLOGY_TOML: &str = r#"# The deployment the sample captures were made in (DESIGN.md).
[router]
name = "ISATAP01"
ipv4 = "172.16.16.31"
ipv6 = "fd9c:30c:2da4:111::31"
isatap_prefix = "fd9c:30c:2da4:1::/64"
lan_interface = "VLAN111"
isatap_interface = "isatap.corp.contoso.com"

[[da_node]]
name = "DAV01"
ipv6 = "fd9c:30c:2da4:111::25"
ipv4 = "172.16.16.25"
client_prefix = "fd9c:30c:2da4:1000::/64"
interface = "Internal"

[[da_node]]
name = "DAV02"
ipv6 = "fd9c:30c:2da4:111::26"
ipv4 = "172.16.16.26"
client_prefix = "fd9c:30c:2da4:1001::/64"
interface = "Internal"
"#;

/// A sample scenario: what it shows and the finding kinds it must yield.
pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    pub expected: &'static [&'static str],
    pub build: fn() -> World,
}

pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "healthy-ping",
            description: "Windows ping from the management station to a DA client behind DAV01; every echo answered.",
            expected: &[],
            build: healthy_ping,
        },
        Scenario {
            name: "healthy-tracert",
            description: "Windows tracert to a DA client behind DAV02: ISATAP router, DAV02, the client.",
            expected: &[],
            build: healthy_tracert,
        },
        Scenario {
            name: "healthy-udp-traceroute",
            description: "Linux traceroute -6 (UDP) from an ISATAP station captured with tcpdump -i any: each packet appears twice (sit and eth0).",
            expected: &[],
            build: healthy_udp_traceroute,
        },
        Scenario {
            name: "no-router-advertisement",
            description: "The station solicits the ISATAP router; the router's ISATAP interface does not advertise.",
            expected: &["no-router-advertisement"],
            build: no_router_advertisement,
        },
        Scenario {
            name: "missing-published-route",
            description: "The router does not publish DAV02's client prefix and has no route for it: Destination Unreachable (no route).",
            expected: &["missing-published-route"],
            build: missing_published_route,
        },
        Scenario {
            name: "wrong-next-hop",
            description: "The router's route for DAV02's prefix has nexthop DAV01; DAV01 answers no route.",
            expected: &["wrong-next-hop"],
            build: wrong_next_hop,
        },
        Scenario {
            name: "neighbor-unreachable",
            description: "The route for DAV01's prefix has a mistyped nexthop (::52); the router's Neighbor Solicitations go unanswered.",
            expected: &["neighbor-unreachable"],
            build: neighbor_unreachable,
        },
        Scenario {
            name: "return-bypasses-isatap-router",
            description: "DAV01 lacks the route to the ISATAP prefix via the router and answers through its own ISATAP interface.",
            expected: &["return-bypasses-isatap-router"],
            build: return_bypasses_router,
        },
        Scenario {
            name: "return-via-wrong-node",
            description: "DAV01's route to the ISATAP prefix points at DAV02; the reply ends at DAV02.",
            expected: &["return-via-wrong-node"],
            build: return_via_wrong_node,
        },
        Scenario {
            name: "no-reply-from-target",
            description: "The request reaches the DA client through DAV01; the client's firewall drops ICMPv6 echo.",
            expected: &["no-reply-from-target"],
            build: no_reply_from_target,
        },
        Scenario {
            name: "isatap-source-mismatch",
            description: "The station sits behind NAT: its protocol 41 reaches the router from another IPv4 than its ISATAP address embeds.",
            expected: &["isatap-source-mismatch"],
            build: isatap_source_mismatch,
        },
        Scenario {
            name: "protocol-41-blocked",
            description: "A firewall between station and router refuses protocol 41 with ICMP administratively prohibited.",
            expected: &["protocol-41-blocked"],
            build: protocol_41_blocked,
        },
        Scenario {
            name: "routing-loop",
            description: "DAV01 has lost its route to its IP-HTTPS clients and sends their traffic back to the router, which sends it to DAV01 again.",
            expected: &["routing-loop"],
            build: routing_loop,
        },
        Scenario {
            name: "capture-truncated",
            description: "The healthy ping, but the station's capture was copied while still being written: it ends inside the last reply.",
            expected: &["capture-truncated"],
            build: capture_truncated,
        },
        Scenario {
            name: "capture-malformed",
            description: "The healthy ping, with one damaged frame on the router's trunk (an IPv4 header shorter than 20 bytes).",
            expected: &["capture-malformed"],
            build: capture_malformed,
        },
        Scenario {
            name: "packet-too-big",
            description: "Pings of 1300 bytes exceed DAV01's 1280-byte IP-HTTPS MTU; DAV01 answers Packet Too Big.",
            expected: &["packet-too-big"],
            build: packet_too_big,
        },
    ]
}

/// The deployment plus the world being recorded.
struct Sim {
    d: Deployment,
    w: World,
    ident: u16,
}

/// What the router's Router Advertisement says.
struct Advert<'a> {
    router_lifetime: u16,
    routes: &'a [Ipv6Addr],
}

impl Sim {
    /// Station, router and the DA nodes named in `nodes` capture.
    fn new(nodes: &[usize]) -> Sim {
        let d = deployment();
        let mut w = World::default();
        w.add("station", 0, &[("Ethernet0", LINKTYPE_ETHERNET)]);
        w.add(
            "router",
            2_317 * MS,
            &[
                ("Ethernet", LINKTYPE_ETHERNET),
                ("VLAN111", LINKTYPE_ETHERNET),
            ],
        );
        let offsets = [-1_742 * MS, 861 * MS];
        for &n in nodes {
            w.add(
                d.nodes[n].capture,
                offsets[n],
                &[
                    ("Internal", LINKTYPE_ETHERNET),
                    ("IPHTTPSInterface", LINKTYPE_RAW),
                ],
            );
        }
        Sim {
            d,
            w,
            ident: 0x3a10,
        }
    }

    fn next_ident(&mut self) -> u16 {
        self.ident = self.ident.wrapping_add(1);
        self.ident
    }

    /// Station → router through the ISATAP tunnel.
    fn up(&mut self, t: i64, p: &V6) {
        let ident = self.next_ident();
        let outer = ipv4(
            self.d.station_v4,
            self.d.router_v4,
            128,
            41,
            ident,
            &p.bytes(),
        );
        let frame = ethernet(
            self.d.router_v4_mac,
            self.d.station_mac,
            None,
            ETHERTYPE_IPV4,
            &outer,
        );
        self.w.record("station", "Ethernet0", t, frame.clone());
        self.w.record("router", "Ethernet", t + 250 * US, frame);
    }

    /// Router → station through the ISATAP tunnel.
    fn down(&mut self, t: i64, p: &V6) {
        let ident = self.next_ident();
        let outer = ipv4(
            self.d.router_v4,
            self.d.station_v4,
            128,
            41,
            ident,
            &p.bytes(),
        );
        let frame = ethernet(
            self.d.station_mac,
            self.d.router_v4_mac,
            None,
            ETHERTYPE_IPV4,
            &outer,
        );
        self.w.record("router", "Ethernet", t, frame.clone());
        self.w.record("station", "Ethernet0", t + 250 * US, frame);
    }

    /// A frame on the server VLAN: the router's trunk sees it tagged, the DA
    /// node it comes from or goes to sees it untagged.
    fn vlan(&mut self, t: i64, p: &V6, src: Mac, dst: Mac, also: Option<usize>) {
        let bytes = p.bytes();
        if src == self.d.router_lan_mac || dst == self.d.router_lan_mac || dst[0] == 0x33 {
            let tagged = ethernet(dst, src, Some(SERVER_VLAN), ETHERTYPE_IPV6, &bytes);
            self.w.record("router", "VLAN111", t, tagged);
        }
        let plain = ethernet(dst, src, None, ETHERTYPE_IPV6, &bytes);
        for (i, n) in self.d.nodes.iter().enumerate() {
            if n.mac == src || n.mac == dst || also == Some(i) {
                self.w
                    .record(n.capture, "Internal", t + 100 * US, plain.clone());
            }
        }
    }

    /// A packet on a DA node's IP-HTTPS interface (toward or from its client).
    fn iphttps(&mut self, t: i64, node: usize, p: &V6) {
        self.w
            .record(self.d.nodes[node].capture, "IPHTTPSInterface", t, p.bytes());
    }

    /// Unicast RS from the station, then (if `advert`) the router's RA.
    fn solicit(&mut self, t: i64, advert: Option<Advert<'_>>) {
        let rs = icmpv6(self.d.station_ll, v6("ff02::2"), 255, 133, 0, &[0; 4]);
        self.up(t, &rs);
        let Some(advert) = advert else { return };
        let mut body = vec![0, 0];
        body.extend_from_slice(&advert.router_lifetime.to_be_bytes());
        body.extend_from_slice(&[0; 8]);
        body.extend(prefix_option(
            self.d.isatap_prefix,
            64,
            false,
            true,
            2_592_000,
            604_800,
        ));
        for r in advert.routes {
            body.extend(route_option(*r, 64, 1800));
        }
        body.extend(mtu_option(1280));
        let ra = icmpv6(
            self.d.router_isatap_ll,
            self.d.station_ll,
            255,
            134,
            0,
            &body,
        );
        self.down(t + 2 * MS, &ra);
    }

    /// The router's ISATAP advertisement with both client prefixes.
    fn healthy_solicit(&mut self, t: i64) {
        let routes = [self.d.nodes[0].prefix, self.d.nodes[1].prefix];
        self.solicit(
            t,
            Some(Advert {
                router_lifetime: 0,
                routes: &routes,
            }),
        );
    }

    /// Neighbor Solicitation on the VLAN, answered when `answer` is the target's MAC.
    fn resolve(&mut self, t: i64, asker: (Ipv6Addr, Mac), target: Ipv6Addr, answer: Option<Mac>) {
        let (group, group_mac) = solicited_node(&target);
        let mut body = vec![0; 4];
        body.extend_from_slice(&target.octets());
        body.extend(lladdr_option(1, asker.1));
        let ns = icmpv6(asker.0, group, 255, 135, 0, &body);
        let target_node = self.d.nodes.iter().position(|n| n.ipv6 == target);
        self.vlan(t, &ns, asker.1, group_mac, target_node);
        let Some(mac) = answer else { return };
        let mut body = vec![0xe0, 0, 0, 0];
        body.extend_from_slice(&target.octets());
        body.extend(lladdr_option(2, mac));
        let na = icmpv6(target, asker.0, 255, 136, 0, &body);
        self.vlan(t + 300 * US, &na, mac, asker.1, None);
    }

    /// The router learns a DA node's MAC.
    fn router_resolves(&mut self, t: i64, node: usize) {
        let n = self.d.nodes[node];
        self.resolve(
            t,
            (self.d.router_lan, self.d.router_lan_mac),
            n.ipv6,
            Some(n.mac),
        );
    }

    /// Client traffic on each captured node's IP-HTTPS side (a DNS query to
    /// the DC and its answer), as there always is on a busy DA node.
    fn client_background(&mut self, t: i64) {
        for i in 0..2 {
            let n = self.d.nodes[i];
            let dc = self.d.dc;
            self.resolve(
                t - S + i as i64 * 10 * MS,
                (n.ipv6, n.mac),
                dc,
                Some(self.d.dc_mac),
            );
            let q = udp6(
                n.client,
                self.d.dc,
                128,
                51_000 + i as u16,
                53,
                &[0x12, 0x34, 1, 0, 0, 1],
            );
            self.iphttps(t + i as i64 * 40 * MS, i, &q);
            self.vlan(
                t + i as i64 * 40 * MS + 200 * US,
                &q.forwarded(),
                n.mac,
                self.d.dc_mac,
                None,
            );
            let a = udp6(
                self.d.dc,
                n.client,
                128,
                53,
                51_000 + i as u16,
                &[0x12, 0x34, 0x81, 0x80, 0, 1],
            );
            self.vlan(
                t + i as i64 * 40 * MS + 900 * US,
                &a,
                self.d.dc_mac,
                n.mac,
                None,
            );
            self.iphttps(t + i as i64 * 40 * MS + 1100 * US, i, &a.forwarded());
        }
    }

    /// A request from the station to `node`'s client: returns when and how it
    /// arrives at the client.
    fn request_to_client(&mut self, t: i64, req: &V6, node: usize) -> (i64, V6) {
        self.up(t, req);
        let p1 = req.forwarded();
        self.vlan(
            t + 500 * US,
            &p1,
            self.d.router_lan_mac,
            self.d.nodes[node].mac,
            None,
        );
        let p2 = p1.forwarded();
        self.iphttps(t + 800 * US, node, &p2);
        (t + 800 * US + INTERNET, p2)
    }

    /// A packet from `node`'s client (or from the node itself when
    /// `from_node`) back to the station through the router.
    fn back_to_station(&mut self, t: i64, p: &V6, node: usize, from_node: bool) {
        let mut at = t;
        let mut q = p.clone();
        if !from_node {
            at += INTERNET;
            self.iphttps(at, node, &q);
            q = q.forwarded();
        }
        self.vlan(
            at + 200 * US,
            &q,
            self.d.nodes[node].mac,
            self.d.router_lan_mac,
            None,
        );
        self.down(at + 500 * US, &q.forwarded());
    }

    fn ping(&self, seq: u16, dst: Ipv6Addr, reply: bool, hop_limit: u8) -> V6 {
        let (src, dst) = if reply {
            (dst, self.d.station_isatap)
        } else {
            (self.d.station_isatap, dst)
        };
        echo6(src, dst, hop_limit, reply, 1, seq, WINDOWS_PING_DATA)
    }
}

/// Four Windows pings (seq 41-44) to `node`'s client, each answered.
fn healthy_ping() -> World {
    let mut s = Sim::new(&[0, 1]);
    s.client_background(T0 - 5 * S);
    s.healthy_solicit(T0);
    s.router_resolves(T0 + 2 * S, 0);
    let client = s.d.nodes[0].client;
    for (i, seq) in (41..45).enumerate() {
        let t = T0 + 2 * S + MS + i as i64 * S;
        let (at, _) = s.request_to_client(t, &s.ping(seq, client, false, 128), 0);
        s.back_to_station(at + 100 * US, &s.ping(seq, client, true, 128), 0, false);
    }
    s.w
}

/// Windows tracert: hop 1 the router, hop 2 DAV02, hop 3 the client.
fn healthy_tracert() -> World {
    let mut s = Sim::new(&[0, 1]);
    s.client_background(T0 - 5 * S);
    s.healthy_solicit(T0);
    s.router_resolves(T0 + S, 1);
    let d = s.d;
    let client = d.nodes[1].client;
    let zeros = [0u8; 64];
    let mut seq = 120;
    let mut t = T0 + 2 * S;
    for hop in 1..=3u8 {
        for _ in 0..3 {
            seq += 1;
            let req = echo6(d.station_isatap, client, hop, false, 1, seq, &zeros);
            match hop {
                1 => {
                    s.up(t, &req);
                    let te = error6(d.router_isatap, d.station_isatap, 128, 3, 0, 0, &req);
                    s.down(t + 400 * US, &te);
                }
                2 => {
                    s.up(t, &req);
                    let at_node = req.forwarded();
                    s.vlan(
                        t + 500 * US,
                        &at_node,
                        d.router_lan_mac,
                        d.nodes[1].mac,
                        None,
                    );
                    let te = error6(d.nodes[1].ipv6, d.station_isatap, 128, 3, 0, 0, &at_node);
                    s.back_to_station(t + 800 * US, &te, 1, true);
                }
                _ => {
                    let (at, _) = s.request_to_client(t, &req, 1);
                    let reply = echo6(client, d.station_isatap, 128, true, 1, seq, &zeros);
                    s.back_to_station(at + 100 * US, &reply, 1, false);
                }
            }
            t += 60 * MS;
        }
        t += 500 * MS;
    }
    s.w
}

/// Linux traceroute -6 (UDP) from an ISATAP host, captured with `tcpdump -i any`:
/// SLL2 frames from the sit interface (inner IPv6) and from eth0 (protocol 41).
fn healthy_udp_traceroute() -> World {
    let mut s = Sim::new(&[0, 1]);
    s.w.vantages.retain(|v| v.name != "station");
    s.w.add("station", 0, &[("any", LINKTYPE_LINUX_SLL2)]);
    s.client_background(T0 - 5 * S);
    s.router_resolves(T0 + S, 0);
    let d = s.d;
    let client = d.nodes[0].client;
    let payload: Vec<u8> = (0x40..0x60).collect();
    let mut t = T0 + 2 * S;
    let mut port = 33434;
    for hop in 1..=3u8 {
        for probe in 0..3u16 {
            let sport = 40_113 + probe + u16::from(hop) * 3;
            let req = udp6(d.station_isatap, client, hop, sport, port, &payload);
            port += 1;
            linux_any(&mut s, t, &req, true);
            match hop {
                1 => {
                    s.up(t, &req);
                    let te = error6(d.router_isatap, d.station_isatap, 128, 3, 0, 0, &req);
                    s.down(t + 400 * US, &te);
                    linux_any(&mut s, t + 650 * US, &te, false);
                }
                2 => {
                    s.up(t, &req);
                    let at_node = req.forwarded();
                    s.vlan(
                        t + 500 * US,
                        &at_node,
                        d.router_lan_mac,
                        d.nodes[0].mac,
                        None,
                    );
                    let te = error6(d.nodes[0].ipv6, d.station_isatap, 128, 3, 0, 0, &at_node);
                    s.back_to_station(t + 800 * US, &te, 0, true);
                    linux_any(&mut s, t + 1550 * US, &te.forwarded(), false);
                }
                _ => {
                    let (at, delivered) = s.request_to_client(t, &req, 0);
                    let unreach = error6(client, d.station_isatap, 128, 1, 4, 0, &delivered);
                    s.back_to_station(at + 100 * US, &unreach, 0, false);
                    linux_any(
                        &mut s,
                        at + 100 * US + INTERNET + 750 * US,
                        &unreach.forwarded().forwarded(),
                        false,
                    );
                }
            }
            t += 2 * MS;
        }
    }
    s.w
}

/// One packet as `tcpdump -i any` on a Linux ISATAP host records it: once on
/// the sit interface (native IPv6) and, for what leaves or arrives by eth0,
/// once encapsulated (recorded by [`Sim::up`]/[`Sim::down`] into the eth0 copy).
fn linux_any(s: &mut Sim, t: i64, p: &V6, outgoing: bool) {
    let d = s.d;
    let sll2 = |protocol: u16,
                ifindex: u32,
                hatype: u16,
                pkttype: u8,
                mac: Option<Mac>,
                payload: &[u8]| {
        let mut f = protocol.to_be_bytes().to_vec();
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&ifindex.to_be_bytes());
        f.extend_from_slice(&hatype.to_be_bytes());
        f.push(pkttype);
        match mac {
            Some(m) => {
                f.push(6);
                f.extend_from_slice(&m);
                f.extend_from_slice(&[0, 0]);
            }
            None => {
                f.push(4);
                f.extend_from_slice(&[0; 8]);
            }
        }
        f.extend_from_slice(payload);
        f
    };
    let pkttype = if outgoing { 4 } else { 0 };
    let sit = sll2(ETHERTYPE_IPV6, 5, 776, pkttype, None, &p.bytes());
    s.w.record("station", "any", t, sit);
    let (src, dst) = if outgoing {
        (d.station_v4, d.router_v4)
    } else {
        (d.router_v4, d.station_v4)
    };
    let outer = ipv4(src, dst, 64, 41, 0, &p.bytes());
    let mac = if outgoing {
        d.station_mac
    } else {
        d.router_v4_mac
    };
    let eth0 = sll2(ETHERTYPE_IPV4, 2, 1, pkttype, Some(mac), &outer);
    s.w.record("station", "any", t + 20 * US, eth0);
}

fn no_router_advertisement() -> World {
    let mut s = Sim::new(&[]);
    for i in 0..3 {
        s.solicit(T0 + i * 4 * S, None);
    }
    s.w
}

fn missing_published_route() -> World {
    let mut s = Sim::new(&[0, 1]);
    s.client_background(T0 - 5 * S);
    // The advertisement carries a default route but only DAV01's prefix.
    let routes = [s.d.nodes[0].prefix];
    s.solicit(
        T0,
        Some(Advert {
            router_lifetime: 1800,
            routes: &routes,
        }),
    );
    let client = s.d.nodes[1].client;
    for (i, seq) in (61..65).enumerate() {
        let t = T0 + 2 * S + i as i64 * S;
        let req = s.ping(seq, client, false, 128);
        s.up(t, &req);
        let du = error6(s.d.router_isatap, s.d.station_isatap, 128, 1, 0, 0, &req);
        s.down(t + 300 * US, &du);
    }
    s.w
}

fn wrong_next_hop() -> World {
    let mut s = Sim::new(&[0, 1]);
    s.client_background(T0 - 5 * S);
    s.healthy_solicit(T0);
    s.router_resolves(T0 + S, 0);
    let d = s.d;
    let client = d.nodes[1].client;
    for (i, seq) in (81..85).enumerate() {
        let t = T0 + 2 * S + i as i64 * S;
        let req = s.ping(seq, client, false, 128);
        s.up(t, &req);
        // The router sends DAV02's client prefix to DAV01, which has no route for it.
        let at_dav01 = req.forwarded();
        s.vlan(
            t + 500 * US,
            &at_dav01,
            d.router_lan_mac,
            d.nodes[0].mac,
            None,
        );
        let du = error6(d.nodes[0].ipv6, d.station_isatap, 128, 1, 0, 0, &at_dav01);
        s.back_to_station(t + 800 * US, &du, 0, true);
    }
    s.w
}

fn neighbor_unreachable() -> World {
    let mut s = Sim::new(&[0]);
    s.client_background(T0 - 5 * S);
    s.healthy_solicit(T0);
    let d = s.d;
    let typo = v6("fd9c:30c:2da4:111::52");
    let client = d.nodes[0].client;
    for (i, seq) in (101..105).enumerate() {
        let t = T0 + 2 * S + i as i64 * 5 * S;
        let req = s.ping(seq, client, false, 128);
        s.up(t, &req);
        for n in 0..3 {
            s.resolve(t + MS + n * S, (d.router_lan, d.router_lan_mac), typo, None);
        }
        let du = error6(d.router_isatap, d.station_isatap, 128, 1, 3, 0, &req);
        s.down(t + 3 * S + 2 * MS, &du);
    }
    s.w
}

fn return_bypasses_router() -> World {
    let mut s = Sim::new(&[0]);
    s.client_background(T0 - 5 * S);
    s.healthy_solicit(T0);
    s.router_resolves(T0 + S, 0);
    let d = s.d;
    let n = d.nodes[0];
    for (i, seq) in (121..125).enumerate() {
        let t = T0 + 2 * S + i as i64 * 4 * S;
        let (at, _) = s.request_to_client(t, &s.ping(seq, n.client, false, 128), 0);
        let reply = s.ping(seq, n.client, true, 128);
        let at_node = at + 100 * US + INTERNET;
        s.iphttps(at_node, 0, &reply);
        // DAV01 tunnels it itself, from its own IPv4, straight to the station.
        let outer = ipv4(
            n.ipv4,
            d.station_v4,
            128,
            41,
            0x5100 + seq,
            &reply.forwarded().bytes(),
        );
        let frame = ethernet(d.station_mac, n.mac, None, ETHERTYPE_IPV4, &outer);
        s.w.record(n.capture, "Internal", at_node + 200 * US, frame.clone());
        s.w.record("station", "Ethernet0", at_node + 400 * US, frame);
    }
    s.w
}

fn return_via_wrong_node() -> World {
    let mut s = Sim::new(&[0, 1]);
    s.client_background(T0 - 5 * S);
    s.healthy_solicit(T0);
    s.router_resolves(T0 + S, 0);
    let d = s.d;
    let (n1, n2) = (d.nodes[0], d.nodes[1]);
    s.resolve(T0 + 1500 * MS, (n1.ipv6, n1.mac), n2.ipv6, Some(n2.mac));
    for (i, seq) in (141..145).enumerate() {
        let t = T0 + 2 * S + i as i64 * 4 * S;
        let (at, _) = s.request_to_client(t, &s.ping(seq, n1.client, false, 128), 0);
        let reply = s.ping(seq, n1.client, true, 128);
        let at_node = at + 100 * US + INTERNET;
        s.iphttps(at_node, 0, &reply);
        // DAV01's route to the ISATAP prefix points at DAV02, which drops it.
        s.vlan(at_node + 200 * US, &reply.forwarded(), n1.mac, n2.mac, None);
    }
    s.w
}

fn no_reply_from_target() -> World {
    let mut s = Sim::new(&[0]);
    s.client_background(T0 - 5 * S);
    s.healthy_solicit(T0);
    s.router_resolves(T0 + S, 0);
    let client = s.d.nodes[0].client;
    for (i, seq) in (161..165).enumerate() {
        let t = T0 + 2 * S + i as i64 * 4 * S;
        s.request_to_client(t, &s.ping(seq, client, false, 128), 0);
    }
    s.w
}

fn isatap_source_mismatch() -> World {
    let mut s = Sim::new(&[]);
    let d = s.d;
    let inside = Ipv4Addr::new(192, 168, 50, 20);
    let nat_outside = Ipv4Addr::new(172, 16, 16, 200);
    let nat_inside_mac: Mac = [0x00, 0x15, 0x5d, 0x50, 0x00, 0x01];
    let nat_outside_mac: Mac = [0x00, 0x15, 0x5d, 0x10, 0x00, 0xc8];
    let ll = v6("fe80::5efe:192.168.50.20");
    for i in 0..3 {
        let t = T0 + i * 4 * S;
        let rs = icmpv6(ll, v6("ff02::2"), 255, 133, 0, &[0; 4]);
        let ident = 0x7700 + i as u16;
        let before = ipv4(inside, d.router_v4, 128, 41, ident, &rs.bytes());
        let frame = ethernet(nat_inside_mac, d.station_mac, None, ETHERTYPE_IPV4, &before);
        s.w.record("station", "Ethernet0", t, frame);
        let after = ipv4(nat_outside, d.router_v4, 127, 41, ident, &rs.bytes());
        let frame = ethernet(
            d.router_v4_mac,
            nat_outside_mac,
            None,
            ETHERTYPE_IPV4,
            &after,
        );
        s.w.record("router", "Ethernet", t + 600 * US, frame);
    }
    s.w
}

fn protocol_41_blocked() -> World {
    let mut s = Sim::new(&[]);
    let d = s.d;
    let firewall = Ipv4Addr::new(172, 16, 16, 1);
    let firewall_mac: Mac = [0x00, 0x15, 0x5d, 0x10, 0x00, 0x01];
    for i in 0..3 {
        let t = T0 + i * 4 * S;
        let rs = icmpv6(d.station_ll, v6("ff02::2"), 255, 133, 0, &[0; 4]);
        let ident = 0x6600 + i as u16;
        let outer = ipv4(d.station_v4, d.router_v4, 128, 41, ident, &rs.bytes());
        let frame = ethernet(firewall_mac, d.station_mac, None, ETHERTYPE_IPV4, &outer);
        s.w.record("station", "Ethernet0", t, frame);
        // Communication administratively prohibited, quoting header + 8 bytes.
        let prohibited = icmpv4(3, 13, [0; 4], &outer[..28]);
        let back = ipv4(
            firewall,
            d.station_v4,
            255,
            1,
            0x0100 + i as u16,
            &prohibited,
        );
        let frame = ethernet(d.station_mac, firewall_mac, None, ETHERTYPE_IPV4, &back);
        s.w.record("station", "Ethernet0", t + 400 * US, frame);
    }
    s.w
}

fn routing_loop() -> World {
    let mut s = Sim::new(&[0]);
    s.client_background(T0 - 5 * S);
    s.healthy_solicit(T0);
    s.router_resolves(T0 + S, 0);
    let d = s.d;
    let n = d.nodes[0];
    s.resolve(
        T0 + 1500 * MS,
        (n.ipv6, n.mac),
        d.router_lan,
        Some(d.router_lan_mac),
    );
    for (i, seq) in (181..185).enumerate() {
        let t = T0 + 2 * S + i as i64 * 4 * S;
        let req = s.ping(seq, n.client, false, 128);
        s.up(t, &req);
        // Router → DAV01 → router → … until the hop limit runs out.
        let mut p = req.clone();
        let mut at = t + 300 * US;
        let mut toward_node = true;
        loop {
            if p.hop_limit <= 1 {
                let (sender, from_node) = if toward_node {
                    (d.router_isatap, false)
                } else {
                    (n.ipv6, true)
                };
                let te = error6(sender, d.station_isatap, 128, 3, 0, 0, &p);
                if from_node {
                    s.back_to_station(at, &te, 0, true);
                } else {
                    s.down(at, &te);
                }
                break;
            }
            p = p.forwarded();
            let (src, dst) = if toward_node {
                (d.router_lan_mac, n.mac)
            } else {
                (n.mac, d.router_lan_mac)
            };
            s.vlan(at, &p, src, dst, None);
            toward_node = !toward_node;
            at += 150 * US;
        }
    }
    s.w
}

fn capture_truncated() -> World {
    let mut w = healthy_ping();
    w.cut_short.push(("station".to_owned(), 37));
    w
}

fn capture_malformed() -> World {
    let mut w = healthy_ping();
    let d = deployment();
    // IHL 3: a header length below the 20-byte minimum.
    let mut bad = ipv4(d.station_v4, d.router_v4, 128, 41, 0x4242, &[0; 40]);
    bad[0] = 0x43;
    let frame = ethernet(d.router_v4_mac, d.station_mac, None, ETHERTYPE_IPV4, &bad);
    w.record("router", "Ethernet", T0 + 2 * S + 500 * MS, frame);
    w
}

fn packet_too_big() -> World {
    let mut s = Sim::new(&[0]);
    s.client_background(T0 - 5 * S);
    s.healthy_solicit(T0);
    s.router_resolves(T0 + S, 0);
    let d = s.d;
    let n = d.nodes[0];
    let big: Vec<u8> = WINDOWS_PING_DATA
        .iter()
        .copied()
        .cycle()
        .take(1300)
        .collect();
    for (i, seq) in (201..205).enumerate() {
        let t = T0 + 2 * S + i as i64 * 4 * S;
        let req = echo6(d.station_isatap, n.client, 128, false, 1, seq, &big);
        s.up(t, &req);
        let at_node = req.forwarded();
        s.vlan(t + 500 * US, &at_node, d.router_lan_mac, n.mac, None);
        // 1348 bytes do not fit DAV01's 1280-byte IP-HTTPS interface.
        let ptb = error6(n.ipv6, d.station_isatap, 128, 2, 0, 1280, &at_node);
        s.back_to_station(t + 800 * US, &ptb, 0, true);
    }
    s.w
}

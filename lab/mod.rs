//! A lab of Linux network namespaces that runs the DirectAccess manage-out
//! deployment of DESIGN.md with real kernels, breaks it in one known way
//! ([`Fault`]), probes it from the management station with the real tools
//! (`ping -6`, ICMP `traceroute -6 -I` one probe at a time as Windows tracert
//! does, UDP `traceroute -6`), records every vantage point with tcpdump and
//! writes one pcapng file per vantage point.
//!
//! The deployment (addresses and MACs of `isatap_trace::synth::scenarios`):
//!
//! ```text
//!  station 172.16.16.50 ──┐ br-lan (IPv4)                br-vlan111 (server VLAN, IPv6)
//!   isatap0 (user-space)  ├── router Ethernet 172.16.16.31 ─ router VLAN111 fd9c:30c:2da4:111::31 ──┐
//!                         ├── DAV01 Ethernet 172.16.16.25    DAV01 Internal ::25 ───────────────────┤
//!                         └── DAV02 Ethernet 172.16.16.26    DAV02 Internal ::26 ───────────────────┘
//!  router isatap0: fe80::5efe:172.16.16.31, fd9c:30c:2da4:1::5efe:172.16.16.31, advertises
//!  DAV0n IPHTTPS (TUN) ══ UDP ══ client IPHTTPS (TUN): the client's /64 (…:1000:: / …:1001::)
//!  DAV0n isatap0: its own ISATAP interface (route via the router has the lower metric)
//! ```
//!
//! Guarantees: everything the lab creates (namespaces, processes, threads,
//! TUN devices) is removed when [`run`] returns, also on error or panic;
//! namespace names carry the process id, so labs run side by side; the
//! captures hold only what the kernels and tools really sent.

pub mod capture;
pub mod endpoint;
pub mod faults;
pub mod netns;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use isatap_trace::synth::scenarios::{Deployment, deployment};

use endpoint::{Advert, Endpoint, IsatapSpec, Log, RelaySpec, Solicit, TunConfig, isatap_address};
pub use faults::{Fault, StationPath};
use netns::Namespace;

/// The MTU of an ISATAP interface over a 1500-byte IPv4 LAN.
const ISATAP_MTU: u16 = 1480;
/// The MTU of the IP-HTTPS stand-in when nothing is wrong with it.
const IPHTTPS_MTU: u16 = 1500;
const RELAY_PORT: u16 = 4443;
const LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0);
/// The station behind NAT, and the NAT device's outside address.
const NAT_INSIDE: Ipv4Addr = Ipv4Addr::new(192, 168, 50, 20);
const NAT_OUTSIDE: Ipv4Addr = Ipv4Addr::new(172, 16, 16, 200);
const FIREWALL: Ipv4Addr = Ipv4Addr::new(172, 16, 16, 1);
/// The mistyped nexthop of [`Fault::MistypedNextHop`].
const TYPO_NEXT_HOP: &str = "fd9c:30c:2da4:111::52";

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// The vantage points and the interfaces each records, in capture order.
pub const VANTAGES: [(&str, &[&str]); 4] = [
    ("station", &["eth0"]),
    ("router", &["Ethernet", "VLAN111"]),
    ("dav01", &["Ethernet", "Internal", "IPHTTPS"]),
    ("dav02", &["Ethernet", "Internal", "IPHTTPS"]),
];

/// What to say in the capture files about who made them.
pub const APPLICATION: &str = "isatap-trace lab (Linux network namespaces, tcpdump)";

/// One probe the station ran and what the tool printed.
#[derive(Clone, Debug)]
pub struct Probe {
    pub command: String,
    pub output: String,
}

/// What a run left behind.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub probes: Vec<Probe>,
    /// What the tunnel endpoints did.
    pub log: Vec<String>,
    /// The station applied a router advertisement.
    pub configured: bool,
    /// The pcapng files written, station first.
    pub files: Vec<PathBuf>,
}

/// Why the lab cannot run here, if it cannot: not root, no namespaces, no
/// TUN device, a missing tool.
pub fn preflight(fault: Fault) -> std::result::Result<(), String> {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false);
    if !root {
        return Err("not root (network namespaces, TUN devices and raw sockets need it)".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err("no /dev/net/tun".into());
    }
    for tool in ["ip", "tcpdump", "ping", "traceroute", "sh"]
        .iter()
        .chain(fault.tools())
    {
        if !netns::have(tool) {
            return Err(format!("`{tool}` is not installed"));
        }
    }
    // Unique per call: lab tests run on several threads of one process.
    let probe = format!(
        "{}{}-{}-preflight",
        netns::PREFIX,
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    match Namespace::create(&probe) {
        Ok(ns) => drop(ns),
        Err(e) => return Err(format!("cannot create a network namespace: {e:#}")),
    }
    Ok(())
}

/// Builds the lab, injects `fault`, probes, records, tears down; the
/// pcapng files, `topology.toml` and `probes.txt` go to `out`.
pub fn run(fault: Fault, out: &Path) -> Result<Outcome> {
    std::fs::create_dir_all(out).with_context(|| format!("create {}", out.display()))?;
    let mut lab = Lab::build(fault)?;
    lab.inject()?;
    let raw = std::env::temp_dir().join(&lab.id);
    std::fs::create_dir_all(&raw)?;
    let result = lab.record(&raw, out);
    drop(lab);
    let _ = std::fs::remove_dir_all(&raw);
    let outcome = result?;
    std::fs::write(
        out.join("topology.toml"),
        isatap_trace::synth::scenarios::TOPOLOGY_TOML,
    )?;
    std::fs::write(out.join("probes.txt"), probes_text(fault, &outcome))?;
    Ok(outcome)
}

fn probes_text(fault: Fault, o: &Outcome) -> String {
    let mut t = format!(
        "# {}: {}\n# What the management station ran in the namespace lab (cargo run --example lab -- run {}), and what the tools printed.\n",
        fault.name(),
        fault.description(),
        fault.name()
    );
    for p in &o.probes {
        let _ = write!(t, "\n$ {}\n{}", p.command, p.output);
        if !p.output.ends_with('\n') {
            t.push('\n');
        }
    }
    t.push_str("\n# What the user-space tunnel endpoints did\n");
    for l in &o.log {
        t.push_str(l);
        t.push('\n');
    }
    t
}

fn mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The running lab. Dropping it stops captures and endpoints, then deletes
/// the namespaces.
struct Lab {
    fault: Fault,
    id: String,
    d: Deployment,
    log: Log,
    captures: Vec<(&'static str, Vec<capture::Tcpdump>)>,
    endpoints: Vec<Endpoint>,
    sw: Namespace,
    station: Namespace,
    router: Namespace,
    dav: [Namespace; 2],
    client: [Namespace; 2],
    middle: Option<Namespace>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, dumps) in &mut self.captures {
            for t in dumps {
                t.stop();
            }
        }
        for e in &mut self.endpoints {
            e.stop();
        }
        // The namespaces are deleted as the fields drop.
    }
}

/// Creates a veth pair `a_if` (in `a`) ↔ `b_if` (in `b`).
fn veth(a: &Namespace, a_if: &str, b: &Namespace, b_if: &str) -> Result<()> {
    a.ip(&format!(
        "link add {a_if} type veth peer name {b_if} netns {}",
        b.name
    ))?;
    Ok(())
}

impl Lab {
    fn build(fault: Fault) -> Result<Lab> {
        netns::remove_stale();
        let id = format!(
            "{}{}-{}",
            netns::PREFIX,
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        let mk = |role: &str| Namespace::create(&format!("{id}-{role}"));
        let sw = mk("sw")?;
        let station = mk("station")?;
        let router = mk("router")?;
        let dav = [mk("dav01")?, mk("dav02")?];
        let client = [mk("client01")?, mk("client02")?];
        let middle = match fault.station_path() {
            StationPath::Direct => None,
            StationPath::Firewall => Some(mk("fw")?),
            StationPath::Nat => Some(mk("nat")?),
        };
        let mut lab = Lab {
            fault,
            id,
            d: deployment(),
            log: Arc::new(Mutex::new(Vec::new())),
            captures: Vec::new(),
            endpoints: Vec::new(),
            sw,
            station,
            router,
            dav,
            client,
            middle,
        };
        lab.wire().context("building the lab")?;
        Ok(lab)
    }

    fn roles(&self) -> Vec<&Namespace> {
        let mut v = vec![&self.station, &self.router];
        v.extend(self.dav.iter());
        v.extend(self.client.iter());
        v.extend(self.middle.iter());
        v
    }

    /// The station's IPv4 address (its ISATAP identifier embeds it).
    fn station_v4(&self) -> Ipv4Addr {
        match self.fault.station_path() {
            StationPath::Nat => NAT_INSIDE,
            _ => self.d.station_v4,
        }
    }

    /// The healthy deployment (plus the firewall or NAT device the fault
    /// puts in front of the station).
    fn wire(&mut self) -> Result<()> {
        let d = self.d;
        // IPv6 only where the deployment has it; no duplicate address
        // detection noise in the captures.
        self.sw.sysctl("net.ipv6.conf.all.disable_ipv6", "1")?;
        self.sw.sysctl("net.ipv6.conf.default.disable_ipv6", "1")?;
        for ns in self.roles() {
            ns.sysctl("net.ipv6.conf.default.disable_ipv6", "1")?;
            ns.sysctl("net.ipv6.conf.default.accept_dad", "0")?;
            ns.sysctl("net.ipv6.conf.all.accept_dad", "0")?;
        }
        for ns in [&self.router, &self.dav[0], &self.dav[1]] {
            ns.sysctl("net.ipv6.conf.all.forwarding", "1")?;
        }
        for br in ["br-lan", "br-vlan111"] {
            self.sw
                .ip(&format!("link add {br} type bridge mcast_snooping 0"))?;
            self.sw.ip(&format!("link set {br} up"))?;
        }
        let port = |sw_if: &str, ns: &Namespace, ns_if: &str, m: [u8; 6], br: &str| {
            veth(&self.sw, sw_if, ns, ns_if)?;
            ns.ip(&format!("link set {ns_if} address {}", mac(m)))?;
            self.sw.ip(&format!("link set {sw_if} master {br} up"))?;
            Result::<()>::Ok(())
        };
        let ipv6_on = |ns: &Namespace, ifname: &str| {
            ns.sysctl(&format!("net.ipv6.conf.{ifname}.disable_ipv6"), "0")
        };

        // The station, directly or through the firewall / NAT device.
        let station_v4 = self.station_v4();
        match (&self.middle, self.fault.station_path()) {
            (None, _) => {
                port("st", &self.station, "eth0", d.station_mac, "br-lan")?;
                self.station
                    .ip(&format!("addr add {station_v4}/24 dev eth0"))?;
            }
            (Some(fw), StationPath::Firewall) => {
                port(
                    "fw",
                    fw,
                    "outside",
                    [0, 0x15, 0x5d, 0x10, 0, 0x01],
                    "br-lan",
                )?;
                veth(fw, "inside", &self.station, "eth0")?;
                fw.ip(&format!(
                    "link set inside address {}",
                    mac([0, 0x15, 0x5d, 0x50, 0, 0x01])
                ))?;
                self.station
                    .ip(&format!("link set eth0 address {}", mac(d.station_mac)))?;
                fw.ip(&format!("addr add {FIREWALL}/24 dev outside"))?;
                fw.ip(&format!("addr add {FIREWALL}/32 dev inside"))?;
                fw.ip("link set outside up")?;
                fw.ip("link set inside up")?;
                fw.ip(&format!(
                    "route add {}/32 dev inside src {FIREWALL}",
                    d.station_v4
                ))?;
                fw.sysctl("net.ipv4.ip_forward", "1")?;
                fw.sysctl("net.ipv4.conf.inside.proxy_arp", "1")?;
                fw.sysctl("net.ipv4.conf.outside.proxy_arp", "1")?;
                self.station
                    .ip(&format!("addr add {station_v4}/24 dev eth0"))?;
            }
            (Some(nat), _) => {
                port(
                    "nat",
                    nat,
                    "outside",
                    [0, 0x15, 0x5d, 0x10, 0, 0xc8],
                    "br-lan",
                )?;
                veth(nat, "inside", &self.station, "eth0")?;
                nat.ip(&format!(
                    "link set inside address {}",
                    mac([0, 0x15, 0x5d, 0x50, 0, 0x01])
                ))?;
                self.station
                    .ip(&format!("link set eth0 address {}", mac(d.station_mac)))?;
                nat.ip(&format!("addr add {NAT_OUTSIDE}/24 dev outside"))?;
                nat.ip("addr add 192.168.50.1/24 dev inside")?;
                nat.ip("link set outside up")?;
                nat.ip("link set inside up")?;
                nat.sysctl("net.ipv4.ip_forward", "1")?;
                self.station
                    .ip(&format!("addr add {station_v4}/24 dev eth0"))?;
            }
        }
        self.station.ip("link set eth0 up")?;
        if self.fault.station_path() == StationPath::Nat {
            self.station.ip("route add default via 192.168.50.1")?;
        }

        // The ISATAP router: IPv4 side and server VLAN.
        port("rt4", &self.router, "Ethernet", d.router_v4_mac, "br-lan")?;
        port(
            "rt6",
            &self.router,
            "VLAN111",
            d.router_lan_mac,
            "br-vlan111",
        )?;
        ipv6_on(&self.router, "VLAN111")?;
        self.router
            .ip(&format!("addr add {}/24 dev Ethernet", d.router_v4))?;
        self.router.ip(&format!(
            "-6 addr add {}/64 dev VLAN111 nodad",
            d.router_lan
        ))?;
        self.router.ip("link set Ethernet up")?;
        self.router.ip("link set VLAN111 up")?;

        // The DA nodes and their clients.
        for i in 0..2 {
            let n = d.nodes[i];
            let (dav, client) = (&self.dav[i], &self.client[i]);
            let v4_mac = [0, 0x15, 0x5d, 0x10, 0, n.ipv4.octets()[3]];
            port(&format!("d{i}v4"), dav, "Ethernet", v4_mac, "br-lan")?;
            port(&format!("d{i}in"), dav, "Internal", n.mac, "br-vlan111")?;
            ipv6_on(dav, "Internal")?;
            dav.ip(&format!("addr add {}/24 dev Ethernet", n.ipv4))?;
            dav.ip(&format!("-6 addr add {}/64 dev Internal nodad", n.ipv6))?;
            dav.ip("link set Ethernet up")?;
            dav.ip("link set Internal up")?;
            veth(dav, "toclient", client, "uplink")?;
            dav.ip(&format!("addr add 10.255.{}.1/30 dev toclient", i + 1))?;
            client.ip(&format!("addr add 10.255.{}.2/30 dev uplink", i + 1))?;
            dav.ip("link set toclient up")?;
            client.ip("link set uplink up")?;
        }

        // Tunnel endpoints.
        let isatap_if = |v4: Ipv4Addr| TunConfig {
            mtu: ISATAP_MTU,
            addresses: vec![
                format!("{}/64", isatap_address(LINK_LOCAL, v4)),
                format!("{}/64", isatap_address(d.isatap_prefix, v4)),
            ],
        };
        let router_ep = Endpoint::isatap(
            IsatapSpec {
                who: "router".into(),
                netns: Some(self.router.name.clone()),
                tun: "isatap0".into(),
                config: isatap_if(d.router_v4),
                local: d.router_v4,
                prl: Vec::new(),
                onlink: vec![d.isatap_prefix],
                solicit: None,
                advertise: self.advert(),
            },
            self.log.clone(),
        )?;
        self.endpoints.push(router_ep);
        for i in 0..2 {
            let n = d.nodes[i];
            let own = Endpoint::isatap(
                IsatapSpec {
                    who: n.capture.into(),
                    netns: Some(self.dav[i].name.clone()),
                    tun: "isatap0".into(),
                    config: isatap_if(n.ipv4),
                    local: n.ipv4,
                    prl: vec![d.router_v4],
                    onlink: vec![d.isatap_prefix],
                    solicit: None,
                    advertise: None,
                },
                self.log.clone(),
            )?;
            self.endpoints.push(own);
            let (node_end, client_end) = (
                SocketAddrV4::new(Ipv4Addr::new(10, 255, i as u8 + 1, 1), RELAY_PORT),
                SocketAddrV4::new(Ipv4Addr::new(10, 255, i as u8 + 1, 2), RELAY_PORT),
            );
            let node_side = Endpoint::relay(
                RelaySpec {
                    who: format!("{} IP-HTTPS", n.capture),
                    netns: Some(self.dav[i].name.clone()),
                    tun: "IPHTTPS".into(),
                    config: TunConfig {
                        mtu: IPHTTPS_MTU,
                        addresses: Vec::new(),
                    },
                    bind: node_end,
                    peer: client_end,
                },
                self.log.clone(),
            )?;
            self.endpoints.push(node_side);
            let client_side = Endpoint::relay(
                RelaySpec {
                    who: format!("client{:02} IP-HTTPS", i + 1),
                    netns: Some(self.client[i].name.clone()),
                    tun: "IPHTTPS".into(),
                    config: TunConfig {
                        mtu: IPHTTPS_MTU,
                        addresses: vec![format!("{}/64", n.client)],
                    },
                    bind: client_end,
                    peer: node_end,
                },
                self.log.clone(),
            )?;
            self.endpoints.push(client_side);
        }

        // Routes: the router's published routes, each node's client prefix
        // on IP-HTTPS and the ISATAP prefix back through the router (metric
        // below the node's own ISATAP interface), the clients' default.
        for n in &d.nodes {
            self.router.ip(&format!(
                "-6 route add {}/64 via {} dev VLAN111",
                n.prefix, n.ipv6
            ))?;
        }
        for i in 0..2 {
            let n = d.nodes[i];
            self.dav[i].ip(&format!("-6 route add {}/64 dev IPHTTPS", n.prefix))?;
            self.dav[i].ip(&format!(
                "-6 route add {}/64 via {} dev Internal metric 10",
                d.isatap_prefix, d.router_lan
            ))?;
            self.client[i].ip("-6 route add default dev IPHTTPS")?;
        }
        Ok(())
    }

    /// What the router advertises.
    fn advert(&self) -> Option<Advert> {
        let d = &self.d;
        match self.fault {
            Fault::RouterNotAdvertising => None,
            Fault::MissingPublishedRoute => Some(Advert {
                router_lifetime: 1800,
                prefix: d.isatap_prefix,
                routes: vec![d.nodes[0].prefix],
            }),
            _ => Some(Advert {
                router_lifetime: 0,
                prefix: d.isatap_prefix,
                routes: vec![d.nodes[0].prefix, d.nodes[1].prefix],
            }),
        }
    }

    /// Breaks the healthy deployment.
    fn inject(&mut self) -> Result<()> {
        let d = self.d;
        let (n1, n2) = (d.nodes[0], d.nodes[1]);
        let middle = || self.middle.as_ref().context("no middle box");
        match self.fault {
            Fault::Healthy | Fault::RouterNotAdvertising => {}
            Fault::MissingPublishedRoute => {
                self.router.ip(&format!("-6 route del {}/64", n2.prefix))?;
            }
            Fault::WrongNextHop => {
                self.router.ip(&format!(
                    "-6 route replace {}/64 via {} dev VLAN111",
                    n2.prefix, n1.ipv6
                ))?;
            }
            Fault::MistypedNextHop => {
                self.router.ip(&format!(
                    "-6 route replace {}/64 via {TYPO_NEXT_HOP} dev VLAN111",
                    n1.prefix
                ))?;
            }
            Fault::NoReturnRoute => {
                self.dav[0].ip(&format!(
                    "-6 route del {}/64 via {} dev Internal metric 10",
                    d.isatap_prefix, d.router_lan
                ))?;
            }
            Fault::ReturnViaOtherNode => {
                self.dav[0].ip(&format!(
                    "-6 route replace {}/64 via {} dev Internal metric 10",
                    d.isatap_prefix, n2.ipv6
                ))?;
            }
            Fault::SilentClient => {
                self.client[0].sysctl("net.ipv6.icmp.echo_ignore_all", "1")?;
            }
            Fault::Protocol41Rejected => {
                middle()?.ip("rule add iif inside ipproto 41 prohibit")?;
            }
            Fault::RoutingLoop => {
                self.dav[0].ip(&format!("-6 route del {}/64 dev IPHTTPS", n1.prefix))?;
                self.dav[0].ip(&format!(
                    "-6 route add {}/64 via {} dev Internal",
                    n1.prefix, d.router_lan
                ))?;
            }
            Fault::Mtu1280 => {
                self.dav[0].ip("link set IPHTTPS mtu 1280")?;
            }
            Fault::StationBehindNat => {
                let rules = format!(
                    "table ip nat {{\n  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n    oifname \"outside\" snat to {NAT_OUTSIDE}\n  }}\n}}\n"
                );
                let file = std::env::temp_dir().join(format!("{}-nat.nft", self.id));
                std::fs::write(&file, rules)?;
                let loaded = middle()?.exec(&["nft", "-f", &file.to_string_lossy()]);
                let _ = std::fs::remove_file(&file);
                loaded?;
            }
        }
        Ok(())
    }

    /// Starts the captures, brings up the station's ISATAP interface (which
    /// solicits the router), runs the probes, stops and merges the captures.
    fn record(&mut self, raw: &Path, out: &Path) -> Result<Outcome> {
        for (label, ifaces) in VANTAGES {
            let ns = match label {
                "station" => &self.station,
                "router" => &self.router,
                "dav01" => &self.dav[0],
                _ => &self.dav[1],
            };
            let mut dumps = Vec::new();
            for ifname in ifaces {
                let path = raw.join(format!("{label}-{ifname}.pcap"));
                dumps.push(capture::Tcpdump::start(&ns.name, ifname, &path)?);
            }
            self.captures.push((label, dumps));
        }
        let station_v4 = self.station_v4();
        let station = Endpoint::isatap(
            IsatapSpec {
                who: "station".into(),
                netns: Some(self.station.name.clone()),
                tun: "isatap0".into(),
                config: TunConfig {
                    mtu: ISATAP_MTU,
                    addresses: vec![format!("{}/64", isatap_address(LINK_LOCAL, station_v4))],
                },
                local: station_v4,
                prl: vec![self.d.router_v4],
                onlink: Vec::new(),
                solicit: Some(Solicit {
                    count: 3,
                    interval: Duration::from_secs(1),
                }),
                advertise: None,
            },
            self.log.clone(),
        )?;
        let configured = station.wait_for_router(Duration::from_secs(8));
        self.endpoints.push(station);

        let target = self.d.nodes[self.fault.target_node()].client.to_string();
        let mut probes = Vec::new();
        for argv in probe_commands(self.fault, &target) {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let o = self.station.output(&argv)?;
            let mut output = String::from_utf8_lossy(&o.stdout).into_owned();
            output.push_str(&String::from_utf8_lossy(&o.stderr));
            probes.push(Probe {
                command: argv.join(" "),
                output,
            });
        }
        std::thread::sleep(settle(self.fault));

        let mut files = Vec::new();
        for (label, dumps) in &mut self.captures {
            for t in dumps.iter_mut() {
                t.stop();
            }
            let parts: Vec<(String, PathBuf)> = dumps
                .iter()
                .map(|t| (t.interface.clone(), t.path.clone()))
                .collect();
            let file = out.join(format!("{label}.pcapng"));
            capture::merge(&parts, &file, APPLICATION)?;
            files.push(file);
        }
        let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        Ok(Outcome {
            probes,
            log,
            configured,
            files,
        })
    }
}

/// How long after the last probe the captures keep running: long enough for
/// late answers (a router gives up on an unanswered neighbor after three
/// solicitations a second apart).
fn settle(fault: Fault) -> Duration {
    match fault {
        Fault::MistypedNextHop => Duration::from_millis(3500),
        _ => Duration::from_millis(700),
    }
}

/// The station's probes: Linux ping, Windows-style ICMP traceroute (three
/// probes per hop, one at a time) and UDP traceroute.
pub fn probe_commands(fault: Fault, target: &str) -> Vec<Vec<String>> {
    // Two pings where every one is large on the wire (a loop repeats each
    // request ~60 times; 1300-byte pings) keep those captures small.
    let count = match fault {
        Fault::RoutingLoop | Fault::Mtu1280 => "2",
        _ => "4",
    };
    let mut ping: Vec<&str> = vec!["ping", "-6", "-n", "-c", count, "-i", "0.5", "-W", "2"];
    if fault == Fault::Mtu1280 {
        ping.extend(["-s", "1300"]);
    }
    let trace = [
        "traceroute",
        "-6",
        "-n",
        "-q",
        "3",
        "-N",
        "1",
        "-m",
        "3",
        "-w",
        "1",
    ];
    let mut icmp: Vec<&str> = trace.to_vec();
    icmp.insert(1, "-I");
    let udp: Vec<&str> = trace.to_vec();
    [ping, icmp, udp]
        .into_iter()
        .map(|mut v| {
            v.push(target);
            v.into_iter().map(str::to_owned).collect()
        })
        .collect()
}

/// Checks that a fault name is known, with the list of names otherwise.
pub fn parse_fault(name: &str) -> Result<Fault> {
    match Fault::by_name(name) {
        Some(f) => Ok(f),
        None => bail!(
            "unknown fault `{name}`; known: {}",
            Fault::ALL.map(Fault::name).join(", ")
        ),
    }
}

/// One finding of an analysis, as the lab checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub kind: String,
    pub node: String,
    pub severity: String,
    pub summary: String,
}

/// Analyzes the captures in `dir` with the library pipeline, with the
/// directory's `topology.toml` (or inferring the topology when `with_topology`
/// is false); the station's capture is read first.
pub fn analyze(dir: &Path, with_topology: bool) -> Result<Vec<Found>> {
    use isatap_trace::cli::CaptureSpec;
    use isatap_trace::commands::pipeline::{conclude, gather};
    use isatap_trace::flow::Limits;
    use isatap_trace::topology::Topology;

    let mut specs = Vec::new();
    for (label, _) in VANTAGES {
        let path = dir.join(format!("{label}.pcapng"));
        if path.exists() {
            specs.push(CaptureSpec {
                label: label.to_owned(),
                path,
            });
        }
    }
    if specs.is_empty() {
        bail!("no captures in {}", dir.display());
    }
    let topology = if with_topology {
        Some(Topology::load(&dir.join("topology.toml")).map_err(|e| anyhow::anyhow!("{e}"))?)
    } else {
        None
    };
    let mut gathered = gather(&specs, Limits::default());
    if let Some(e) = gathered.unreadable.first() {
        bail!("unreadable capture: {e}");
    }
    let report = conclude(&mut gathered, topology.as_ref());
    Ok(report
        .findings
        .iter()
        .map(|f| Found {
            kind: f.kind.to_owned(),
            node: f.node.clone(),
            severity: f.severity.to_owned(),
            summary: f.summary.clone(),
        })
        .collect())
}

/// Whether `found` is exactly what `fault` must give: nothing for the
/// healthy lab, else one finding kind about one node.
pub fn verdict(fault: Fault, found: &[Found]) -> std::result::Result<(), String> {
    let got: Vec<(String, String)> = found
        .iter()
        .map(|f| (f.kind.clone(), f.node.clone()))
        .collect();
    let ok = match fault.expected() {
        None => got.is_empty(),
        Some((kind, node)) => !got.is_empty() && got.iter().all(|(k, n)| k == kind && n == node),
    };
    if ok {
        return Ok(());
    }
    let want = fault.expected().map_or_else(
        || "no finding".to_owned(),
        |(k, n)| format!("{k} about {n}"),
    );
    let said: Vec<String> = found
        .iter()
        .map(|f| {
            format!(
                "{} [{}] about {}: {}",
                f.kind, f.severity, f.node, f.summary
            )
        })
        .collect();
    Err(format!(
        "{}: expected {want}, got {}",
        fault.name(),
        if said.is_empty() {
            "no finding".to_owned()
        } else {
            said.join(" | ")
        }
    ))
}

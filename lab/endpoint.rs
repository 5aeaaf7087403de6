//! User-space tunnel endpoints, since the lab's kernel has no `sit` module:
//!
//! - [`Endpoint::isatap`]: an ISATAP interface (RFC 5214). IPv6 the kernel
//!   routes into a TUN device leaves as IP protocol 41 over a raw IPv4
//!   socket: to the IPv4 address embedded in the destination's `::5efe:a.b.c.d`
//!   identifier when the destination is on an ISATAP link (link-local or a
//!   configured /64), else to the first router of the potential-router list
//!   (PRL). Protocol 41 coming in passes the RFC 5214 source check (outer
//!   source in the PRL, or the IPv4 embedded in the inner source) or is
//!   dropped and logged. A host endpoint solicits its PRL router by unicast
//!   Router Solicitation and applies the advertisement (address from the
//!   prefix, routes from the Route Information options, default route, MTU);
//!   a router endpoint answers solicitations with a unicast advertisement
//!   carrying a Prefix Information option and one Route Information option
//!   per published route.
//! - [`Endpoint::relay`]: a point-to-point TUN link carried in UDP, standing
//!   in for the IP-HTTPS tunnel between a DA node and its client.
//!
//! Guarantees: an endpoint runs on its own threads inside the namespace it
//! was given (the TUN device and sockets are created there); it is ready when
//! the constructor returns and stops, removing its TUN device, when stopped
//! or dropped. Nothing is forwarded that the rules above do not allow.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use isatap_trace::decode::addr::isatap_ipv4;
use isatap_trace::decode::ndp::{NdOption, NdOptions};
use isatap_trace::synth::packet::{icmpv6, prefix_option, route_option};
use nix::sched::{CloneFlags, setns};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// How long a blocked read waits before looking at the stop flag.
const POLL: Duration = Duration::from_millis(100);
const IPPROTO_IPV6: i32 = 41;
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
const ICMPV6: u8 = 58;
const ROUTER_SOLICITATION: u8 = 133;
const ROUTER_ADVERTISEMENT: u8 = 134;

/// What the endpoints did, one line per event, shared by every endpoint of a lab.
pub type Log = Arc<Mutex<Vec<String>>>;

pub fn note(log: &Log, who: &str, what: impl AsRef<str>) {
    if let Ok(mut l) = log.lock() {
        l.push(format!("{who}: {}", what.as_ref()));
    }
}

/// `prefix` (its first 64 bits) with the ISATAP identifier of `v4`.
pub fn isatap_address(prefix: Ipv6Addr, v4: Ipv4Addr) -> Ipv6Addr {
    let p = prefix.segments();
    let o = v4.octets();
    Ipv6Addr::new(
        p[0],
        p[1],
        p[2],
        p[3],
        0,
        0x5efe,
        u16::from_be_bytes([o[0], o[1]]),
        u16::from_be_bytes([o[2], o[3]]),
    )
}

fn prefix64(a: &Ipv6Addr) -> Ipv6Addr {
    let s = a.segments();
    Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)
}

const LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0);

/// A host's solicitation schedule.
#[derive(Clone, Copy, Debug)]
pub struct Solicit {
    pub count: u32,
    pub interval: Duration,
}

/// What a router endpoint advertises.
#[derive(Clone, Debug)]
pub struct Advert {
    /// 0: no default route (only the published routes).
    pub router_lifetime: u16,
    /// The ISATAP /64 hosts autoconfigure from.
    pub prefix: Ipv6Addr,
    /// Published /64 routes.
    pub routes: Vec<Ipv6Addr>,
}

/// How an endpoint sets up its TUN device before it reports ready.
#[derive(Clone, Debug)]
pub struct TunConfig {
    pub mtu: u16,
    /// IPv6 addresses with prefix length (no address is generated otherwise).
    pub addresses: Vec<String>,
}

/// An ISATAP interface.
#[derive(Clone, Debug)]
pub struct IsatapSpec {
    /// Name in the log.
    pub who: String,
    /// Namespace to run in (`None`: the current one).
    pub netns: Option<String>,
    pub tun: String,
    pub config: TunConfig,
    /// The IPv4 address the interface's identifier embeds.
    pub local: Ipv4Addr,
    /// Potential-router list.
    pub prl: Vec<Ipv4Addr>,
    /// ISATAP /64s known to be on-link (a host learns its own from the RA).
    pub onlink: Vec<Ipv6Addr>,
    pub solicit: Option<Solicit>,
    pub advertise: Option<Advert>,
}

/// A point-to-point TUN link carried in UDP.
#[derive(Clone, Debug)]
pub struct RelaySpec {
    pub who: String,
    pub netns: Option<String>,
    pub tun: String,
    pub config: TunConfig,
    pub bind: SocketAddrV4,
    pub peer: SocketAddrV4,
}

/// How far a host got with router discovery.
#[derive(Debug, Default)]
pub struct Status {
    /// An advertisement from a PRL router was applied.
    pub configured: AtomicBool,
    /// Every solicitation went unanswered.
    pub gave_up: AtomicBool,
}

/// A running endpoint.
pub struct Endpoint {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub status: Arc<Status>,
}

fn enter(netns: &Option<String>) -> Result<()> {
    if let Some(name) = netns {
        let path = PathBuf::from("/run/netns").join(name);
        let f = File::open(&path).with_context(|| format!("open {}", path.display()))?;
        setns(&f, CloneFlags::CLONE_NEWNET).with_context(|| format!("setns into {name}"))?;
    }
    Ok(())
}

/// Runs `argv` in `netns` (or here); a non-zero exit is an error.
fn run_in(netns: &Option<String>, argv: &[&str]) -> Result<()> {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).args(argv);
            c
        }
        None => {
            let mut c = Command::new(argv[0]);
            c.args(&argv[1..]);
            c
        }
    };
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {}", argv[0]))?;
    if !out.status.success() {
        return Err(anyhow!(
            "`{}` failed: {}",
            argv.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// A layer-3 TUN device, brought up with `config`: IPv6 on, no generated
/// address (an ISATAP or IP-HTTPS link has no MAC to derive one from), no
/// kernel router discovery (the endpoint does its own).
fn open_tun(netns: &Option<String>, name: &str, config: &TunConfig) -> Result<tun::Device> {
    let mut tc = tun::Configuration::default();
    tc.tun_name(name).layer(tun::Layer::L3);
    let dev = tun::create(&tc).map_err(|e| anyhow!("cannot create TUN device {name}: {e}"))?;
    for (key, value) in [
        ("addr_gen_mode", "1"),
        ("disable_ipv6", "0"),
        ("accept_ra", "0"),
    ] {
        let path = format!("/proc/sys/net/ipv6/conf/{name}/{key}");
        run_in(netns, &["sh", "-c", &format!("echo {value} > {path}")])?;
    }
    let mtu = config.mtu.to_string();
    run_in(
        netns,
        &["ip", "link", "set", "dev", name, "mtu", &mtu, "up"],
    )?;
    for a in &config.addresses {
        run_in(netns, &["ip", "-6", "addr", "add", a, "dev", name, "nodad"])?;
    }
    Ok(dev)
}

fn quiet(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
    )
}

impl Endpoint {
    /// Starts `setup` on a thread that first enters `netns`, then runs `body`
    /// with what `setup` made until the stop flag is raised.
    fn spawn<T: Send + 'static>(
        name: &str,
        netns: Option<String>,
        setup: impl FnOnce() -> Result<T> + Send + 'static,
        body: impl FnOnce(T, Arc<AtomicBool>, Arc<Status>) + Send + 'static,
    ) -> Result<Endpoint> {
        let stop = Arc::new(AtomicBool::new(false));
        let status = Arc::new(Status::default());
        let (ready, is_ready) = mpsc::channel::<Result<()>>();
        let (stop2, status2) = (stop.clone(), status.clone());
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let made = enter(&netns).and_then(|()| setup());
                match made {
                    Ok(t) => {
                        let _ = ready.send(Ok(()));
                        body(t, stop2, status2);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })
            .context("cannot start endpoint thread")?;
        let mut ep = Endpoint {
            stop,
            thread: Some(thread),
            status,
        };
        match is_ready.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => Ok(ep),
            Ok(Err(e)) => {
                ep.stop();
                Err(e.context(format!("endpoint {name}")))
            }
            Err(_) => {
                ep.stop();
                Err(anyhow!("endpoint {name} did not start"))
            }
        }
    }

    /// Starts an ISATAP interface.
    pub fn isatap(spec: IsatapSpec, log: Log) -> Result<Endpoint> {
        let (tun, local) = (spec.tun.clone(), spec.local);
        let (netns, config) = (spec.netns.clone(), spec.config.clone());
        let setup = move || -> Result<(tun::Device, Socket)> {
            let dev = open_tun(&netns, &tun, &config)?;
            let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_IPV6)))
                .context("raw IPv4 socket for protocol 41")?;
            sock.bind(&SockAddr::from(SocketAddrV4::new(local, 0)))
                .with_context(|| format!("bind the protocol-41 socket to {local}"))?;
            sock.set_read_timeout(Some(POLL))?;
            Ok((dev, sock))
        };
        let name = format!("isatap-{}", spec.who);
        let netns = spec.netns.clone();
        Endpoint::spawn(&name, netns, setup, move |(dev, sock), stop, status| {
            let onlink = spec.onlink.clone();
            let isatap = Arc::new(Isatap {
                spec,
                dev,
                sock,
                onlink: Mutex::new(onlink),
                status,
                log,
                stop,
            });
            let down = isatap.clone();
            let decap = thread::spawn(move || down.decapsulate());
            isatap.encapsulate();
            let _ = decap.join();
        })
    }

    /// Starts a point-to-point TUN link over UDP.
    pub fn relay(spec: RelaySpec, log: Log) -> Result<Endpoint> {
        let (tun, bind, peer) = (spec.tun.clone(), spec.bind, spec.peer);
        let (netns, config) = (spec.netns.clone(), spec.config.clone());
        let setup = move || -> Result<(tun::Device, UdpSocket)> {
            let dev = open_tun(&netns, &tun, &config)?;
            let udp = UdpSocket::bind(bind).with_context(|| format!("bind UDP {bind}"))?;
            udp.connect(peer)?;
            udp.set_read_timeout(Some(POLL))?;
            Ok((dev, udp))
        };
        let name = format!("relay-{}", spec.who);
        let who = spec.who.clone();
        Endpoint::spawn(&name, spec.netns, setup, move |(dev, udp), stop, _| {
            let dev = Arc::new(dev);
            let udp = Arc::new(udp);
            let (dev2, udp2, stop2, log2, who2) = (
                dev.clone(),
                udp.clone(),
                stop.clone(),
                log.clone(),
                who.clone(),
            );
            let back = thread::spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while !stop2.load(Ordering::Relaxed) {
                    match udp2.recv(&mut buf) {
                        Ok(n) => {
                            if let Err(e) = dev2.send(&buf[..n]) {
                                note(&log2, &who2, format!("TUN write failed: {e}"));
                            }
                        }
                        Err(e) if quiet(&e) || e.kind() == ErrorKind::ConnectionRefused => {}
                        Err(e) => {
                            note(&log2, &who2, format!("UDP receive failed: {e}"));
                            break;
                        }
                    }
                }
            });
            let mut buf = vec![0u8; 65_536];
            while !stop.load(Ordering::Relaxed) {
                match dev.recv_timeout(&mut buf, POLL) {
                    Ok(n) => match udp.send(&buf[..n]) {
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
                        Err(e) => note(&log, &who, format!("UDP send failed: {e}")),
                    },
                    Err(e) if quiet(&e) => {}
                    Err(e) => {
                        note(&log, &who, format!("TUN read failed: {e}"));
                        break;
                    }
                }
            }
            let _ = back.join();
        })
    }

    /// Waits until a host endpoint applied an advertisement (true) or gave
    /// up soliciting, or `timeout` passed (false).
    pub fn wait_for_router(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if self.status.configured.load(Ordering::Relaxed) {
                return true;
            }
            if self.status.gave_up.load(Ordering::Relaxed) {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Stops the endpoint and waits for its threads; its TUN device goes away.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Isatap {
    spec: IsatapSpec,
    dev: tun::Device,
    sock: Socket,
    onlink: Mutex<Vec<Ipv6Addr>>,
    status: Arc<Status>,
    log: Log,
    stop: Arc<AtomicBool>,
}

impl Isatap {
    fn note(&self, what: impl AsRef<str>) {
        note(&self.log, &self.spec.who, what);
    }

    fn send4(&self, to: Ipv4Addr, packet: &[u8]) {
        if let Err(e) = self
            .sock
            .send_to(packet, &SockAddr::from(SocketAddrV4::new(to, 0)))
        {
            self.note(format!("protocol-41 send to {to} failed: {e}"));
        }
    }

    fn on_link(&self, dst: &Ipv6Addr) -> bool {
        let p = prefix64(dst);
        p == LINK_LOCAL || self.onlink.lock().is_ok_and(|l| l.contains(&p))
    }

    /// Where an IPv6 packet from the TUN device goes over IPv4, if anywhere.
    fn next_hop(&self, dst: &Ipv6Addr) -> Option<Ipv4Addr> {
        if dst.is_multicast() {
            // ISATAP has no multicast; a solicitation goes to the PRL router.
            return (*dst == ALL_ROUTERS)
                .then(|| self.spec.prl.first().copied())
                .flatten();
        }
        if let Some(v4) = isatap_ipv4(dst)
            && self.on_link(dst)
        {
            return Some(v4);
        }
        self.spec.prl.first().copied()
    }

    /// TUN → protocol 41, and the host's solicitations.
    fn encapsulate(&self) {
        let mut buf = vec![0u8; 65_536];
        let mut next_rs = Instant::now();
        let mut sent_rs = 0;
        while !self.stop.load(Ordering::Relaxed) {
            if let Some(s) = self.spec.solicit
                && !self.status.configured.load(Ordering::Relaxed)
                && !self.status.gave_up.load(Ordering::Relaxed)
                && Instant::now() >= next_rs
            {
                if sent_rs < s.count {
                    self.solicit();
                    sent_rs += 1;
                    next_rs += s.interval;
                } else {
                    self.status.gave_up.store(true, Ordering::Relaxed);
                    self.note(format!("no advertisement after {sent_rs} solicitations"));
                }
            }
            let n = match self.dev.recv_timeout(&mut buf, POLL) {
                Ok(n) => n,
                Err(e) if quiet(&e) => continue,
                Err(e) => {
                    self.note(format!("TUN read failed: {e}"));
                    return;
                }
            };
            let p = &buf[..n];
            if n < 40 || p[0] >> 4 != 6 {
                continue;
            }
            let dst = ipv6_at(p, 24);
            match self.next_hop(&dst) {
                Some(v4) => self.send4(v4, p),
                None if dst.is_multicast() => {}
                None => self.note(format!("no ISATAP next hop for {dst}: dropped")),
            }
        }
    }

    fn solicit(&self) {
        let Some(&router) = self.spec.prl.first() else {
            return;
        };
        let ll = isatap_address(LINK_LOCAL, self.spec.local);
        let rs = icmpv6(ll, ALL_ROUTERS, 255, ROUTER_SOLICITATION, 0, &[0; 4]);
        self.note(format!("Router Solicitation to {router}"));
        self.send4(router, &rs.bytes());
    }

    /// Protocol 41 → source check → TUN (or the router-discovery handlers).
    fn decapsulate(&self) {
        let mut buf = vec![0u8; 65_536];
        while !self.stop.load(Ordering::Relaxed) {
            let n = match (&self.sock).read(&mut buf) {
                Ok(n) => n,
                Err(e) if quiet(&e) => continue,
                Err(e) => {
                    self.note(format!("protocol-41 receive failed: {e}"));
                    return;
                }
            };
            let p = &buf[..n];
            if n < 20 || p[0] >> 4 != 4 || p[9] != IPPROTO_IPV6 as u8 {
                continue;
            }
            let ihl = usize::from(p[0] & 0x0f) * 4;
            let outer_src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
            let inner = &p[ihl.min(n)..];
            if inner.len() < 40 || inner[0] >> 4 != 6 {
                continue;
            }
            let inner_src = ipv6_at(inner, 8);
            // RFC 5214 §7.3: the outer source must be a PRL router or the
            // IPv4 address embedded in the inner source.
            if !self.spec.prl.contains(&outer_src) && isatap_ipv4(&inner_src) != Some(outer_src) {
                self.note(format!(
                    "dropped protocol 41 from {outer_src}: inner source {inner_src} does not embed it and {outer_src} is not a PRL router (RFC 5214 source check)"
                ));
                continue;
            }
            if inner[6] == ICMPV6 && inner.len() > 40 {
                match inner[40] {
                    ROUTER_SOLICITATION => {
                        self.answer(outer_src, inner_src);
                        continue;
                    }
                    ROUTER_ADVERTISEMENT if self.spec.solicit.is_some() => {
                        self.apply(outer_src, inner);
                        continue;
                    }
                    _ => {}
                }
            }
            if let Err(e) = self.dev.send(inner) {
                self.note(format!("TUN write failed: {e}"));
            }
        }
    }

    /// A router's unicast advertisement in answer to a solicitation.
    fn answer(&self, outer_src: Ipv4Addr, solicitor: Ipv6Addr) {
        let Some(adv) = &self.spec.advertise else {
            self.note(format!(
                "Router Solicitation from {outer_src} not answered (not advertising)"
            ));
            return;
        };
        let mut body = vec![0, 0];
        body.extend_from_slice(&adv.router_lifetime.to_be_bytes());
        body.extend_from_slice(&[0; 8]);
        body.extend(prefix_option(
            adv.prefix, 64, false, true, 2_592_000, 604_800,
        ));
        for r in &adv.routes {
            body.extend(route_option(*r, 64, 1800));
        }
        let ll = isatap_address(LINK_LOCAL, self.spec.local);
        let ra = icmpv6(ll, solicitor, 255, ROUTER_ADVERTISEMENT, 0, &body);
        self.note(format!(
            "Router Advertisement to {outer_src}: prefix {}/64, router lifetime {}, routes {}",
            adv.prefix,
            adv.router_lifetime,
            adv.routes
                .iter()
                .map(|r| format!("{r}/64"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        self.send4(outer_src, &ra.bytes());
    }

    /// `ip …` in the endpoint's namespace; failures are logged.
    fn ip(&self, args: &[String]) {
        let mut cmd = Command::new("ip");
        if let Some(ns) = &self.spec.netns {
            cmd.args(["-n", ns]);
        }
        match cmd.args(args).output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => self.note(format!(
                "`ip {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => self.note(format!("cannot run ip: {e}")),
        }
    }

    /// A host applies a PRL router's advertisement.
    fn apply(&self, outer_src: Ipv4Addr, ra: &[u8]) {
        if ra[7] != 255 || ra.len() < 56 {
            return;
        }
        let lifetime = u16::from_be_bytes([ra[46], ra[47]]);
        let via = isatap_address(LINK_LOCAL, outer_src).to_string();
        let tun = self.spec.tun.clone();
        let s = |v: &str| v.to_owned();
        let mut learned = Vec::new();
        for opt in (NdOptions {
            bytes: &ra[56..],
            base: 56,
        })
        .iter()
        {
            match opt {
                NdOption::Prefix(p) if p.autonomous && p.len == 64 => {
                    let addr = isatap_address(p.prefix, self.spec.local);
                    self.ip(&[
                        s("-6"),
                        s("addr"),
                        s("replace"),
                        format!("{addr}/64"),
                        s("dev"),
                        tun.clone(),
                        s("nodad"),
                    ]);
                    if let Ok(mut l) = self.onlink.lock() {
                        l.push(prefix64(&p.prefix));
                    }
                    learned.push(format!("address {addr}/64"));
                }
                NdOption::Route(r) if r.lifetime > 0 => {
                    let net = format!("{}/{}", r.prefix, r.len);
                    self.ip(&[
                        s("-6"),
                        s("route"),
                        s("replace"),
                        net.clone(),
                        s("via"),
                        via.clone(),
                        s("dev"),
                        tun.clone(),
                    ]);
                    learned.push(format!("route {net}"));
                }
                NdOption::Mtu(mtu) => {
                    self.ip(&[
                        s("link"),
                        s("set"),
                        s("dev"),
                        tun.clone(),
                        s("mtu"),
                        mtu.to_string(),
                    ]);
                    learned.push(format!("MTU {mtu}"));
                }
                _ => {}
            }
        }
        if lifetime > 0 {
            self.ip(&[
                s("-6"),
                s("route"),
                s("replace"),
                s("default"),
                s("via"),
                via.clone(),
                s("dev"),
                tun.clone(),
            ]);
            learned.push(format!("default route (lifetime {lifetime} s)"));
        }
        self.note(format!(
            "Router Advertisement from {outer_src} applied: {}",
            learned.join(", ")
        ));
        self.status.configured.store(true, Ordering::Relaxed);
    }
}

fn ipv6_at(p: &[u8], at: usize) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&p[at..at + 16]);
    Ipv6Addr::from(o)
}

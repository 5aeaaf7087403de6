//! The namespace lab from the command line (root, Linux):
//!
//! ```text
//! cargo run --example lab -- regenerate            # every fault into captures/lab/, README included
//! cargo run --example lab -- run wrong-next-hop    # some faults, into --out (default captures/lab)
//! cargo run --example lab -- list
//! cargo run --example lab -- endpoint --tun isatap0 --local 172.16.16.50 --prl 172.16.16.31 --solicit
//! ```
//!
//! After each run the captures are analyzed with the library and the
//! findings compared with the fault's expected one; the exit status is 1 if
//! any differs.

#[path = "../lab/mod.rs"]
mod lab;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use lab::endpoint::{Advert, Endpoint, IsatapSpec, Solicit, TunConfig, isatap_address};
use lab::{Fault, parse_fault};

#[derive(Parser)]
#[command(about = "Namespace lab of the DirectAccess manage-out deployment")]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The faults the lab can inject.
    List,
    /// Runs faults (`all` for every one) and writes OUT/<fault>/.
    Run {
        #[arg(required = true)]
        faults: Vec<String>,
        #[arg(long, default_value = "captures/lab")]
        out: PathBuf,
    },
    /// Runs every fault into OUT/<fault>/ and rewrites OUT/README.md.
    Regenerate {
        #[arg(long, default_value = "captures/lab")]
        out: PathBuf,
    },
    /// Runs one user-space ISATAP interface in the current namespace until killed.
    Endpoint {
        #[arg(long, default_value = "isatap0")]
        tun: String,
        /// The IPv4 address the interface identifier embeds (must be local).
        #[arg(long)]
        local: Ipv4Addr,
        /// Potential-router list entry (repeatable).
        #[arg(long)]
        prl: Vec<Ipv4Addr>,
        /// The ISATAP /64 (configured on the interface, treated as on-link).
        #[arg(long)]
        prefix: Option<Ipv6Addr>,
        /// Solicit the PRL router and apply its advertisement (host).
        #[arg(long)]
        solicit: bool,
        /// Answer solicitations, publishing this /64 route (router; repeatable).
        #[arg(long)]
        publish: Vec<Ipv6Addr>,
        /// Router lifetime advertised (0: no default route).
        #[arg(long, default_value_t = 0)]
        router_lifetime: u16,
        #[arg(long, default_value_t = 1480)]
        mtu: u16,
    },
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("lab: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<bool> {
    match args.command {
        Cmd::List => {
            for f in Fault::ALL {
                let expected = f
                    .expected()
                    .map_or_else(|| "no finding".to_owned(), |(k, n)| format!("{k} ({n})"));
                println!(
                    "{:<24} {expected}\n{:<24} {}",
                    f.name(),
                    "",
                    f.description()
                );
            }
            Ok(true)
        }
        Cmd::Run { faults, out } => {
            let faults = if faults.iter().any(|f| f == "all") {
                Fault::ALL.to_vec()
            } else {
                faults
                    .iter()
                    .map(|f| parse_fault(f))
                    .collect::<Result<Vec<_>>>()?
            };
            run_faults(&faults, &out)
        }
        Cmd::Regenerate { out } => {
            let ok = run_faults(&Fault::ALL, &out)?;
            std::fs::write(out.join("README.md"), readme())
                .with_context(|| format!("write {}/README.md", out.display()))?;
            Ok(ok)
        }
        Cmd::Endpoint {
            tun,
            local,
            prl,
            prefix,
            solicit,
            publish,
            router_lifetime,
            mtu,
        } => {
            let ll = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0);
            let mut addresses = vec![format!("{}/64", isatap_address(ll, local))];
            addresses.extend(prefix.map(|p| format!("{}/64", isatap_address(p, local))));
            let log = lab::endpoint::Log::default();
            let _ep = Endpoint::isatap(
                IsatapSpec {
                    who: tun.clone(),
                    netns: None,
                    tun,
                    config: TunConfig { mtu, addresses },
                    local,
                    prl,
                    onlink: prefix.into_iter().collect(),
                    solicit: solicit.then_some(Solicit {
                        count: 3,
                        interval: Duration::from_secs(4),
                    }),
                    advertise: (!publish.is_empty() || prefix.is_some()).then(|| Advert {
                        router_lifetime,
                        prefix: prefix.unwrap_or(Ipv6Addr::UNSPECIFIED),
                        routes: publish,
                    }),
                },
                log.clone(),
            )?;
            eprintln!("endpoint running; Ctrl-C stops it");
            let mut shown = 0;
            loop {
                std::thread::sleep(Duration::from_millis(200));
                let l = log.lock().map(|l| l.clone()).unwrap_or_default();
                for line in &l[shown..] {
                    println!("{line}");
                }
                shown = l.len();
            }
        }
    }
}

fn run_faults(faults: &[Fault], out: &Path) -> Result<bool> {
    let mut all_ok = true;
    for &fault in faults {
        if let Err(why) = lab::preflight(fault) {
            anyhow::bail!("the lab cannot run here: {why}");
        }
        let dir = out.join(fault.name());
        eprintln!("== {}: {}", fault.name(), fault.description());
        let outcome = lab::run(fault, &dir)?;
        if !outcome.configured {
            eprintln!("   (the station got no router advertisement)");
        }
        for p in &outcome.probes {
            eprintln!("   $ {}", p.command);
        }
        for f in &outcome.files {
            eprintln!("   wrote {}", f.display());
        }
        let found = lab::analyze(&dir, true)?;
        match lab::verdict(fault, &found) {
            Ok(()) => eprintln!(
                "   ok: {}",
                fault
                    .expected()
                    .map_or_else(|| "no finding".to_owned(), |(k, n)| format!("{k} ({n})"))
            ),
            Err(why) => {
                all_ok = false;
                eprintln!("   MISMATCH: {why}");
            }
        }
    }
    Ok(all_ok)
}

fn readme() -> String {
    let mut t = String::from(
        "# Lab captures\n\n\
Captures of the DirectAccess manage-out deployment of `DESIGN.md` running on real Linux\n\
kernels in network namespaces, one folder per injected fault. Made with\n\
`cargo run --example lab -- regenerate` (as root): the lab (`lab/`) builds the station,\n\
the ISATAP router, two DA nodes and a DA client behind each, breaks one thing, runs from\n\
the station `ping -6`, a Windows-style ICMP traceroute (`traceroute -6 -I`, three probes\n\
per hop, one at a time) and a UDP `traceroute -6`, records every vantage point with\n\
tcpdump and merges each vantage point's interfaces into one pcapng file.\n\n\
| file | vantage point | interfaces |\n|---|---|---|\n\
| `station.pcapng` | the management station's NIC | `eth0` |\n\
| `router.pcapng` | the ISATAP router | `Ethernet` (IPv4 side, protocol 41), `VLAN111` (server VLAN) |\n\
| `dav01.pcapng`, `dav02.pcapng` | a DA node | `Ethernet` (IPv4), `Internal` (server VLAN), `IPHTTPS` (raw IPv6 to its client) |\n\
| `topology.toml` | the deployment, for `--topology` | |\n\
| `probes.txt` | the commands the station ran, their output, what the tunnel endpoints did | |\n\n\
ISATAP runs in user space (a TUN device and a raw protocol-41 socket per interface, RFC 5214\n\
source check, unicast RS/RA with Route Information options); the IP-HTTPS link between a DA\n\
node and its client is a TUN device on each side carried in UDP. All clocks are the same\n\
kernel's, unlike real multi-host captures. `tests/lab.rs` rebuilds each fault and checks\n\
that the analysis names it; it also checks these committed files.\n\n\
| folder | injected | expected finding (node) |\n|---|---|---|\n",
    );
    for f in Fault::ALL {
        let expected = f
            .expected()
            .map_or_else(|| "none".to_owned(), |(k, n)| format!("`{k}` ({n})"));
        t.push_str(&format!(
            "| `{}/` | {} | {expected} |\n",
            f.name(),
            f.description()
        ));
    }
    t
}

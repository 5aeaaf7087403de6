//! The `isatap-trace` binary: parse arguments, run the command, map the result
//! to an exit status (0 clean, 1 error findings, 2 usage or unreadable input).

use std::io::{self, BufWriter, IsTerminal};
use std::process::ExitCode;

use clap::Parser;
use isatap_trace::cli::{CaptureSpec, Cli, Command, capture_specs};
use isatap_trace::commands::analyze::AnalyzeConfig;
use isatap_trace::commands::live::{AddressFilter, LiveConfig};
use isatap_trace::commands::{self, Outcome};
use isatap_trace::redact::Redactor;
use isatap_trace::report::sanitize::terminal_safe;

// mimalloc rather than the C library's allocator: it takes memory from the
// system in large chunks and reuses what the reading stage frees for the
// conclusion, where glibc's hands it back and then faults in fresh pages. On
// the 2-million-frame replay (benches/replay.sh) the conclusion takes 27 ms
// instead of 38; peak memory is higher, still well within the 256 MiB bound.
// Its version 2 (the crate's `v2` feature): with huge pages, version 3
// spread the reading stage's buffers and tables over more of them, each
// backed and zeroed whole on first touch, and new memory is dear on this
// project's machine (about 1 ms a MiB after a pause). On the 2-million-frame
// replay peak RSS was 64-67 MiB instead of 79-89, and the run 24-28 ms
// shorter right after tcpdump (the benchmark's order). With huge pages off
// (below) the two versions measure alike.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // No transparent huge pages for this process (mimalloc asks for them):
    // each is zeroed whole, 2 MiB, on first touch, and right after another
    // program has run for a second or two (the replay benchmark runs tcpdump
    // between two runs) the project's virtual machine takes several
    // milliseconds for each. On the 2-million-frame replay in the
    // benchmark's order: best of 3 0.136-0.140 s instead of 0.148-0.162,
    // CPU 252 ms instead of 340 (medians of 6 runs each after tcpdump); peak
    // RSS 38-44 MiB instead of 51-64. When huge pages are cheap (runs back to
    // back) the two are alike. Only a hint: a kernel without the setting
    // runs as before.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            // The message may name a file: no escape sequences from its name.
            eprintln!("isatap-trace: {}", terminal_safe(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut err = io::stderr();
    match cli.command {
        Command::Analyze(args) => {
            let cfg = AnalyzeConfig {
                captures: capture_specs(&args.captures)?,
                topology: args.topology,
                format: args.format,
                color: args.output.is_none() && wants_color(),
                output: args.output,
                export_pcap: args.export_pcap,
                redact: args.redact.then(Redactor::from_env),
                progress: err.is_terminal(),
            };
            Ok(commands::analyze::run(&cfg, &mut out, &mut err)?)
        }
        Command::Topology(args) => {
            let specs = capture_specs(&args.captures)?;
            Ok(commands::topology::run(
                &specs,
                err.is_terminal(),
                &mut out,
            )?)
        }
        Command::Live(args) => {
            let cfg = LiveConfig {
                iface: args.iface,
                topology: args.topology,
                duration: args.duration,
                timeout: args.timeout,
                write: args.write,
                filter: AddressFilter {
                    hosts: args.host,
                    nets: args.net,
                },
                #[cfg(feature = "libpcap")]
                bpf: args.filter,
                #[cfg(not(feature = "libpcap"))]
                bpf: None,
                format: args.format,
                color: wants_color(),
                status: err.is_terminal(),
            };
            Ok(commands::live::run(&cfg, &mut out, &mut err)?)
        }
        Command::Decode(args) => {
            let spec = CaptureSpec::parse(&args.capture)?;
            Ok(commands::decode::run(
                &spec,
                args.format,
                &mut out,
                &mut err,
            )?)
        }
    }
}

/// Colour only on a terminal, and never when NO_COLOR is set (no-color.org).
fn wants_color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

//! The `isatap-trace` binary: parse arguments, run the command, map the result
//! to an exit status (0 clean, 1 error findings, 2 usage or unreadable input).

use std::io::{self, BufWriter};
use std::process::ExitCode;

use clap::Parser;
use isatap_trace::cli::{CaptureSpec, Cli, Command};
use isatap_trace::commands::{self, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            eprintln!("isatap-trace: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut err = io::stderr();
    match cli.command {
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

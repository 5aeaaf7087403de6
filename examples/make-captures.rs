//! Regenerates the sample captures in `captures/`: one folder per scenario
//! with a pcapng per vantage point and the deployment's topology.toml.
//!
//! Usage: cargo run --example make-captures [-- OUTPUT_DIR]

use std::path::PathBuf;

use isatap_trace::synth::{scenarios, write_scenario};

fn main() -> std::io::Result<()> {
    let out = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures"),
        PathBuf::from,
    );
    for scenario in scenarios::all() {
        let dir = out.join(scenario.name);
        write_scenario(&dir, &scenario)?;
        println!("{:<32} {}", scenario.name, scenario.description);
    }
    Ok(())
}

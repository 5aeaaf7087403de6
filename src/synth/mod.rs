//! Synthetic captures for the samples in `captures/`, the tests and the
//! benchmarks: packet builders ([`packet`]), vantage points that record them
//! ([`world`]) and the scenarios of the DESIGN.md deployment ([`scenarios`]).
//!
//! Guarantees: output is deterministic (fixed addresses, times and
//! identifiers), so regenerating `captures/` gives the same bytes.

pub mod packet;
pub mod replay;
pub mod scenarios;
pub mod world;

use std::io;
use std::path::Path;

/// Writes one scenario's captures and topology into `dir`.
pub fn write_scenario(dir: &Path, scenario: &scenarios::Scenario) -> io::Result<()> {
    let world = (scenario.build)();
    world.write(dir, "isatap-trace sample generator")?;
    std::fs::write(dir.join("topology.toml"), scenarios::TOPOLOGY_TOML)
}

//! `isatap-trace topology`: print the topology the captures show, as TOML
//! that `--topology` accepts, with the assumptions as comments.

use std::io::Write;
use std::sync::Arc;

use crate::cli::CaptureSpec;
use crate::error::Error;
use crate::flow::Limits;
use crate::report::sanitize::terminal_safe;

use super::Outcome;
use super::pipeline::{gather_showing, topology_of};
use super::progress::Progress;

/// `progress`: show a progress bar on stderr (it is a terminal) while reading.
pub fn run(
    captures: &[CaptureSpec],
    progress: bool,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    let shown = Arc::new(Progress::new(progress));
    let mut gathered = gather_showing(captures, Limits::default(), &shown);
    if !gathered.unreadable.is_empty() {
        return Err(gathered.unreadable.remove(0).into());
    }
    let inferred = topology_of(&gathered, None);
    let io = |source| Error::Io {
        path: "<stdout>".into(),
        source,
    };
    writeln!(out, "# Topology inferred by isatap-trace from:").map_err(io)?;
    for c in &gathered.infos {
        let path = terminal_safe(&c.path.display().to_string());
        let label = terminal_safe(&c.label);
        writeln!(out, "#   {label} = {path}").map_err(io)?;
    }
    if inferred.assumptions.is_empty() {
        writeln!(out, "#\n# Nothing needed an assumption.").map_err(io)?;
    } else {
        writeln!(out, "#\n# Check these assumptions before relying on it:").map_err(io)?;
        for a in &inferred.assumptions {
            writeln!(out, "#   - {}", terminal_safe(a)).map_err(io)?;
        }
    }
    if inferred.topology.router.is_none() {
        writeln!(
            out,
            "#\n# No ISATAP router could be identified (no protocol 41, RS or RA seen)."
        )
        .map_err(io)?;
    }
    writeln!(out).map_err(io)?;
    out.write_all(inferred.topology.to_toml().as_bytes())
        .map_err(io)?;
    out.flush().map_err(io)?;
    Ok(Outcome::Clean)
}

//! The JSON report (`--format json`, schema `isatap-trace/1`).
//!
//! Guarantees: control characters, C1 controls and bidirectional overrides
//! from capture data are escaped (`\uXXXX`), so the report is safe to print
//! on a terminal.

use std::io::{self, Write};

use super::model::Report;
use super::sanitize::json_terminal_safe;

pub fn render(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let json = serde_json::to_string_pretty(r).map_err(io::Error::other)?;
    out.write_all(json_terminal_safe(&json).as_bytes())?;
    writeln!(out)
}

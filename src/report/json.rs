//! The JSON report (`--format json`, schema `isatap-trace/1`).

use std::io::{self, Write};

use super::model::Report;

pub fn render(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r).map_err(io::Error::other)?;
    writeln!(out)
}

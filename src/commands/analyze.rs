//! `isatap-trace analyze`: read every capture, correlate, diagnose, report.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use crate::cli::{CaptureSpec, ReportFormat};
use crate::error::Error;
use crate::flow::Limits;
use crate::report::sanitize::terminal_safe;
use crate::report::{self, Report};
use crate::topology::Topology;

use super::pipeline::{conclude, gather};
use super::{Outcome, is_broken_pipe};

/// A resolved `analyze` invocation.
#[derive(Clone, Debug)]
pub struct AnalyzeConfig {
    pub captures: Vec<CaptureSpec>,
    pub topology: Option<PathBuf>,
    pub format: ReportFormat,
    pub output: Option<PathBuf>,
    /// Colour the text report (stdout is a terminal and NO_COLOR is unset).
    pub color: bool,
}

/// Writes `report` in `format`.
pub fn render(
    report: &Report,
    format: ReportFormat,
    out: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    match format {
        ReportFormat::Text => report::text::render(report, out, color),
        ReportFormat::Json => report::json::render(report, out),
        ReportFormat::Markdown => report::markdown::render(report, out),
    }
}

pub fn run(
    cfg: &AnalyzeConfig,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<Outcome, Error> {
    let topology = cfg.topology.as_deref().map(Topology::load).transpose()?;
    let gathered = gather(&cfg.captures, Limits::default());
    if gathered.infos.is_empty() {
        // Nothing readable: the first reason is the error.
        return Err(gathered
            .unreadable
            .into_iter()
            .next()
            .map_or_else(|| Error::Usage("no capture given".into()), Error::from));
    }
    let report = conclude(&gathered, topology.as_ref());
    let written = match &cfg.output {
        Some(path) => {
            let file = File::create(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let mut w = BufWriter::new(file);
            render(&report, cfg.format, &mut w, false)
                .and_then(|()| w.flush())
                .map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })
        }
        None => match render(&report, cfg.format, out, cfg.color).and_then(|()| out.flush()) {
            Err(e) if !is_broken_pipe(&e) => Err(Error::Io {
                path: "<stdout>".into(),
                source: e,
            }),
            _ => Ok(()),
        },
    };
    written?;
    for c in &report.captures {
        if let Some(d) = &c.damage {
            let line = terminal_safe(&format!("{}: {d}", c.path));
            let _ = writeln!(warn, "isatap-trace: warning: {line}");
        }
    }
    if let Some(first) = gathered.unreadable.into_iter().next() {
        // The report covers what could be read; the unreadable input still fails the run.
        return Err(first.into());
    }
    Ok(if report.errors() > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

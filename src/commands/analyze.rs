//! `isatap-trace analyze`: read every capture, correlate, diagnose, report.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::{CaptureSpec, ReportFormat};
use crate::error::Error;
use crate::flow::Limits;
use crate::redact::Redactor;
use crate::report::export::{self, ExportPlan};
use crate::report::model::Listing;
use crate::report::sanitize::terminal_safe;
use crate::report::{self, Report};
use crate::topology::Topology;

use super::pipeline::{conclude_with, gather_showing};
use super::progress::Progress;
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
    /// Write the evidence frames to this pcapng file.
    pub export_pcap: Option<PathBuf>,
    /// Replace addresses by pseudonyms in every output.
    pub redact: Option<Redactor>,
    /// Show a progress bar on stderr (it is a terminal) while reading.
    pub progress: bool,
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
        ReportFormat::Html => report::html::render(report, out),
    }
}

pub fn run(
    cfg: &AnalyzeConfig,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<Outcome, Error> {
    if cfg.export_pcap.is_some() && cfg.captures.iter().any(|c| c.path.as_os_str() == "-") {
        return Err(Error::Usage(
            "--export-pcap reads the captures again, so it cannot be used with `-` (stdin)".into(),
        ));
    }
    let topology = cfg.topology.as_deref().map(Topology::load).transpose()?;
    let progress = Arc::new(Progress::new(cfg.progress));
    let mut gathered = gather_showing(&cfg.captures, Limits::default(), &progress);
    if gathered.infos.is_empty() {
        // Nothing readable: the first reason is the error.
        return Err(gathered
            .unreadable
            .into_iter()
            .next()
            .map_or_else(|| Error::Usage("no capture given".into()), Error::from));
    }
    let wants_plan = cfg.export_pcap.is_some();
    let listing = match cfg.format {
        ReportFormat::Text | ReportFormat::Markdown => Listing::Shown,
        ReportFormat::Json | ReportFormat::Html => Listing::Every,
    };
    let (mut report, plan) = conclude_with(
        &mut gathered,
        topology.as_ref(),
        None,
        listing,
        |a, findings| wants_plan.then(|| ExportPlan::build(a, findings)),
    );
    if let Some(r) = &cfg.redact {
        report::redact::redact(&mut report, r);
    }
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
    if let (Some(path), Some(plan)) = (&cfg.export_pcap, &plan) {
        let done = export::write(plan, &gathered.infos, path, cfg.redact.as_ref())?;
        if done.refused > 0 {
            let _ = writeln!(
                warn,
                "isatap-trace: warning: {}: {} evidence frames left out ({})",
                path.display(),
                done.refused,
                done.refusal.as_deref().unwrap_or("cannot be written")
            );
        }
    }
    for c in &report.captures {
        if let Some(d) = &c.damage {
            let line = terminal_safe(&format!("{}: {d}", c.path));
            let _ = writeln!(warn, "isatap-trace: warning: {line}");
        }
    }
    let outcome = if report.errors() > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    let unreadable = std::mem::take(&mut gathered.unreadable);
    // A large analysis is hundreds of thousands of allocations; freeing them
    // one by one would hold up the answer (and the exit that usually follows).
    crate::parallel::drop_aside((gathered, report));
    if let Some(first) = unreadable.into_iter().next() {
        // The report covers what could be read; the unreadable input still fails the run.
        return Err(first.into());
    }
    Ok(outcome)
}

//! The terminal report: the verdict first, then findings with their evidence
//! and fix, the flows with their paths and hops, the topology, assumptions and
//! the capture inventory. Colour only when asked (a terminal without NO_COLOR).
//!
//! Guarantees: no control character, escape sequence or bidirectional
//! override reaches the terminal from the report's text (interface names,
//! labels, paths, notes, fix commands): each such string is made
//! terminal-safe as it is written; only this renderer's own colours remain.

use std::fmt::Write as _;
use std::io::{self, Write};

use colored::{ColoredString, Colorize};

use super::model::{FindingEntry, FlowCounts, FlowEntry, Report};
use super::sanitize::terminal_safe;

fn sev(f: &FindingEntry) -> ColoredString {
    match f.severity {
        "error" => "error".red().bold(),
        "warning" => "warning".yellow().bold(),
        other => other.normal(),
    }
}

/// The one-line verdict.
pub fn verdict_line(r: &Report) -> String {
    let (errors, warnings) = (r.errors(), r.warnings());
    let FlowCounts { total, answered } = r.flow_counts;
    if errors == 0 && warnings == 0 {
        return format!(
            "No problem found: {answered} of {total} flow{} answered.",
            if total == 1 { "" } else { "s" }
        );
    }
    let mut s = format!(
        "{errors} error{}, {warnings} warning{}",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    );
    if let Some(first) = r.findings.first() {
        let _ = write!(s, " — {} on {}", first.kind, terminal_safe(&first.node));
    }
    s
}

/// Writes the text report.
pub fn render(r: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    colored::control::set_override(color);
    let verdict = verdict_line(r);
    let head = if r.errors() > 0 {
        verdict.red().bold()
    } else if r.warnings() > 0 {
        verdict.yellow().bold()
    } else {
        verdict.green().bold()
    };
    writeln!(out, "VERDICT  {head}")?;
    if let Some(first) = r.findings.first() {
        writeln!(out, "         {}", terminal_safe(&first.summary))?;
    }
    if r.redacted {
        writeln!(
            out,
            "         (addresses are pseudonyms, consistent within this run's outputs)"
        )?;
    }
    if !r.findings.is_empty() {
        writeln!(out, "\n{}", "FINDINGS".bold())?;
        for f in &r.findings {
            write_finding(out, f)?;
        }
    }
    writeln!(out, "\n{}", "FLOWS".bold())?;
    if r.flow_counts.total == 0 {
        writeln!(
            out,
            "  (no ping, traceroute or probe was found in the captures)"
        )?;
    }
    let (shown, hidden) = r.flows_to_show();
    for f in shown {
        write_flow(out, f)?;
    }
    if hidden > 0 {
        writeln!(
            out,
            "  … and {hidden} more flow{} (--format json lists every flow)",
            if hidden == 1 { "" } else { "s" }
        )?;
    }
    write_topology(out, r)?;
    if !r.assumptions.is_empty() {
        writeln!(out, "\n{}", "ASSUMPTIONS".bold())?;
        for a in &r.assumptions {
            writeln!(out, "  - {}", terminal_safe(a))?;
        }
    }
    writeln!(out, "\n{}", "CAPTURES".bold())?;
    for c in &r.captures {
        let drops = c
            .kernel_drops
            .map_or_else(String::new, |d| format!(", {d} dropped by the kernel"));
        writeln!(
            out,
            "  {:<10} {}  {}, {} frames, {} decoded, {} malformed{drops}",
            terminal_safe(&c.label),
            terminal_safe(&c.path),
            c.format,
            c.packets,
            c.decoded,
            c.malformed
        )?;
        let names: Vec<String> = c
            .interfaces
            .iter()
            .flatten()
            .map(|n| terminal_safe(n))
            .collect();
        if !names.is_empty() {
            writeln!(out, "             interfaces: {}", names.join(", "))?;
        }
        if let Some(d) = &c.damage {
            writeln!(
                out,
                "             {}: {}",
                "damaged".yellow(),
                terminal_safe(d)
            )?;
        }
    }
    if let Some(note) = r.evictions.note() {
        writeln!(out, "\n{} {note}.", "note:".yellow())?;
    }
    Ok(())
}

/// Writes one finding: kind, node, summary, evidence, fix and flows.
pub fn write_finding(out: &mut dyn Write, f: &FindingEntry) -> io::Result<()> {
    writeln!(
        out,
        "\n  [{}] {}  — fix on {}",
        sev(f),
        f.kind.bold(),
        terminal_safe(&f.node)
    )?;
    writeln!(out, "    {}", terminal_safe(&f.summary))?;
    if !f.evidence.is_empty() {
        writeln!(out, "    evidence:")?;
        for e in &f.evidence {
            writeln!(
                out,
                "      {:<10} frame {:<6} {}",
                terminal_safe(&e.capture),
                e.frame,
                terminal_safe(&e.note)
            )?;
        }
    }
    writeln!(out, "    fix:")?;
    for line in f.fix.lines() {
        writeln!(out, "      {}", terminal_safe(line).cyan())?;
    }
    if !f.flows.is_empty() {
        let ids: Vec<String> = f.flows.iter().map(|i| format!("#{i}")).collect();
        writeln!(out, "    flows: {}", ids.join(", "))?;
    }
    Ok(())
}

fn write_flow(out: &mut dyn Write, f: &FlowEntry) -> io::Result<()> {
    let verdict = match f.verdict {
        "answered" => f.verdict.green(),
        "partial" => f.verdict.yellow(),
        _ => f.verdict.red(),
    };
    let rtt = f.rtt_ms.as_ref().map_or_else(String::new, |r| {
        format!(", rtt {:.1}/{:.1}/{:.1} ms", r.min, r.median, r.max)
    });
    writeln!(
        out,
        "  #{} {} {} {} → {}: {} probes, {} answered{rtt}  {}",
        f.id, f.kind, f.protocol, f.src, f.dst, f.probes, f.answered, verdict
    )?;
    if !f.path.is_empty() {
        let steps: Vec<String> = f
            .path
            .iter()
            .map(|p| {
                let via = match (&p.tunnel, &p.link_dst) {
                    (Some(t), _) => format!(" {} {}→{}", t.kind, t.src, t.dst),
                    (None, Some(dst)) => format!(" to {dst}"),
                    _ => String::new(),
                };
                format!(
                    "{} #{} hlim {}{via}",
                    terminal_safe(&p.capture),
                    p.frame,
                    p.hop_limit
                )
            })
            .collect();
        writeln!(out, "      path: {}", steps.join("  ⇒  "))?;
    }
    for h in &f.hops {
        let rtt = h
            .rtt_ms
            .map_or_else(|| "*".to_owned(), |r| format!("{r:.1} ms"));
        writeln!(
            out,
            "      hop {:>2}  {:<40} {rtt}  ({}/{} answered)",
            h.hop,
            h.address.as_deref().unwrap_or("*"),
            h.answered,
            h.probes
        )?;
    }
    Ok(())
}

fn write_topology(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    let t = &r.topology.topology;
    if t.router.is_none() && t.da_nodes.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n{} ({})", "TOPOLOGY".bold(), r.topology.source)?;
    if let Some(router) = &t.router {
        let mut line = format!(
            "  router  {:<10} ipv4 {}",
            terminal_safe(&router.name),
            router.ipv4
        );
        if let Some(v6) = router.ipv6 {
            let _ = write!(line, "  ipv6 {v6}");
        }
        if let Some(p) = router.isatap_prefix {
            let _ = write!(line, "  isatap prefix {p}");
        }
        writeln!(out, "{line}")?;
    }
    for n in &t.da_nodes {
        let mac = n.mac.map_or_else(String::new, |m| format!("  mac {m}"));
        writeln!(
            out,
            "  da node {:<10} ipv6 {}  clients {}{mac}",
            terminal_safe(&n.name),
            n.ipv6,
            n.client_prefix
        )?;
    }
    Ok(())
}

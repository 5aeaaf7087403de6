//! The Markdown report, ready to paste into a support ticket: verdict,
//! topology table, flows table, findings with evidence and the fix in a code
//! block, capture inventory.
//!
//! Guarantees: every capture-derived string is escaped ([`md`]) so it cannot
//! inject markup, links or table cells.

use std::io::{self, Write};

use super::model::Report;
use super::sanitize::{markdown as md, terminal_safe};
use super::text::verdict_line;

pub fn render(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# isatap-trace report\n")?;
    writeln!(out, "**Verdict:** {}\n", md(&verdict_line(r)))?;
    if r.redacted {
        writeln!(
            out,
            "*Addresses are pseudonyms, consistent within this report and its evidence capture.*\n"
        )?;
    }
    if let Some(first) = r.findings.first() {
        writeln!(out, "> {}\n", md(&first.summary))?;
    }
    write_topology(r, out)?;
    writeln!(out, "## Flows\n")?;
    if r.flow_counts.total == 0 {
        writeln!(
            out,
            "No ping, traceroute or probe was found in the captures.\n"
        )?;
    } else {
        writeln!(
            out,
            "| # | kind | protocol | source | destination | probes | answered | verdict | RTT min/median/max (ms) |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
        let (shown, hidden) = r.flows_to_show();
        for f in &shown {
            let rtt = f.rtt_ms.as_ref().map_or_else(
                || "—".to_owned(),
                |x| format!("{:.1} / {:.1} / {:.1}", x.min, x.median, x.max),
            );
            writeln!(
                out,
                "| {} | {} | {} | `{}` | `{}` | {} | {} | **{}** | {rtt} |",
                f.id, f.kind, f.protocol, f.src, f.dst, f.probes, f.answered, f.verdict
            )?;
        }
        if hidden > 0 {
            writeln!(
                out,
                "\n… and {hidden} more flows (`--format json` lists every flow)."
            )?;
        }
        writeln!(out)?;
        for f in shown
            .iter()
            .filter(|f| f.verdict != "answered" && !f.path.is_empty())
        {
            let steps: Vec<String> = f
                .path
                .iter()
                .map(|p| {
                    let via = match (&p.tunnel, &p.link_dst) {
                        (Some(t), _) => format!(", {} `{}` → `{}`", t.kind, t.src, t.dst),
                        (None, Some(dst)) => format!(", to `{dst}`"),
                        _ => String::new(),
                    };
                    format!(
                        "`{}` frame {} (hop limit {}{via})",
                        md(&p.capture),
                        p.frame,
                        p.hop_limit
                    )
                })
                .collect();
            writeln!(
                out,
                "Where flow #{}'s first request was seen: {}.\n",
                f.id,
                steps.join(" → ")
            )?;
        }
        for f in shown.iter().filter(|f| !f.hops.is_empty()) {
            writeln!(out, "Traceroute #{} to `{}`:\n", f.id, f.dst)?;
            writeln!(out, "| hop | address | RTT (ms) | answered |")?;
            writeln!(out, "|---|---|---|---|")?;
            for h in &f.hops {
                writeln!(
                    out,
                    "| {} | {} | {} | {}/{} |",
                    h.hop,
                    h.address
                        .as_deref()
                        .map_or_else(|| "*".to_owned(), |a| format!("`{a}`")),
                    h.rtt_ms
                        .map_or_else(|| "*".to_owned(), |x| format!("{x:.1}")),
                    h.answered,
                    h.probes
                )?;
            }
            writeln!(out)?;
        }
    }
    writeln!(out, "## Findings\n")?;
    if r.findings.is_empty() {
        writeln!(out, "None.\n")?;
    }
    for (i, f) in r.findings.iter().enumerate() {
        writeln!(
            out,
            "### {}. `{}` ({}) — fix on {}\n",
            i + 1,
            f.kind,
            f.severity,
            md(&f.node)
        )?;
        writeln!(out, "{}\n", md(&f.summary))?;
        if !f.evidence.is_empty() {
            writeln!(out, "Evidence:\n")?;
            for e in &f.evidence {
                writeln!(
                    out,
                    "- `{}` frame {}: {}",
                    md(&e.capture),
                    e.frame,
                    md(&e.note)
                )?;
            }
            writeln!(out)?;
        }
        writeln!(out, "Fix:\n\n```\n{}\n```\n", code_block(&f.fix))?;
    }
    if !r.assumptions.is_empty() {
        writeln!(out, "## Assumptions\n")?;
        for a in &r.assumptions {
            writeln!(out, "- {}", md(a))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "## Captures\n")?;
    writeln!(
        out,
        "| label | file | format | frames | decoded | malformed | truncated | interfaces |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|")?;
    for c in &r.captures {
        let names: Vec<String> = c.interfaces.iter().flatten().map(|n| md(n)).collect();
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&c.label),
            md(&c.path),
            c.format,
            c.packets,
            c.decoded,
            c.malformed,
            if c.truncated { "yes" } else { "no" },
            names.join(", ")
        )?;
    }
    let drops: Vec<String> = r
        .captures
        .iter()
        .filter_map(|c| c.kernel_drops.map(|d| format!("{} {d}", md(&c.label))))
        .collect();
    if !drops.is_empty() {
        writeln!(
            out,
            "\nFrames the kernel dropped while capturing: {}.",
            drops.join(", ")
        )?;
    }
    if let Some(note) = r.evictions.note() {
        writeln!(out, "\nNote: {note}.")?;
    }
    Ok(())
}

/// Text safe inside a fenced code block: no fence, no control characters
/// (line breaks kept).
fn code_block(text: &str) -> String {
    text.lines()
        .map(|l| terminal_safe(l).replace("```", "'''"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn write_topology(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let t = &r.topology.topology;
    writeln!(out, "## Topology ({})\n", r.topology.source)?;
    if t.router.is_none() && t.da_nodes.is_empty() {
        writeln!(out, "Nothing could be inferred.\n")?;
        return Ok(());
    }
    writeln!(out, "| role | name | IPv6 | IPv4 | prefix | MAC |")?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    if let Some(router) = &t.router {
        writeln!(
            out,
            "| ISATAP router | {} | {} | `{}` | {} | {} |",
            md(&router.name),
            router
                .ipv6
                .map_or_else(|| "—".to_owned(), |a| format!("`{a}`")),
            router.ipv4,
            router
                .isatap_prefix
                .map_or_else(|| "—".to_owned(), |p| format!("`{p}` (ISATAP)")),
            router
                .mac
                .map_or_else(|| "—".to_owned(), |m| format!("`{m}`"))
        )?;
    }
    for n in &t.da_nodes {
        writeln!(
            out,
            "| DA node | {} | `{}` | {} | `{}` (clients) | {} |",
            md(&n.name),
            n.ipv6,
            n.ipv4.map_or_else(|| "—".to_owned(), |a| format!("`{a}`")),
            n.client_prefix,
            n.mac.map_or_else(|| "—".to_owned(), |m| format!("`{m}`"))
        )?;
    }
    writeln!(out)
}

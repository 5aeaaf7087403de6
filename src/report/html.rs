//! The HTML report (`--format html`): one self-contained page for a support
//! ticket, readable on screen and on paper. In order: the verdict, a ladder
//! diagram per failing flow, the flows table (with traceroute hops), the
//! findings with their evidence and fix, the topology and assumptions, and
//! the capture inventory.
//!
//! Guarantees: nothing is fetched (inline CSS and SVG, no script, no link to
//! another resource); every string from the report is HTML-escaped, so
//! capture-derived text (interface names, comments, labels) cannot inject
//! markup; the page is valid HTML5 in UTF-8.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::ladder_svg;
use super::model::{FindingEntry, FlowEntry, Report};
use super::sanitize::html as esc;
use super::text::verdict_line;

const STYLE: &str = include_str!("html.css");

/// Most ladder diagrams drawn; the flows table lists every flow.
pub const MAX_LADDERS: usize = 20;

pub fn render(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut s = String::with_capacity(64 * 1024);
    head(&mut s, r);
    verdict(&mut s, r);
    ladders(&mut s, r);
    flows(&mut s, r);
    findings(&mut s, r);
    topology(&mut s, r);
    captures(&mut s, r);
    let _ = write!(
        s,
        "<footer>isatap-trace {} · report schema {}{}</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        esc(r.schema),
        if r.redacted {
            " · addresses are pseudonyms, consistent within this report and its evidence capture"
        } else {
            ""
        }
    );
    out.write_all(s.as_bytes())
}

/// Ids of the flows whose ladder is drawn.
fn drawn(r: &Report) -> Vec<u32> {
    r.flows
        .iter()
        .filter(|f| f.ladder.is_some())
        .take(MAX_LADDERS)
        .map(|f| f.id)
        .collect()
}

fn severity_class(severity: &str) -> &'static str {
    match severity {
        "error" => "error",
        "warning" => "warning",
        _ => "info",
    }
}

fn verdict_class(verdict: &str) -> &'static str {
    match verdict {
        "answered" => "answered",
        "partial" => "partial",
        "unanswered" => "unanswered",
        _ => "error",
    }
}

fn head(s: &mut String, r: &Report) {
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>isatap-trace: {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>isatap-trace report{}</h1>",
        esc(&verdict_line(r)),
        if r.redacted {
            "<span class=\"redacted\">redacted</span>"
        } else {
            ""
        }
    );
    let labels: Vec<String> = r.captures.iter().map(|c| esc(&c.label)).collect();
    let _ = writeln!(
        s,
        "<p class=\"meta\">{} capture{} ({}) · {} flow{} · topology {}</p></header>",
        r.captures.len(),
        if r.captures.len() == 1 { "" } else { "s" },
        labels.join(", "),
        r.flow_counts.total,
        if r.flow_counts.total == 1 { "" } else { "s" },
        if r.topology.source == "file" {
            "from file"
        } else {
            "inferred from the captures"
        }
    );
}

fn verdict(s: &mut String, r: &Report) {
    let class = if r.errors() > 0 {
        "error"
    } else if r.warnings() > 0 {
        "warning"
    } else {
        "ok"
    };
    let _ = write!(
        s,
        "<section class=\"verdict {class}\" id=\"verdict\">\n<p class=\"headline\">{}</p>\n",
        esc(&verdict_line(r))
    );
    if let Some(first) = r.findings.first() {
        let _ = writeln!(s, "<p>{}</p>", esc(&first.summary));
    }
    if !r.findings.is_empty() {
        s.push_str("<ul>\n");
        for (i, f) in r.findings.iter().enumerate() {
            let _ = writeln!(
                s,
                "<li><span class=\"badge {}\">{}</span> <a href=\"#finding-{}\"><code>{}</code></a> — fix on {}</li>",
                severity_class(f.severity),
                esc(f.severity),
                i + 1,
                esc(f.kind),
                esc(&f.node)
            );
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</section>\n");
}

fn ladders(s: &mut String, r: &Report) {
    let failing: Vec<&FlowEntry> = r.flows.iter().filter(|f| f.ladder.is_some()).collect();
    if failing.is_empty() {
        return;
    }
    s.push_str("<section id=\"ladders\">\n<h2>Where the packets went</h2>\n");
    s.push_str(
        "<p class=\"note\">One probe of each failing flow, followed across the capture points \
         (columns, in path order). Rows follow the hop limit, not the clocks, which differ \
         between captures; each row names the capture and frame to check it in.</p>\n\
         <div class=\"legend\"><span><i class=\"request\"></i>request</span>\
         <span><i class=\"error\"></i>ICMP error</span><span><i class=\"reply\"></i>reply</span>\
         <span><i class=\"dropped\"></i>reply the prober drops</span>\
         <span><b class=\"stop\">✕</b> not seen beyond this point</span></div>\n",
    );
    for f in failing.iter().take(MAX_LADDERS) {
        let Some(ladder) = &f.ladder else {
            continue;
        };
        let title = format!(
            "Flow #{}: {} {} → {}, {}",
            f.id, f.protocol, f.src, f.dst, f.verdict
        );
        let target = ladder
            .columns
            .last()
            .and_then(|c| c.name.as_deref())
            .map_or_else(String::new, |n| format!(" ({})", esc(n)));
        let _ = write!(
            s,
            "<figure class=\"ladder\" id=\"ladder-{id}\">\n<figcaption><b>Flow #{id}</b> · {} {} · \
             <span class=\"mono\">{}</span> → <span class=\"mono\">{}</span>{target} · {} of {} answered \
             <span class=\"badge {}\">{}</span><br><span class=\"note\">Following: {}</span></figcaption>\n",
            esc(f.kind),
            esc(f.protocol),
            esc(&f.src),
            esc(&f.dst),
            f.answered,
            f.probes,
            verdict_class(f.verdict),
            esc(f.verdict),
            esc(&ladder.probe),
            id = f.id,
        );
        ladder_svg::render(s, ladder, &format!("ladder{}", f.id), &title);
        s.push_str("\n</figure>\n");
    }
    if failing.len() > MAX_LADDERS {
        let _ = writeln!(
            s,
            "<p class=\"note\">{} more failing flows are not drawn; the flows table lists them.</p>",
            failing.len() - MAX_LADDERS
        );
    }
    s.push_str("</section>\n");
}

fn flows(s: &mut String, r: &Report) {
    s.push_str("<section id=\"flows\">\n<h2>Flows</h2>\n");
    if r.flows.is_empty() {
        s.push_str("<p>No ping, traceroute or probe was found in the captures.</p>\n</section>\n");
        return;
    }
    s.push_str(
        "<table>\n<thead><tr><th>#</th><th>kind</th><th>protocol</th><th>source</th><th>destination</th>\
         <th>probes</th><th>answered</th><th>verdict</th><th>RTT min / median / max (ms)</th><th>seen at</th></tr></thead>\n<tbody>\n",
    );
    let drawn = drawn(r);
    for f in &r.flows {
        let rtt = f.rtt_ms.as_ref().map_or_else(
            || "—".to_owned(),
            |x| format!("{:.1} / {:.1} / {:.1}", x.min, x.median, x.max),
        );
        let mut seen: Vec<&str> = Vec::new();
        for p in &f.path {
            if seen.last() != Some(&p.capture.as_str()) {
                seen.push(&p.capture);
            }
        }
        let seen: Vec<String> = seen.iter().map(|l| esc(l)).collect();
        let id = if drawn.contains(&f.id) {
            format!("<a href=\"#ladder-{0}\">{0}</a>", f.id)
        } else {
            f.id.to_string()
        };
        let _ = writeln!(
            s,
            "<tr><td class=\"num\">{id}</td><td>{}</td><td>{}</td><td class=\"addr\">{}</td><td class=\"addr\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td><span class=\"badge {}\">{}</span></td><td class=\"num\">{rtt}</td><td>{}</td></tr>",
            esc(f.kind),
            esc(f.protocol),
            esc(&f.src),
            esc(&f.dst),
            f.probes,
            f.answered,
            verdict_class(f.verdict),
            esc(f.verdict),
            seen.join(" → ")
        );
    }
    s.push_str("</tbody>\n</table>\n");
    for f in r.flows.iter().filter(|f| !f.hops.is_empty()) {
        let _ = writeln!(
            s,
            "<h3>Traceroute #{} to <span class=\"mono\">{}</span></h3>\n<table>\n<thead><tr><th>hop</th><th>address</th>\
             <th>RTT (ms)</th><th>answered</th></tr></thead>\n<tbody>",
            f.id,
            esc(&f.dst)
        );
        for h in &f.hops {
            let _ = writeln!(
                s,
                "<tr><td class=\"num\">{}</td><td class=\"addr\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}/{}</td></tr>",
                h.hop,
                esc(h.address.as_deref().unwrap_or("*")),
                h.rtt_ms
                    .map_or_else(|| "*".to_owned(), |x| format!("{x:.1}")),
                h.answered,
                h.probes
            );
        }
        s.push_str("</tbody>\n</table>\n");
    }
    s.push_str("</section>\n");
}

fn finding(s: &mut String, i: usize, f: &FindingEntry, drawn: &[u32]) {
    let _ = write!(
        s,
        "<article class=\"finding {cls}\" id=\"finding-{n}\">\n<h3>{n}. <code>{}</code> \
         <span class=\"badge {cls}\">{}</span> — fix on {}</h3>\n<p>{}</p>\n",
        esc(f.kind),
        esc(f.severity),
        esc(&f.node),
        esc(&f.summary),
        cls = severity_class(f.severity),
        n = i + 1,
    );
    if !f.evidence.is_empty() {
        s.push_str(
            "<table>\n<thead><tr><th>capture</th><th>frame</th><th>evidence</th></tr></thead>\n<tbody>\n",
        );
        for e in &f.evidence {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(&e.capture),
                e.frame,
                esc(&e.note)
            );
        }
        s.push_str("</tbody>\n</table>\n");
    }
    let _ = writeln!(
        s,
        "<p><b>Fix</b></p>\n<pre class=\"fix\">{}</pre>",
        esc_multiline(&f.fix)
    );
    if !f.flows.is_empty() {
        let ids: Vec<String> = f
            .flows
            .iter()
            .map(|id| {
                if drawn.contains(id) {
                    format!("<a href=\"#ladder-{id}\">#{id}</a>")
                } else {
                    format!("#{id}")
                }
            })
            .collect();
        let _ = writeln!(s, "<p class=\"note\">Flows: {}</p>", ids.join(", "));
    }
    s.push_str("</article>\n");
}

/// "2026-11-26 09:14:00.000000 – 09:14:05.001550" from two ISO 8601 times.
fn time_span(first: Option<&str>, last: Option<&str>) -> String {
    let readable = |t: &str| t.trim_end_matches('Z').replacen('T', " ", 1);
    match (first, last) {
        (Some(f), Some(l)) if f.get(..10) == l.get(..10) => {
            format!(
                "{} – {}",
                readable(f),
                l.get(11..).unwrap_or(l).trim_end_matches('Z')
            )
        }
        (Some(f), Some(l)) => format!("{} – {}", readable(f), readable(l)),
        (Some(f), None) => readable(f),
        _ => "—".to_owned(),
    }
}

/// Escapes each line, keeping the line breaks.
fn esc_multiline(text: &str) -> String {
    text.lines().map(esc).collect::<Vec<_>>().join("\n")
}

fn findings(s: &mut String, r: &Report) {
    s.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    if r.findings.is_empty() {
        s.push_str("<p>None: every flow was answered and the captures show no fault.</p>\n");
    }
    let drawn = drawn(r);
    for (i, f) in r.findings.iter().enumerate() {
        finding(s, i, f, &drawn);
    }
    s.push_str("</section>\n");
}

fn topology(s: &mut String, r: &Report) {
    let t = &r.topology.topology;
    let _ = writeln!(
        s,
        "<section id=\"topology\">\n<h2>Topology ({})</h2>",
        esc(r.topology.source)
    );
    if t.router.is_none() && t.da_nodes.is_empty() {
        s.push_str("<p>Nothing could be inferred.</p>\n");
    } else {
        s.push_str(
            "<table>\n<thead><tr><th>role</th><th>name</th><th>IPv6</th><th>IPv4</th><th>prefix</th><th>MAC</th></tr></thead>\n<tbody>\n",
        );
        let dash = || "—".to_owned();
        if let Some(router) = &t.router {
            let _ = writeln!(
                s,
                "<tr><td>ISATAP router</td><td>{}</td><td class=\"addr\">{}</td><td class=\"addr\">{}</td><td class=\"addr\">{}</td><td class=\"addr\">{}</td></tr>",
                esc(&router.name),
                router.ipv6.map_or_else(dash, |a| a.to_string()),
                router.ipv4,
                router
                    .isatap_prefix
                    .map_or_else(dash, |p| format!("{p} (ISATAP)")),
                router.mac.map_or_else(dash, |m| m.to_string()),
            );
        }
        for n in &t.da_nodes {
            let _ = writeln!(
                s,
                "<tr><td>DA node</td><td>{}</td><td class=\"addr\">{}</td><td class=\"addr\">{}</td><td class=\"addr\">{} (clients)</td><td class=\"addr\">{}</td></tr>",
                esc(&n.name),
                n.ipv6,
                n.ipv4.map_or_else(dash, |a| a.to_string()),
                n.client_prefix,
                n.mac.map_or_else(dash, |m| m.to_string()),
            );
        }
        s.push_str("</tbody>\n</table>\n");
    }
    if !r.assumptions.is_empty() {
        s.push_str("<h3>Assumptions</h3>\n<ul>\n");
        for a in &r.assumptions {
            let _ = writeln!(s, "<li>{}</li>", esc(a));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</section>\n");
}

fn captures(s: &mut String, r: &Report) {
    s.push_str(
        "<section id=\"captures\">\n<h2>Captures</h2>\n<table>\n<thead><tr><th>label</th><th>file</th><th>format</th>\
         <th>link types</th><th>frames</th><th>decoded</th><th>malformed</th><th>truncated</th><th>interfaces</th>\
         <th>seen (UTC)</th></tr></thead>\n<tbody>\n",
    );
    for c in &r.captures {
        let names: Vec<String> = c.interfaces.iter().flatten().map(|n| esc(n)).collect();
        let links: Vec<String> = c.link_types.iter().map(u32::to_string).collect();
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"addr\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"when\">{}</td></tr>",
            esc(&c.label),
            esc(&c.path),
            esc(&c.format),
            links.join(", "),
            c.packets,
            c.decoded,
            c.malformed,
            if c.truncated { "yes" } else { "no" },
            names.join(", "),
            esc(&time_span(c.first_seen.as_deref(), c.last_seen.as_deref())),
        );
        if let Some(d) = &c.damage {
            let _ = writeln!(
                s,
                "<tr><td></td><td colspan=\"9\"><b>damaged:</b> {}</td></tr>",
                esc(d)
            );
        }
        if let Some(drops) = c.kernel_drops.filter(|d| *d > 0) {
            let _ = writeln!(
                s,
                "<tr><td></td><td colspan=\"9\">{drops} packets dropped by the kernel while capturing</td></tr>"
            );
        }
    }
    s.push_str("</tbody>\n</table>\n");
    if let Some(note) = r.evictions.note() {
        let _ = writeln!(s, "<p class=\"note\">Note: {}.</p>", esc(&note));
    }
    s.push_str("</section>\n");
}

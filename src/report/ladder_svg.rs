//! The ladder diagram of a failing flow as inline SVG: one lifeline per
//! vantage point, one row per sighting in travel order, an arrow from where
//! the packet was before, a red cross where it went no further, and beside
//! each row the capture, frame, time, hop limit and tunnel it was seen with.
//!
//! Guarantees: self-contained (no external reference, no script, no font
//! download); every string drawn is HTML-escaped; element ids are unique per
//! diagram (`id_prefix`), so several diagrams can share one page; the layout
//! depends only on the ladder, so the same report draws the same picture.

use std::fmt::Write;

use super::ladder::{Ladder, LadderColumn, LadderEvent};
use super::sanitize::html as esc;

const COL_W: usize = 116;
const PAD_X: usize = 16;
const TOP: usize = 8;
const HEAD_H: usize = 50;
const NOTE_W: usize = 540;
const LINE_H: usize = 15;
/// Characters per annotation line (about NOTE_W at 11.5px).
const WRAP: usize = 80;

const REQUEST: &str = "#1d4ed8";
const REPLY: &str = "#15803d";
const ERROR: &str = "#c2410c";
const STOP: &str = "#b91c1c";

fn x_of(column: usize) -> usize {
    PAD_X + COL_W * column + COL_W / 2
}

fn color(e: &LadderEvent) -> &'static str {
    match e.kind {
        "request" => REQUEST,
        "error" => ERROR,
        _ if e.dropped => STOP,
        _ => REPLY,
    }
}

/// Words of `s` in lines of at most `width` characters (a longer word,
/// such as an address, gets a line of its own rather than being split).
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The time of day of an ISO 8601 time (`HH:MM:SS.ffffff`).
fn time_of_day(iso: &str) -> &str {
    iso.get(11..26).unwrap_or(iso)
}

/// The annotation of one row: headline, details, and why it stopped.
fn annotation(e: &LadderEvent) -> (String, Vec<String>, Vec<String>) {
    let head = format!("{} frame {} · {}", e.capture, e.frame, time_of_day(&e.time));
    let mut detail = format!("{} · hop limit {}", e.what, e.hop_limit);
    if let Some(t) = &e.tunnel {
        let _ = write!(detail, " · {} {} → {}", t.kind, t.src, t.dst);
    }
    match (&e.next_hop, &e.link_dst) {
        (Some(node), Some(mac)) => {
            let _ = write!(detail, " · to {node} ({mac})");
        }
        (Some(node), None) => {
            let _ = write!(detail, " · to {node}");
        }
        _ => {}
    }
    if e.dropped && e.stop.is_none() {
        detail.push_str(" · the prober will drop it");
    }
    let stop = e
        .stop
        .as_deref()
        .map(|s| wrap(&format!("✕ {s}"), WRAP))
        .unwrap_or_default();
    (head, wrap(&detail, WRAP), stop)
}

fn header(out: &mut String, i: usize, c: &LadderColumn) {
    let x = x_of(i);
    let (fill, stroke, dash) = match c.role {
        "station" => ("#eef2ff", "#6366f1", ""),
        "router" => ("#ecfeff", "#0891b2", ""),
        "da-node" => ("#f0fdf4", "#16a34a", ""),
        "target" => ("#ffffff", "#6b7280", " stroke-dasharray=\"4 3\""),
        _ => ("#f6f8fa", "#6b7280", ""),
    };
    let (title, subtitle) = match c.role {
        "target" => (
            if c.name.is_some() {
                "DA client"
            } else {
                "target"
            }
            .to_owned(),
            if c.captured {
                "captured".to_owned()
            } else {
                "not captured".to_owned()
            },
        ),
        "station" => (c.label.clone(), "station (prober)".to_owned()),
        "router" => (
            c.label.clone(),
            c.name.clone().unwrap_or_else(|| "ISATAP router".to_owned()),
        ),
        "da-node" => (
            c.label.clone(),
            format!("DA node {}", c.name.as_deref().unwrap_or("")),
        ),
        _ => (c.label.clone(), "capture".to_owned()),
    };
    let short = |s: &str, n: usize| {
        if s.chars().count() > n {
            let mut t: String = s.chars().take(n - 1).collect();
            t.push('…');
            t
        } else {
            s.to_owned()
        }
    };
    let _ = write!(
        out,
        "<rect x=\"{}\" y=\"{TOP}\" width=\"{}\" height=\"{}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"{dash}/>\
         <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"700\">{}</text>\
         <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10.5\" fill=\"#57606a\">{}</text>",
        x - COL_W / 2 + 6,
        COL_W - 12,
        HEAD_H - 12,
        TOP + 17,
        esc(&short(&title, 15)),
        TOP + 32,
        esc(&short(&subtitle, 19)),
    );
}

fn marker(out: &mut String, id: &str, fill: &str) {
    let _ = write!(
        out,
        "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"{fill}\"/></marker>"
    );
}

fn cross(out: &mut String, x: f64, y: f64) {
    let _ = write!(
        out,
        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"8.5\" fill=\"#fee2e2\" stroke=\"{STOP}\" stroke-width=\"1\"/>\
         <path d=\"M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}\" stroke=\"{STOP}\" stroke-width=\"2.5\" stroke-linecap=\"round\"/>",
        x - 4.0,
        y - 4.0,
        x + 4.0,
        y + 4.0,
        x - 4.0,
        y + 4.0,
        x + 4.0,
        y - 4.0
    );
}

/// Runs of one kind longer than this are drawn in part.
const LONG_RUN: usize = 10;

/// A row of the diagram: an event, or the elided middle of a long run
/// (first and last elided event).
enum Shown {
    Event(usize),
    Gap(usize, usize),
}

/// The rows drawn: a run of more than [`LONG_RUN`] sightings of one kind (a
/// routing loop) keeps its first five and last three; the ladder in the
/// report keeps them all.
fn shown(events: &[LadderEvent]) -> Vec<Shown> {
    let mut rows = Vec::with_capacity(events.len());
    let mut start = 0;
    while start < events.len() {
        let kind = events[start].kind;
        let len = events[start..]
            .iter()
            .take_while(|e| e.kind == kind)
            .count();
        if len > LONG_RUN {
            rows.extend((start..start + 5).map(Shown::Event));
            rows.push(Shown::Gap(start + 5, start + len - 4));
            rows.extend((start + len - 3..start + len).map(Shown::Event));
        } else {
            rows.extend((start..start + len).map(Shown::Event));
        }
        start += len;
    }
    rows
}

/// Writes the SVG of `ladder`; `id_prefix` makes its element ids unique.
pub fn render(out: &mut String, ladder: &Ladder, id_prefix: &str, title: &str) {
    let columns = ladder.columns.len().max(1);
    let notes_x = PAD_X + COL_W * columns + 14;
    let width = notes_x + NOTE_W;
    let first_row = TOP + HEAD_H + 14;
    // Row geometry first: each row is as tall as its annotation.
    let shown = shown(&ladder.events);
    let mut rows = Vec::with_capacity(shown.len());
    let mut y = first_row;
    for row in &shown {
        match *row {
            Shown::Event(i) => {
                let (head, detail, stop) = annotation(&ladder.events[i]);
                let lines = 1 + detail.len() + stop.len();
                rows.push((y, head, detail, stop));
                y += lines * LINE_H + 11;
            }
            Shown::Gap(first, last) => {
                let (a, b) = (&ladder.events[first], &ladder.events[last]);
                let head = format!(
                    "⋮ {} more sightings of the {}, hop limit {} to {} (listed in the JSON report)",
                    last - first + 1,
                    a.kind,
                    a.hop_limit,
                    b.hop_limit
                );
                rows.push((y, head, Vec::new(), Vec::new()));
                y += LINE_H + 13;
            }
        }
    }
    let bottom = y + 6;
    let height = bottom + 22;
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-labelledby=\"{id_prefix}-title\" font-family=\"DejaVu Sans, Segoe UI, Helvetica, Arial, sans-serif\">\
         <title id=\"{id_prefix}-title\">{}</title><defs>",
        esc(title)
    );
    for (name, fill) in [
        ("request", REQUEST),
        ("reply", REPLY),
        ("error", ERROR),
        ("dropped", STOP),
    ] {
        marker(out, &format!("{id_prefix}-{name}"), fill);
    }
    out.push_str("</defs>");
    let _ = write!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
    );
    // Lifelines and headers.
    for (i, c) in ladder.columns.iter().enumerate() {
        let x = x_of(i);
        let (stroke, dash) = if c.captured {
            ("#8c959f", "5 4")
        } else {
            ("#c9d1d9", "2 5")
        };
        let _ = write!(
            out,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{bottom}\" stroke=\"{stroke}\" stroke-width=\"1.5\" stroke-dasharray=\"{dash}\"/>",
            TOP + HEAD_H - 4
        );
        header(out, i, c);
        if c.captured && !ladder.events.iter().any(|e| e.column == i) {
            let _ = write!(
                out,
                "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10.5\" font-style=\"italic\" fill=\"#57606a\">not seen here</text>",
                bottom + 14
            );
        }
    }
    // Rows.
    let mut previous_dot: Option<(usize, f64)> = None;
    let mut previous_kind = "";
    for (row, (row_y, head, detail, stop)) in shown.iter().zip(&rows) {
        let e = match *row {
            Shown::Event(i) => &ladder.events[i],
            Shown::Gap(_, last) => {
                // A dotted stretch of lifeline where the elided sightings were.
                let e = &ladder.events[last];
                let x = x_of(e.column);
                let _ = write!(
                    out,
                    "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\" stroke-dasharray=\"1 5\" stroke-linecap=\"round\"/>\
                     <text x=\"{notes_x}\" y=\"{}\" font-size=\"11.5\" font-style=\"italic\" fill=\"#57606a\">{}</text>",
                    row_y - 4,
                    row_y + 16,
                    color(e),
                    row_y + 10,
                    esc(head)
                );
                previous_dot = Some((e.column, *row_y as f64 + 16.0));
                previous_kind = e.kind;
                continue;
            }
        };
        let x = x_of(e.column) as f64;
        let dot_y = *row_y as f64 + 6.0;
        let color = color(e);
        let marker_id = match (e.kind, e.dropped) {
            ("request", _) => "request",
            ("error", _) => "error",
            (_, true) => "dropped",
            _ => "reply",
        };
        // Guide from the dot to its annotation.
        let _ = write!(
            out,
            "<line x1=\"{:.1}\" y1=\"{dot_y:.1}\" x2=\"{}\" y2=\"{dot_y:.1}\" stroke=\"#e5e7eb\" stroke-width=\"1\" stroke-dasharray=\"1 3\"/>",
            x + 9.0,
            notes_x - 6
        );
        if let Some(from) = e.from_column {
            let fx = x_of(from) as f64;
            // From the previous dot of the same packet, else from its sender's lifeline.
            let fy = match previous_dot {
                Some((column, y)) if column == from && previous_kind == e.kind => y,
                _ => dot_y - 16.0,
            };
            let (dx, dy) = (x - fx, dot_y - fy);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let (ex, ey) = (x - dx / len * 7.0, dot_y - dy / len * 7.0);
            let dash = if e.dropped {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            let _ = write!(
                out,
                "<line x1=\"{fx:.1}\" y1=\"{fy:.1}\" x2=\"{ex:.1}\" y2=\"{ey:.1}\" stroke=\"{color}\" stroke-width=\"2.2\"{dash} marker-end=\"url(#{id_prefix}-{marker_id})\"/>"
            );
        }
        let _ = write!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{dot_y:.1}\" r=\"5.5\" fill=\"{color}\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>"
        );
        if e.stop.is_some() {
            // The mark goes on the far side from where the packet came from;
            // otherwise requests travel right and answers back left.
            let direction = match e.from_column {
                Some(from) if from < e.column => 1.0,
                Some(from) if from > e.column => -1.0,
                _ if e.kind == "request" => 1.0,
                _ => -1.0,
            };
            let cx = x + 24.0 * direction;
            let _ = write!(
                out,
                "<line x1=\"{x:.1}\" y1=\"{dot_y:.1}\" x2=\"{cx:.1}\" y2=\"{dot_y:.1}\" stroke=\"{STOP}\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"/>"
            );
            cross(out, cx, dot_y);
        }
        // Annotation.
        let ty = row_y + 10;
        let _ = write!(
            out,
            "<text x=\"{notes_x}\" y=\"{ty}\" font-size=\"12\"><tspan font-weight=\"700\" fill=\"{color}\">{}</tspan> <tspan fill=\"#1f2328\">{}</tspan></text>",
            esc(if e.dropped && e.kind == "reply" {
                "reply (dropped)"
            } else {
                e.kind
            }),
            esc(head)
        );
        let mut line_y = ty;
        for line in detail {
            line_y += LINE_H;
            let _ = write!(
                out,
                "<text x=\"{notes_x}\" y=\"{line_y}\" font-size=\"11.5\" fill=\"#3d444d\">{}</text>",
                esc(line)
            );
        }
        for line in stop {
            line_y += LINE_H;
            let _ = write!(
                out,
                "<text x=\"{notes_x}\" y=\"{line_y}\" font-size=\"11.5\" font-weight=\"700\" fill=\"{STOP}\">{}</text>",
                esc(line)
            );
        }
        previous_dot = Some((e.column, dot_y));
        previous_kind = e.kind;
    }
    out.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_on_spaces_only() {
        assert_eq!(wrap("a bb ccc", 4), ["a bb", "ccc"]);
        let addr = "fd9c:30c:2da4:1000:2c4e:91b3:8a7d:11f5";
        assert_eq!(wrap(&format!("to {addr} now"), 10), ["to", addr, "now"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn escapes_capture_text() {
        let ladder = Ladder {
            probe: "p".into(),
            columns: vec![LadderColumn {
                label: "<script>".into(),
                role: "station",
                name: None,
                captured: true,
            }],
            events: vec![LadderEvent {
                kind: "request",
                column: 0,
                from_column: None,
                capture: "a&b".into(),
                frame: 1,
                time: "2026-01-01T00:00:00.000000Z".into(),
                hop_limit: 1,
                src: "::1".into(),
                dst: "::2".into(),
                tunnel: None,
                link_dst: None,
                next_hop: None,
                what: "x\"y".into(),
                dropped: false,
                stop: Some("<b>".into()),
            }],
        };
        let mut s = String::new();
        render(&mut s, &ladder, "t", "title<");
        assert!(!s.contains("<script>") && !s.contains("<b>") && !s.contains("a&b"));
        assert!(s.contains("&lt;script&gt;") && s.contains("a&amp;b"));
    }
}

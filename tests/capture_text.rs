//! Capture-derived text cannot inject: a capture whose interface names and
//! packet comments hold markup, Markdown table syntax and terminal escape
//! sequences is reported without them taking effect — escaped in HTML and
//! Markdown, stripped of control characters on the terminal (text report and
//! `decode`), escaped in JSON — including where the inferred topology puts an
//! interface name into a fix command.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{capture_args, isatap_trace, run_for, work_dir};
use isatap_trace::capture::file::CaptureFile;
use isatap_trace::capture::pcapng_writer::PcapngWriter;

const HOSTILE: &str = "VLAN<script>alert(1)</script>\u{1b}[31m|`**[x](http://e)\u{7}\u{202e}";

/// A copy of `from` with every interface renamed and every packet commented.
fn hostile_copy(from: &Path, to: &Path) {
    let mut file = CaptureFile::open(from).unwrap();
    let mut frames = Vec::new();
    let summary = file.for_each_frame(|f| {
        frames.push((f.interface, f.ts_ns, f.orig_len, f.bytes.to_vec()));
    });
    let out = std::fs::File::create(to).unwrap();
    let mut w = PcapngWriter::new(out, "test").unwrap();
    for (i, iface) in summary.interfaces.iter().enumerate() {
        w.add_interface(iface.link_type, Some(&format!("{HOSTILE}{i}")))
            .unwrap();
    }
    for (interface, ts, len, bytes) in frames {
        w.write_packet(interface, ts, len, &bytes, Some(HOSTILE))
            .unwrap();
    }
    w.into_inner().unwrap();
}

#[test]
fn hostile_interface_names_and_comments_are_neutralised() {
    let dir = work_dir("capture-text");
    let mut captures = Vec::new();
    for path in capture_args("wrong-next-hop") {
        let path = Path::new(&path);
        let copy = dir.join(path.file_name().unwrap());
        hostile_copy(path, &copy);
        captures.push(copy);
    }
    let run = |args: &[&str]| {
        let mut cmd = isatap_trace();
        cmd.args(args).args(&captures);
        run_for(&mut cmd, Duration::from_secs(120))
    };
    for format in ["text", "markdown", "html", "json"] {
        let out = run(&["analyze", "--format", format]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("alert(1)"),
            "{format}: the interface name is not shown at all"
        );
        // JSON carries the text as data: its escaping covers the C0 controls.
        let controls: &[char] = if format == "json" {
            &['\u{1b}', '\u{7}']
        } else {
            &['\u{1b}', '\u{7}', '\u{202e}']
        };
        for c in controls {
            assert!(
                !text.contains(*c),
                "{format}: control character {c:?} passed"
            );
        }
        match format {
            "html" => {
                assert!(!text.contains("<script"), "html: markup passed");
                assert!(text.contains("&lt;script&gt;"));
            }
            "markdown" => {
                // Fenced code blocks show their content literally; outside
                // them no markup, link or table cell may come through.
                let prose: String = text.split("```").step_by(2).collect::<Vec<_>>().join("");
                let escaped = |needle: &str| {
                    prose
                        .match_indices(needle)
                        .all(|(i, _)| prose[..i].ends_with('\\'))
                };
                assert!(escaped("<script"), "markdown: markup passed");
                assert!(escaped("](http"), "markdown: a link passed");
                assert!(escaped("|`"), "markdown: a table cell passed");
            }
            "json" => {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                let names = v["captures"][0]["interfaces"][0].as_str().unwrap();
                assert!(
                    names.starts_with("VLAN<script>"),
                    "json keeps the text, escaped"
                );
            }
            _ => {}
        }
    }
    let out = run_for(
        isatap_trace().arg("decode").arg(&captures[0]),
        Duration::from_secs(60),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("alert(1)"), "decode shows the comment");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
}

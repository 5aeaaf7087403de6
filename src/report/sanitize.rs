//! Making capture-derived text safe to show: no control characters or escape
//! sequences reach a terminal, and strings are escaped for JSON, HTML and
//! Markdown. Everything read from a capture (comments, interface names) goes
//! through here before it is printed.

use std::fmt::Write;

/// True for characters that could move the cursor, recolour or reorder text.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `raw` (lossily decoded) with unsafe characters replaced by `?`.
pub fn push_terminal_safe(out: &mut String, raw: &[u8]) {
    for c in String::from_utf8_lossy(raw).chars() {
        out.push(if is_unsafe(c) { '?' } else { c });
    }
}

/// `raw` as a terminal-safe owned string.
pub fn terminal_safe(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    push_terminal_safe(&mut out, raw.as_bytes());
    out
}

/// Appends `s` as a quoted JSON string.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` escaped for HTML text and attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_unsafe(c) => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// `s` safe inside Markdown text and table cells: markup characters escaped,
/// line breaks and control characters removed.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            c if is_unsafe(c) => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_are_removed() {
        let mut s = String::new();
        push_terminal_safe(&mut s, b"ok\x1b[31mred\x07\xc2\x9b2J\xe2\x80\xaeevil");
        assert_eq!(s, "ok?[31mred??2J?evil");
    }

    #[test]
    fn json_html_markdown() {
        let mut s = String::new();
        push_json_string(&mut s, "a\"b\\c\nd\x01");
        assert_eq!(s, r#""a\"b\\c\nd\u0001""#);
        assert_eq!(html("<script>&'\""), "&lt;script&gt;&amp;&#39;&quot;");
        assert_eq!(markdown("a|b <x> [l](u)\n"), r"a\|b \<x\> \[l\](u) ");
    }
}

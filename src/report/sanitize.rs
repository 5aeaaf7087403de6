//! Making capture-derived text safe to show: no control characters or escape
//! sequences reach a terminal, and strings are escaped for JSON, HTML and
//! Markdown. Everything read from a capture (comments, interface names) goes
//! through here before it is printed.

use std::borrow::Cow;
use std::fmt::Write;

/// True for characters that could move the cursor, recolour or reorder text.
pub fn is_terminal_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `raw` (lossily decoded) with unsafe characters replaced by `?`.
pub fn push_terminal_safe(out: &mut String, raw: &[u8]) {
    for c in String::from_utf8_lossy(raw).chars() {
        out.push(if is_terminal_unsafe(c) { '?' } else { c });
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
            c if is_terminal_unsafe(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// JSON text from a serializer (which escapes C0 controls in strings) with
/// the characters it leaves raw but [`push_json_string`] escapes (DEL, C1
/// controls, bidirectional overrides) written as `\uXXXX`. Those can only be
/// inside strings, so the JSON means the same; its own whitespace stays.
pub fn json_terminal_safe(json: &str) -> Cow<'_, str> {
    let escaped = |c: char| c >= '\u{7f}' && is_terminal_unsafe(c);
    if !json.chars().any(escaped) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escaped(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
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
            c if is_terminal_unsafe(c) => out.push('?'),
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
            c if is_terminal_unsafe(c) => out.push(' '),
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
        s.clear();
        push_json_string(&mut s, "\u{9b}2J\u{202e}x\u{7f}");
        assert_eq!(s, r#""\u009b2J\u202ex\u007f""#);
        assert_eq!(
            json_terminal_safe("{\n  \"a\": \"\u{85}\u{2066}é\"\n}"),
            "{\n  \"a\": \"\\u0085\\u2066é\"\n}"
        );
        assert_eq!(html("<script>&'\""), "&lt;script&gt;&amp;&#39;&quot;");
        assert_eq!(markdown("a|b <x> [l](u)\n"), r"a\|b \<x\> \[l\](u) ");
    }
}

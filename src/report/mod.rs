//! Renderers: per-frame lines for `decode`, and the text, JSON, Markdown and
//! HTML forms of one analysis report.

pub mod frame_line;
pub mod names;
pub mod sanitize;
pub mod time;

//! Renderers: per-frame lines for `decode`, and the text, JSON, Markdown and
//! HTML forms of one analysis [`model::Report`]; its redaction
//! ([`redact`]) and the evidence capture ([`export`]).

pub mod export;
pub mod frame_line;
pub mod html;
pub mod json;
pub mod ladder;
pub mod ladder_svg;
pub mod markdown;
pub mod model;
pub mod names;
pub mod redact;
pub mod sanitize;
pub mod text;
pub mod time;

pub use model::Report;

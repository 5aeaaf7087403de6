//! Renderers: per-frame lines for `decode`, and the text, JSON and Markdown
//! forms of one analysis [`model::Report`].

pub mod frame_line;
pub mod json;
pub mod markdown;
pub mod model;
pub mod names;
pub mod sanitize;
pub mod text;
pub mod time;

pub use model::Report;

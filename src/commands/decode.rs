//! `isatap-trace decode`: every frame of one capture as a line of text or JSON.

use std::io::Write;

use crate::capture::file::CaptureFile;
use crate::cli::{CaptureSpec, FrameFormat};
use crate::decode::decode;
use crate::error::Error;
use crate::report::frame_line;
use crate::report::sanitize::terminal_safe;

use super::{Outcome, is_broken_pipe};

/// Decodes `spec` onto `out`; warnings (damage, undecodable link types) go to `warn`.
pub fn run(
    spec: &CaptureSpec,
    format: FrameFormat,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<Outcome, Error> {
    let mut file = CaptureFile::open(&spec.path)?;
    let mut line = String::with_capacity(512);
    let mut write_error = None;
    let mut unsupported = 0u64;
    let summary = file.for_each_frame(|frame| {
        if write_error.is_some() {
            return;
        }
        let decoded = decode(frame);
        if decoded.error.is_some_and(|e| e.is_unsupported()) {
            unsupported += 1;
        }
        line.clear();
        match format {
            FrameFormat::Text => frame_line::write_text(&mut line, frame, &decoded),
            FrameFormat::Json => frame_line::write_json(&mut line, frame, &decoded),
        }
        line.push('\n');
        if let Err(e) = out.write_all(line.as_bytes()) {
            write_error = Some(e);
        }
    });
    let flushed = match write_error {
        Some(e) => Err(e),
        None => out.flush(),
    };
    match flushed {
        Err(e) if is_broken_pipe(&e) => return Ok(Outcome::Clean),
        Err(e) => {
            return Err(Error::Io {
                path: "<stdout>".into(),
                source: e,
            });
        }
        Ok(()) => {}
    }
    // File names come from wherever the captures came from: no escapes either.
    let path = terminal_safe(&spec.path.display().to_string());
    if let Some(damage) = &summary.damage {
        let _ = writeln!(warn, "isatap-trace: warning: {path}: {damage}");
    }
    if unsupported > 0 {
        let _ = writeln!(
            warn,
            "isatap-trace: warning: {path}: {unsupported} frames of unsupported link types were not decoded"
        );
    }
    Ok(Outcome::Clean)
}

//! The progress bar on stderr while captures are read.
//!
//! Guarantees: nothing is drawn unless stderr is a terminal and reading has
//! taken more than [`DELAY`]; the bar is cleared when reading ends, so it
//! leaves nothing behind in the terminal and never reaches redirected output.
//! Updates come from the reading thread once per buffer, not per frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Reading shorter than this shows no bar at all.
pub const DELAY: Duration = Duration::from_secs(1);

pub struct Progress {
    /// `None` when stderr is not a terminal.
    bar: Option<ProgressBar>,
    started: Instant,
    shown: AtomicBool,
}

impl Progress {
    /// A bar that appears after [`DELAY`] when `on_terminal`, or never.
    pub fn new(on_terminal: bool) -> Progress {
        Progress {
            bar: on_terminal
                .then(|| ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())),
            started: Instant::now(),
            shown: AtomicBool::new(false),
        }
    }

    /// No bar.
    pub fn hidden() -> Progress {
        Progress::new(false)
    }

    /// Starts on a capture of `len` bytes (`None`: unknown, compressed or a pipe).
    pub fn file(&self, name: &str, len: Option<u64>) {
        let Some(bar) = &self.bar else {
            return;
        };
        let template = match len {
            Some(_) => "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            None => "{msg} {spinner} {bytes} {binary_bytes_per_sec}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_length(len.unwrap_or(0));
        bar.set_position(0);
        bar.set_message(format!("reading {name}"));
    }

    /// `bytes` of the current capture are read.
    pub fn at(&self, bytes: u64) {
        let Some(bar) = &self.bar else {
            return;
        };
        bar.set_position(bytes);
        if !self.shown.load(Ordering::Relaxed) && self.started.elapsed() >= DELAY {
            self.shown.store(true, Ordering::Relaxed);
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// Reading is over: clears the bar if it was drawn.
    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Whether the bar has been drawn.
    pub fn was_shown(&self) -> bool {
        self.shown.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_terminal_no_bar() {
        let p = Progress::hidden();
        p.file("x.pcapng", Some(100));
        std::thread::sleep(Duration::from_millis(5));
        p.at(50);
        p.done();
        assert!(!p.was_shown());
    }

    #[test]
    fn a_short_read_shows_nothing_and_a_long_one_does() {
        let p = Progress::new(true);
        p.file("x.pcapng", Some(100));
        p.at(10);
        assert!(!p.was_shown(), "before the delay");
        let p = Progress {
            started: Instant::now() - DELAY,
            ..Progress::new(true)
        };
        p.at(10);
        assert!(p.was_shown(), "after the delay");
        p.done();
    }
}

//! The commands behind the CLI, each a function from a resolved configuration
//! to output on a writer and an exit status.

pub mod analyze;
pub mod decode;
pub mod live;
pub mod pipeline;
pub mod progress;
pub mod topology;

use std::io;

/// Exit status of a command that ran to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing of severity error found (exit 0).
    Clean,
    /// At least one finding of severity error (exit 1).
    Findings,
}

/// True for the error a closed pipe gives (`isatap-trace decode x | head`):
/// the reader has what it wanted, so it is not a failure.
pub fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

//! The library's error type: everything that ends a command with exit status 2.

use std::path::PathBuf;

use crate::capture::CaptureError;
use crate::capture::live::LiveError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Topology { path: PathBuf, message: String },
}

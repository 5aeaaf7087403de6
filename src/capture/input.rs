//! Opening a capture input: a path or `-` for stdin, transparently gunzipped.
//!
//! Guarantees: reads are streamed (nothing is slurped), every `read` fills the
//! caller's buffer unless the input ends (or fails: the bytes read before the
//! failure come first, the error with the next `read`), and a gzip stream that
//! expands beyond any plausible capture ratio is stopped with an error instead
//! of running on.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

use super::CaptureError;

/// Decompressed bytes after which the expansion ratio is checked.
const GZIP_RATIO_GRACE: u64 = 256 << 20;
/// Largest believable decompressed/compressed ratio for a packet capture.
/// Real captures compress 2-20x; deflate cannot exceed about 1032x.
const GZIP_MAX_RATIO: u64 = 200;

/// An opened input, positioned at its first byte of (decompressed) data.
pub struct Input {
    pub reader: Box<dyn Read + Send>,
    pub gzip: bool,
    /// The first bytes of the (decompressed) stream, also still readable from `reader`.
    pub magic: [u8; 4],
    pub magic_len: usize,
    /// A second handle on the same file when the input is a plain (not
    /// gzip) regular file, for reads at a position of their own.
    pub file: Option<File>,
}

/// Opens `path` (`-` is stdin) and looks at its first four bytes.
pub fn open(path: &Path) -> Result<Input, CaptureError> {
    let io_err = |source| CaptureError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut positioned = None;
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        let file = File::open(path).map_err(io_err)?;
        let kind = file.metadata().map(|m| m.file_type()).ok();
        if kind.is_some_and(|k| k.is_dir()) {
            return Err(CaptureError::NotACapture {
                path: path.to_path_buf(),
                reason: "is a directory, not a capture file".into(),
            });
        }
        if kind.is_some_and(|k| k.is_file()) {
            // Read once, front to back: the kernel need not mark its pages as
            // used again (a multi-gigabyte capture then ages out of the page
            // cache before what the user works with), and skips that work per
            // page. A hint only.
            #[cfg(target_os = "linux")]
            let _ = nix::fcntl::posix_fadvise(
                &file,
                0,
                0,
                nix::fcntl::PosixFadviseAdvice::POSIX_FADV_NOREUSE,
            );
            positioned = file.try_clone().ok();
        }
        Box::new(file)
    };
    let mut input = from_reader(raw).map_err(io_err)?;
    if !input.gzip {
        input.file = positioned;
    }
    Ok(input)
}

/// Takes any reader as an input: looks at its first four bytes and gunzips it
/// if it is gzip data (what [`open`] does once the path is opened).
pub fn from_reader(raw: Box<dyn Read + Send>) -> io::Result<Input> {
    let (magic, magic_len, reader) = peek4(FillReader::new(raw))?;
    if magic_len >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
        let compressed = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner: reader,
            count: Arc::clone(&compressed),
        };
        let guarded = RatioGuard {
            inner: MultiGzDecoder::new(counted),
            compressed,
            expanded: 0,
        };
        let (magic, magic_len, reader) = peek4(FillReader::new(Box::new(guarded)))?;
        return Ok(Input {
            reader,
            gzip: true,
            magic,
            magic_len,
            file: None,
        });
    }
    Ok(Input {
        reader,
        gzip: false,
        magic,
        magic_len,
        file: None,
    })
}

type Peeked = ([u8; 4], usize, Box<dyn Read + Send>);

/// Reads up to four bytes and returns them with a reader that yields them again.
fn peek4<R: Read + Send + 'static>(mut reader: FillReader<R>) -> io::Result<Peeked> {
    let mut magic = [0u8; 4];
    let n = reader.read(&mut magic)?;
    let replay = Cursor::new(magic[..n].to_vec()).chain(reader);
    Ok((magic, n, Box::new(FillReader::new(replay))))
}

/// A reader whose `read` keeps reading until the buffer is full or the input ends.
/// Pipes and decompressors return short reads; the capture parser expects a full
/// buffer to tell "record incomplete" from "file ended".
///
/// An error met after some bytes were read is held back: those bytes are
/// returned first and the error by the next call, so no data read before a
/// failure (a gzip stream cut short) is lost.
pub struct FillReader<R> {
    inner: R,
    pending: Option<io::Error>,
}

impl<R> FillReader<R> {
    pub fn new(inner: R) -> FillReader<R> {
        FillReader {
            inner,
            pending: None,
        }
    }
}

impl<R: Read> Read for FillReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if filled == 0 => return Err(e),
                Err(e) => {
                    self.pending = Some(e);
                    break;
                }
            }
        }
        Ok(filled)
    }
}

struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Stops a gzip stream that expands like a decompression bomb.
struct RatioGuard<R> {
    inner: R,
    compressed: Arc<AtomicU64>,
    expanded: u64,
}

impl<R: Read> Read for RatioGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.expanded += n as u64;
        let compressed = self.compressed.load(Ordering::Relaxed).max(1);
        if self.expanded > GZIP_RATIO_GRACE && self.expanded / compressed > GZIP_MAX_RATIO {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "gzip data expands more than {GZIP_MAX_RATIO}:1 ({} bytes from {compressed}); \
                     this is not a packet capture (decompression bomb?)",
                    self.expanded
                ),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    #[test]
    fn fill_reader_fills_from_short_reads() {
        let mut r = FillReader::new(Trickle(b"abcdef"));
        let mut buf = [0u8; 4];
        assert_eq!(r.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");
        assert_eq!(r.read(&mut buf).unwrap(), 2);
        assert_eq!(r.read(&mut buf).unwrap(), 0);
    }

    /// Yields its bytes, then fails.
    struct ThenFail<'a>(&'a [u8]);
    impl Read for ThenFail<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn fill_reader_returns_bytes_before_an_error() {
        let mut r = FillReader::new(ThenFail(b"abc"));
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");
        assert_eq!(
            r.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn peek_replays_the_magic() {
        let (magic, n, mut r) = peek4(FillReader::new(Trickle(b"xyz12"))).unwrap();
        assert_eq!((&magic, n), (b"xyz1", 4));
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"xyz12");
    }
}

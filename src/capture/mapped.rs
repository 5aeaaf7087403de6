//! Read-only memory maps of a capture file, one window at a time, for the
//! analysis path ([`super::file::CaptureFile::for_each_frame_split`]).
//!
//! Why `unsafe`: reading through `read(2)` copies every byte of the file from
//! the page cache into a buffer, which measured as the largest single cost of
//! reading a large capture that is already cached (benches/replay.sh; a
//! window walk touches only the record headers and packet starts). No safe
//! API maps a file, because the language cannot rule out that another process
//! changes the file while it is mapped.
//!
//! Guarantees: a window is mapped read-only and private and never outlives
//! this module's [`Window`]; the rest of the crate sees only `&[u8]`. A
//! window is at most [`WINDOW_BYTES`] (or one record) long, so resident
//! memory stays bounded whatever the file size. The one hazard that remains
//! is that of every memory-mapped reader: if another process truncates the
//! file while it is being read, the process is stopped by SIGBUS. Small files,
//! compressed files and stdin are read with `read(2)`.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;

/// Bytes mapped at a time.
pub const WINDOW_BYTES: usize = 8 << 20;
/// Files smaller than this are read, not mapped: mapping does not pay for itself.
pub const MIN_MAPPED_FILE: u64 = 16 << 20;

/// A mapped stretch of a file.
pub struct Window {
    map: memmap2::Mmap,
    /// Bytes of the mapping before the requested offset (page alignment).
    skip: usize,
}

impl Window {
    /// Maps `len` bytes of `file` from `offset` (any offset; the mapping
    /// starts at the page boundary before it).
    pub fn map(file: &File, offset: u64, len: usize) -> io::Result<Window> {
        let page = page_size();
        let start = offset - offset % page;
        let skip = (offset - start) as usize;
        // SAFETY: the mapping is read-only and private, and is only read
        // through the `&[u8]` that `bytes` lends out for the life of `self`.
        // Its contents can change only if another process writes the file;
        // the module documentation says what follows from that.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(start)
                .len(skip + len)
                .map(file)?
        };
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Window { map, skip })
    }

    /// The requested bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map[self.skip..]
    }
}

fn page_size() -> u64 {
    // Every Linux architecture this runs on has 4 KiB pages or a multiple of
    // them; aligning to 64 KiB suits all of them without asking the system.
    64 << 10
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_window_gives_the_bytes_at_any_offset() {
        let path = std::env::temp_dir().join(format!("isatap-trace-map-{}", std::process::id()));
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        File::create(&path).unwrap().write_all(&data).unwrap();
        let file = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        for offset in [0u64, 1, 4095, 65_536, 70_001] {
            let w = Window::map(&file, offset, 1000).unwrap();
            assert_eq!(w.bytes(), &data[offset as usize..offset as usize + 1000]);
        }
    }
}

//! Capture files: classic pcap (µs or ns, either byte order, "modified" Kuznetzov
//! records, the swapped record lengths of formats before 2.3) and pcapng
//! (several sections, several interfaces with their own link type and
//! `if_tsresol`/`if_tsoffset`, enhanced, simple and obsolete packet blocks,
//! packet comments), optionally gzip-compressed, from a path or stdin.
//!
//! Guarantees: a reader thread fills a few large reusable buffers and frames
//! the records in them ([`super::framing`]); frames are handed to the caller
//! borrowed from those buffers, so memory does not grow with the file and
//! nothing is copied per packet. A split walk, whose caller sees only what the
//! stage made of the frames, reads through one small buffer that stays in
//! the core's cache instead (measured faster than large buffers or a memory
//! map: the framing then finds its bytes in L2); the stage runs there, or,
//! for a buffer read while the caller had nothing to do, on the caller's
//! thread, the buffer handed over whole. Over a plain file, both threads
//! read: the caller reads, frames and decodes stretches of its own while no
//! batch waits for it (`file/shared.rs`). Results come in file order either
//! way. A file that is not a capture fails in [`CaptureFile::open`]; a record
//! that cannot be real or a file cut short ends the walk with a [`Damage`]
//! after every frame before it was delivered.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use super::framing::{self, Framer, LengthOrder, Step};
pub use super::framing::{MAX_INTERFACE_NAME, MAX_INTERFACES, MAX_PCAP_CAPLEN, MAX_RECORD};
use super::input;
use super::{CaptureError, Damage, Format, Frame};
use crate::parallel::Apart;

mod shared;

/// Size of each reading buffer; records larger than this get a buffer of their own.
const BATCH_BYTES: usize = 2 << 20;
/// Size of the one buffer of a split walk: small enough to stay in a core's
/// L2 cache between the read and the framing (larger is measurably slower).
const STREAM_BYTES: usize = 256 << 10;
/// Buffers in flight between the reading thread and the caller, when the
/// caller reads the frames (each batch holds its file bytes).
const BATCHES: usize = 3;
/// Batches in flight in a split walk, which hold only the results: enough
/// that the two threads run apart for a while. The caller's work per packet
/// is not even through a capture (the first probes of each flow are kept in
/// detail, later ones only counted); with 3 batches each thread waited for
/// the other 30-60 ms of a 2-million-frame replay, with 24 one of them waits
/// a few ms.
const SPLIT_BATCHES: usize = 24;
/// Results a batch of a split walk holds: it goes to the caller when they
/// are there or after [`BATCH_BYTES`] of input, whichever comes first, and
/// never grows. About what 2 MiB of a busy router's capture gives (the
/// replay benchmark's mix makes some 6 000 observations per 2 MiB): room
/// made for the worst case, twice that, was twice the memory in flight, all
/// of it new pages the reading thread had to fault in.
const BATCH_RESULTS: usize = 6144;
/// Room kept free in a batch's results for the frame being framed: a frame
/// gives at most two (the correlation's stage), and a stage that gives more
/// only makes the batch grow.
const RESULT_SLACK: usize = 4;
/// How many frames ahead the caller asks for the headers of the frames of a
/// buffer handed over whole.
const PREFETCH_FRAMES: usize = 16;
/// How long the caller looks for a batch before it sleeps until one comes.
/// On the 2-million-frame replay it waits for the reading thread some
/// thousand times, a few microseconds each, and each time it slept the
/// reading thread had to wake it with a system call: looking for 0.04 ms
/// gained 4 ms there, for 0.4 ms 6 ms (medians of 10 runs after tcpdump). A
/// slow input costs the caller at most this much looking per batch. (A
/// time, not a count of looks: under valgrind, where the threads take
/// turns, a count made the caller's instruction count a spin count.)
const WAIT_SPIN: std::time::Duration = std::time::Duration::from_micros(400);
/// Link type given to a packet that names an interface its section never described.
pub const LINKTYPE_NO_INTERFACE: u32 = u32::MAX;

/// One interface of a pcapng section (or the single pseudo-interface of a pcap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub link_type: u32,
    pub name: Option<String>,
    pub snaplen: u32,
    pub(super) resolution: TsResolution,
    pub(super) ts_offset_s: i64,
}

/// Timestamp units: 10^-n or 2^-n seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TsResolution {
    Decimal(u8),
    Binary(u8),
}

impl TsResolution {
    pub(super) fn from_option(v: u8) -> TsResolution {
        if v & 0x80 == 0 {
            TsResolution::Decimal(v)
        } else {
            TsResolution::Binary(v & 0x7f)
        }
    }

    #[inline]
    pub(super) fn to_ns(self, units: u64) -> i64 {
        // The common resolutions without 128-bit arithmetic.
        match self {
            TsResolution::Decimal(9) => return i64::try_from(units).unwrap_or(i64::MAX),
            TsResolution::Decimal(6) if units < u64::MAX / 1000 => {
                return i64::try_from(units * 1000).unwrap_or(i64::MAX);
            }
            _ => {}
        }
        let ns: u128 = match self {
            TsResolution::Decimal(n) if n <= 9 => units as u128 * 10u128.pow(u32::from(9 - n)),
            TsResolution::Decimal(n) => units as u128 / 10u128.pow(u32::from(n.min(38) - 9)),
            TsResolution::Binary(n) => (units as u128 * 1_000_000_000) >> n.min(127),
        };
        i64::try_from(ns).unwrap_or(i64::MAX)
    }
}

/// What a walk over a file saw besides the frames.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSummary {
    pub packets: u64,
    /// Records numbered as Wireshark numbers frames: packets plus pcapng custom
    /// and systemd-journal blocks (which carry no packet and are not delivered).
    pub records: u64,
    /// Link types of the interfaces packets were seen on, in order of first use.
    pub link_types: Vec<u32>,
    /// Interfaces of all sections, in order of description.
    pub interfaces: Vec<Interface>,
    /// Sum of `isb_ifdrop` over interface statistics blocks, if any were present.
    pub kernel_drops: Option<u64>,
    /// Times of the first and the last packet, in file order.
    pub span: Option<(i64, i64)>,
    pub damage: Option<Damage>,
}

/// Receives the count of bytes read so far.
pub type ProgressHook = Box<dyn Fn(u64) + Send + Sync>;

/// An opened capture file, ready to walk.
pub struct CaptureFile {
    path: PathBuf,
    format: Format,
    gzip: bool,
    reader: Option<Box<dyn Read + Send>>,
    /// A handle for reads at a position when the capture is a plain file: a
    /// split walk then lets both threads read ([`shared`]).
    file: Option<File>,
    /// Told the bytes read so far, once per buffer, from the reading thread.
    progress: Option<ProgressHook>,
    framer: Framer,
    /// File offset of the first byte `reader` will give.
    offset: u64,
}

/// Reads until `buf` is full or the input ends; the count read.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if filled > 0 && e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl CaptureFile {
    /// Opens `path` (`-` is stdin), checks that it is a capture and reads its header.
    pub fn open(path: &Path) -> Result<CaptureFile, CaptureError> {
        let input = input::open(path)?;
        CaptureFile::from_input(path, input)
    }

    /// Reads a capture from any reader (plain or gzip, like a file); `name`
    /// stands for it in messages and in [`CaptureFile::path`].
    pub fn from_reader(
        name: &Path,
        reader: Box<dyn Read + Send>,
    ) -> Result<CaptureFile, CaptureError> {
        let input = input::from_reader(reader).map_err(|source| CaptureError::Io {
            path: name.to_path_buf(),
            source,
        })?;
        CaptureFile::from_input(name, input)
    }

    fn from_input(path: &Path, mut input: input::Input) -> Result<CaptureFile, CaptureError> {
        let not_capture = |reason: String| CaptureError::NotACapture {
            path: path.to_path_buf(),
            reason,
        };
        let magic = &input.magic[..input.magic_len];
        let format = match magic {
            [0x0a, 0x0d, 0x0d, 0x0a] => Format::PcapNg,
            [0xd4, 0xc3, 0xb2, 0xa1] | [0xa1, 0xb2, 0xc3, 0xd4] => Format::Pcap,
            [0x34, 0xcd, 0xb2, 0xa1] => Format::Pcap,
            [0x4d, 0x3c, 0xb2, 0xa1] | [0xa1, 0xb2, 0x3c, 0x4d] => Format::PcapNanos,
            [] => return Err(not_capture("the file is empty".into())),
            _ => {
                return Err(not_capture(format!(
                    "not a pcap or pcapng capture{} (it starts with {})",
                    if input.gzip {
                        " inside the gzip data"
                    } else {
                        ""
                    },
                    hex(magic)
                )));
            }
        };
        let (framer, offset) = match format {
            Format::PcapNg => {
                let (framer, len) =
                    read_section_header(&mut *input.reader, format).map_err(not_capture)?;
                (framer, len)
            }
            _ => {
                let framer = read_pcap_header(&mut *input.reader, format).map_err(not_capture)?;
                (framer, 24)
            }
        };
        Ok(CaptureFile {
            path: path.to_path_buf(),
            format,
            gzip: input.gzip,
            reader: Some(input.reader),
            file: input.file,
            progress: None,
            framer,
            offset,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// The file's length in bytes when it is a plain file (what progress
    /// counts towards); `None` for compressed data and pipes.
    pub fn byte_len(&self) -> Option<u64> {
        if self.gzip {
            return None;
        }
        std::fs::metadata(&self.path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }

    /// Calls `hook` with the bytes read so far (of the decompressed data for
    /// a gzip file) as the walk goes, from the reading thread.
    pub fn on_progress(&mut self, hook: impl Fn(u64) + Send + Sync + 'static) {
        self.progress = Some(Box::new(hook));
    }

    /// Calls `on_frame` for every packet, in file order, and returns what else
    /// was seen. Reading and framing run on a thread of their own while
    /// `on_frame` runs on the caller's. A file is walked once.
    pub fn for_each_frame(&mut self, mut on_frame: impl FnMut(&Frame<'_>)) -> FileSummary {
        let no_stage = |_: &Frame<'_>, _: &mut Vec<()>| {};
        let (summary, _) = self.walk(no_stage, true, |batch| {
            let Some(batch) = batch else {
                return false;
            };
            for p in &batch.frames {
                on_frame(&batch.frame(p));
            }
            true
        });
        summary
    }

    /// Runs a stage on every packet (it may push any number of results) and
    /// `consume` on the results, in file order, a batch at a time, on the
    /// caller's thread, so that two cores share the work. The stage runs on
    /// the reading thread (`stage`) while the caller has results waiting,
    /// and on the caller's (`caller_stage`) for the stretches of file read
    /// while it had none, so that neither thread waits for the other while
    /// there is work. Returns both stages with whatever state they gathered.
    pub fn for_each_frame_split<T, S, L, C>(
        &mut self,
        stage: S,
        caller_stage: L,
        consume: C,
    ) -> (FileSummary, S, L)
    where
        T: Send + StageResult,
        S: FnMut(&Frame<'_>, &mut Vec<T>) + Send,
        L: FnMut(&Frame<'_>, &mut Vec<T>),
        C: FnMut(&[T]),
    {
        struct Only<C>(C);
        impl<T, C: FnMut(&[T])> Consumer<T> for Only<C> {
            fn consume(&mut self, results: &[T]) {
                (self.0)(results)
            }
        }
        self.for_each_frame_split_to(stage, caller_stage, &mut Only(consume))
    }

    /// [`Self::for_each_frame_split`] with a consumer that also has work to
    /// do ahead when it would otherwise wait for the reading thread
    /// ([`Consumer::idle`]).
    pub fn for_each_frame_split_to<T, S, L>(
        &mut self,
        stage: S,
        mut caller_stage: L,
        consumer: &mut impl Consumer<T>,
    ) -> (FileSummary, S, L)
    where
        T: Send + StageResult,
        S: FnMut(&Frame<'_>, &mut Vec<T>) + Send,
        L: FnMut(&Frame<'_>, &mut Vec<T>),
    {
        // A plain file: both threads read it.
        if let Some(file) = self.file.take()
            && self.reader.take().is_some()
        {
            let stretches = shared::Stretches::new(file, self.framer.clone(), self.offset);
            let progress = self.progress.take();
            let (framer, damage, stage, caller_stage) =
                shared::walk(stretches, progress, stage, caller_stage, consumer);
            self.framer = framer;
            return (self.summary(damage), stage, caller_stage);
        }
        let (summary, stage) = self.walk(stage, false, |batch| {
            let Some(batch) = batch else {
                return consumer.idle();
            };
            stage_frames(batch, &mut caller_stage);
            consumer.consume(&batch.out.items);
            true
        });
        (summary, stage, caller_stage)
    }

    /// Walks the file; `keep_frames`: the caller reads the frames of each
    /// batch (otherwise only the stage's results). `on_batch` gets each
    /// batch, and `None` when there is none to take yet: it then answers
    /// whether it did something else meanwhile (if not, the caller waits).
    fn walk<T, S>(
        &mut self,
        stage: S,
        keep_frames: bool,
        mut on_batch: impl FnMut(Option<&mut Batch<T>>) -> bool,
    ) -> (FileSummary, S)
    where
        T: Send + StageResult,
        S: FnMut(&Frame<'_>, &mut Vec<T>) + Send,
    {
        let Some(reader) = self.reader.take() else {
            return (self.summary(None), stage);
        };
        let progress = self.progress.take();
        let in_flight = if keep_frames { BATCHES } else { SPLIT_BATCHES };
        let framer = self.framer.clone();
        let offset = self.offset;
        let results = if keep_frames { 0 } else { BATCH_RESULTS };
        let between = &Between::default();
        let (framer, damage, stage) = std::thread::scope(|s| {
            let reading = Reading::start(s, in_flight, results, progress, between, |outlet| {
                let mut stage = stage;
                let (framer, damage) = if keep_frames {
                    read_batches(reader, framer, offset, outlet)
                } else {
                    stream_batches(reader, framer, offset, &mut stage, outlet)
                };
                (framer, damage, stage)
            });
            let full_rx = &reading.full;
            loop {
                let mut batch = match full_rx.try_recv() {
                    Ok(batch) => batch,
                    Err(TryRecvError::Disconnected) => break,
                    Err(TryRecvError::Empty) => {
                        if on_batch(None) {
                            continue;
                        }
                        match wait_for(full_rx, between) {
                            Some(batch) => batch,
                            None => break,
                        }
                    }
                };
                between.waiting.fetch_sub(1, Ordering::Relaxed);
                on_batch(Some(&mut batch));
                // The reader may have finished; a batch it no longer wants is dropped.
                let _ = reading.free.send(batch);
            }
            reading.finish()
        });
        self.framer = framer;
        (self.summary(damage), stage)
    }

    fn summary(&self, damage: Option<Damage>) -> FileSummary {
        FileSummary {
            packets: self.framer.packets,
            records: self.framer.records,
            link_types: self.framer.link_types.clone(),
            interfaces: self.framer.interfaces.clone(),
            kernel_drops: self.framer.kernel_drops,
            span: self.framer.span(),
            damage,
        }
    }
}

/// The next batch, or `None` when the reading thread is done. Looks for a
/// while ([`WAIT_SPIN`]) before it sleeps: the batch is usually a few
/// microseconds away, and waking a sleeping caller cost the reading thread a
/// system call each time.
fn wait_for<T>(full: &Receiver<Batch<T>>, between: &Between) -> Option<Batch<T>> {
    let start = std::time::Instant::now();
    loop {
        for _ in 0..64 {
            match full.try_recv() {
                Ok(batch) => return Some(batch),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
            }
        }
        if start.elapsed() >= WAIT_SPIN {
            let batch = full.recv().ok();
            between.apart.settle(CALLER);
            return batch;
        }
    }
}

/// Reads and checks the classic pcap file header.
fn read_pcap_header(reader: &mut dyn Read, format: Format) -> Result<Framer, String> {
    let mut h = [0u8; 24];
    let n = read_full(reader, &mut h).map_err(|e| e.to_string())?;
    if n < h.len() {
        return Err(format!("the file ends inside its {} header", format.name()));
    }
    let modified = h[..4] == [0x34, 0xcd, 0xb2, 0xa1];
    let big_endian = matches!(h[..4], [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d]);
    let u16_at = |o: usize| {
        let b = [h[o], h[o + 1]];
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_at = |o: usize| {
        let b = [h[o], h[o + 1], h[o + 2], h[o + 3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let (major, minor) = (u16_at(4), u16_at(6));
    if major != 2 {
        return Err(format!(
            "pcap version {major}.{minor} is not supported (only 2.x exists)"
        ));
    }
    let raw = u32_at(20);
    if raw & 0x03ff_0000 != 0 {
        return Err(format!(
            "the link-type field has reserved bits set (0x{raw:08x}); the header is damaged"
        ));
    }
    // Formats 2.0 to 2.2 swapped the record lengths, and some 2.3 writers too
    // (libpcap and Wireshark swap them back in the same cases).
    let lengths = match (modified, minor) {
        (true, _) => LengthOrder::Current,
        (false, 0..=2) => LengthOrder::Swapped,
        (false, 3) => LengthOrder::SwappedIfLarger,
        _ => LengthOrder::Current,
    };
    let interface = Interface {
        link_type: raw & 0xffff,
        name: None,
        snaplen: u32_at(16),
        resolution: TsResolution::Decimal(if format == Format::PcapNanos { 9 } else { 6 }),
        ts_offset_s: 0,
    };
    Ok(Framer::pcap(big_endian, modified, lengths, interface))
}

/// Reads and checks the first pcapng section header; returns the framer and
/// the header's length.
fn read_section_header(reader: &mut dyn Read, format: Format) -> Result<(Framer, u64), String> {
    let ends_inside = || format!("the file ends inside its {} header", format.name());
    let mut head = [0u8; 12];
    let n = read_full(reader, &mut head).map_err(|e| e.to_string())?;
    if n < head.len() {
        return Err(ends_inside());
    }
    let Some((len, big_endian)) = framing::section_length(&head) else {
        return Err("damaged pcapng header (unknown byte-order magic)".into());
    };
    let len = len as usize;
    if len < 28 || !len.is_multiple_of(4) || len > MAX_RECORD {
        return Err(format!("damaged pcapng header (block length {len})"));
    }
    let mut block = vec![0u8; len];
    block[..12].copy_from_slice(&head);
    let n = read_full(reader, &mut block[12..]).map_err(|e| e.to_string())?;
    if 12 + n < len {
        return Err(ends_inside());
    }
    let word = |o: usize| {
        let b = [block[o], block[o + 1], block[o + 2], block[o + 3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let end = word(len - 4) as usize;
    if end != len {
        return Err(format!(
            "damaged pcapng header (block length {len} at its start, {end} at its end)"
        ));
    }
    let half = |o: usize| {
        let b = [block[o], block[o + 1]];
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let (major, minor) = (half(12), half(14));
    if major != 1 {
        return Err(format!(
            "pcapng version {major}.{minor} is not supported (only 1.x exists)"
        ));
    }
    Ok((Framer::pcapng(big_endian), len as u64))
}

/// The caller's side of a split walk
/// ([`CaptureFile::for_each_frame_split_to`]).
pub trait Consumer<T> {
    /// Takes the results of a run of frames, in file order.
    fn consume(&mut self, results: &[T]);

    /// Called when there are no results to take yet: does a little work
    /// that can be done ahead, and says whether it did any (if not, the
    /// caller waits for results). Each call should be short, so that
    /// results waiting are taken soon.
    fn idle(&mut self) -> bool {
        false
    }
}

/// A result of a split walk's stage ([`CaptureFile::for_each_frame_split`]):
/// says whether it holds memory of its own. Results that hold none leave a
/// batch all at once, without a pass over them.
pub trait StageResult {
    /// Whether dropping this result frees memory.
    fn holds_memory(&self) -> bool;
}

/// Plain values hold nothing to free.
impl<T: Copy> StageResult for T {
    fn holds_memory(&self) -> bool {
        false
    }
}

/// What a stage made of the packets of a batch, and which of those results
/// hold memory of their own.
struct Results<T> {
    items: Vec<T>,
    /// Positions in `items` of the results that hold memory, in order.
    holding: Vec<u32>,
}

impl<T> Results<T> {
    fn with_capacity(results: usize) -> Results<T> {
        Results {
            items: Vec::with_capacity(results),
            holding: Vec::new(),
        }
    }

    /// Empties the results, keeping their room. Dropping every result read a
    /// line of each, out of cache by then (~15 ms of the reading thread's
    /// time on the 2-million-frame replay): only those that hold memory are
    /// dropped, and the rest, with nothing to free, are forgotten at once.
    fn empty(&mut self) {
        // Last first: each removal moves in the last result, by then one
        // that holds nothing.
        for &at in self.holding.iter().rev() {
            drop(self.items.swap_remove(at as usize));
        }
        self.holding.clear();
        // `Vec::drain` shortens the vector before it yields anything (so
        // that a drain leaked leaves it valid): forgetting one empties it
        // without visiting what it held. `clear` after it is only a guard.
        std::mem::forget(self.items.drain(..));
        self.items.clear();
    }
}

impl<T: StageResult> Results<T> {
    /// Runs `stage` on `frame`, noting which of its results hold memory
    /// (inlined into the framing loop: a call per frame otherwise).
    #[inline(always)]
    fn stage<S: FnMut(&Frame<'_>, &mut Vec<T>)>(&mut self, stage: &mut S, frame: &Frame<'_>) {
        let before = self.items.len();
        stage(frame, &mut self.items);
        for (at, item) in self.items.iter().enumerate().skip(before) {
            if item.holds_memory() {
                self.holding.push(at as u32);
            }
        }
    }
}

/// A buffer of records read in one go, where each packet in it is, and what
/// the reading thread's stage made of them.
struct Batch<T> {
    data: Vec<u8>,
    frames: Vec<framing::Packet>,
    out: Results<T>,
    /// In a walk over stretches ([`shared`]): the reading thread's results
    /// of every stretch numbered below this are in this batch or earlier
    /// ones.
    before: u64,
}

impl<T> Batch<T> {
    /// A batch holding no memory: what stands in a batch's place while it
    /// is handed on.
    fn unmade() -> Batch<T> {
        Batch {
            data: Vec::new(),
            frames: Vec::new(),
            out: Results::with_capacity(0),
            before: 0,
        }
    }

    fn frame(&self, p: &framing::Packet) -> Frame<'_> {
        frame_in(&self.data, p)
    }
}

/// Where in `data` the packet of a frame framed from `data` is.
#[inline]
fn packet_in(data: &[u8], frame: &Frame<'_>) -> framing::Packet {
    let start = frame.bytes.as_ptr() as usize - data.as_ptr() as usize;
    framing::Packet {
        index: frame.index,
        ts_ns: frame.ts_ns,
        link_type: frame.link_type,
        interface: frame.interface,
        orig_len: frame.orig_len,
        data: start..start + frame.bytes.len(),
        comment: frame.comment.map(|c| {
            let start = c.as_ptr() as usize - data.as_ptr() as usize;
            start..start + c.len()
        }),
    }
}

/// The frame a packet record of `data` holds.
#[inline]
fn frame_in<'a>(data: &'a [u8], p: &framing::Packet) -> Frame<'a> {
    Frame {
        index: p.index,
        ts_ns: p.ts_ns,
        link_type: p.link_type,
        interface: p.interface,
        orig_len: p.orig_len,
        bytes: &data[p.data.clone()],
        comment: p.comment.clone().map(|c| &data[c]),
    }
}

/// What the two threads of a walk share besides their batches.
#[derive(Debug, Default)]
struct Between {
    /// Batches sent that the caller has not taken yet.
    waiting: AtomicUsize,
    /// Where each thread runs ([`CALLER`], [`READER`]): on cores of their own.
    apart: Apart,
}

/// The caller's and the reading thread's sides of [`Between::apart`].
const CALLER: usize = 0;
const READER: usize = 1;

/// The reading thread of a walk, and the two channels between it and the
/// caller, whose ends the caller holds.
struct Reading<'scope, T, R> {
    thread: ScopedJoinHandle<'scope, R>,
    /// Batches the reading thread has filled, in file order.
    full: Receiver<Batch<T>>,
    /// Batches the caller is done with, to be filled again.
    free: SyncSender<Batch<T>>,
}

impl<'scope, T: Send + 'scope, R: Send + 'scope> Reading<'scope, T, R> {
    /// Starts `read` on a thread of `s` with an [`Outlet`] of `in_flight`
    /// batches of room for `results` each, the caller and it kept on cores of
    /// their own ([`Between::apart`]). The channels are made here, in the
    /// scope, so that a panicking caller drops its ends at once and the
    /// reading thread stops instead of waiting for it.
    fn start(
        s: &'scope Scope<'scope, '_>,
        in_flight: usize,
        results: usize,
        progress: Option<ProgressHook>,
        between: &'scope Between,
        read: impl FnOnce(Outlet<'_, T>) -> R + Send + 'scope,
    ) -> Self {
        between.apart.settle(CALLER);
        let (full_tx, full) = sync_channel(in_flight);
        let (free, free_rx) = sync_channel(in_flight + 1);
        let thread = s.spawn(move || {
            between.apart.settle(READER);
            let progress = progress.as_ref();
            read(Outlet::new(
                full_tx, free_rx, in_flight, results, progress, between,
            ))
        });
        Reading { thread, full, free }
    }

    /// What the reading thread returned; its panic is raised again here.
    fn finish(self) -> R {
        match self.thread.join() {
            Ok(done) => done,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Where the reading thread's batches come from and go: at most one more
/// than the channel holds, reused once the caller is done with them; and who
/// hears how far reading has got.
struct Outlet<'p, T> {
    full: SyncSender<Batch<T>>,
    free: Receiver<Batch<T>>,
    spare: Vec<Batch<T>>,
    made: usize,
    most: usize,
    /// Room for results in each batch made.
    results: usize,
    /// Told the file offset reached with each batch sent.
    progress: Option<&'p ProgressHook>,
    between: &'p Between,
}

impl<'p, T> Outlet<'p, T> {
    fn new(
        full: SyncSender<Batch<T>>,
        free: Receiver<Batch<T>>,
        in_flight: usize,
        results: usize,
        progress: Option<&'p ProgressHook>,
        between: &'p Between,
    ) -> Outlet<'p, T> {
        Outlet {
            full,
            free,
            spare: Vec::new(),
            made: 0,
            most: in_flight + 1,
            results,
            progress,
            between,
        }
    }

    /// Whether the caller has taken every batch sent: it is waiting for
    /// work, or about to.
    fn caller_idle(&self) -> bool {
        self.between.waiting.load(Ordering::Relaxed) == 0
    }

    /// An empty batch; `None` when the caller has gone away. The one the
    /// caller gave back last, whose memory is likeliest still in cache. A
    /// batch is emptied here, not by the caller, whose thread has the less
    /// time to spare (when it is idle, it decodes instead): the few results
    /// that hold memory are dropped ([`Results::empty`]).
    fn get(&mut self) -> Option<Batch<T>> {
        while let Ok(b) = self.free.try_recv() {
            self.spare.push(b);
        }
        let mut batch = match self.spare.pop() {
            Some(b) => b,
            None if self.made < self.most => {
                self.made += 1;
                Batch {
                    out: Results::with_capacity(self.results),
                    ..Batch::unmade()
                }
            }
            None => {
                let batch = self.free.recv().ok();
                self.between.apart.settle(READER);
                batch?
            }
        };
        batch.frames.clear();
        batch.out.empty();
        Some(batch)
    }

    /// Hands a filled batch to the caller, with the file offset reading has
    /// reached; false when the caller has gone away.
    fn send(&mut self, batch: Batch<T>, reached: u64) -> bool {
        self.between.waiting.fetch_add(1, Ordering::Relaxed);
        if self.full.send(batch).is_err() {
            return false;
        }
        if let Some(progress) = self.progress {
            progress(reached);
        }
        true
    }

    /// [`Self::send`]s `batch` and puts an empty batch to fill next in its
    /// place; false when the caller has gone away.
    fn pass(&mut self, batch: &mut Batch<T>, reached: u64) -> bool {
        let full = std::mem::replace(batch, Batch::unmade());
        if !self.send(full, reached) {
            return false;
        }
        match self.get() {
            Some(next) => {
                *batch = next;
                true
            }
            None => false,
        }
    }
}

/// How framing the records in a stretch of bytes ended.
enum Framed {
    /// Every record up to the limit was framed.
    Done,
    /// The results filled the room made for them: framing stopped early.
    Full,
    /// The record at the position needs this many bytes, more than are there.
    Need(usize),
    Damaged(String),
}

/// Frames the records of `data` from `*pos` until `limit` (a record that
/// starts before `limit` is framed whole), running `stage` on each packet or
/// listing it in `frames`; without `frames`, stops early once `out` is as
/// full as its room allows ([`Framed::Full`]). `*pos` ends at the first
/// record not framed.
fn frame_records<T, S>(
    framer: &mut Framer,
    data: &[u8],
    pos: &mut usize,
    limit: usize,
    stage: &mut S,
    frames: Option<&mut Vec<framing::Packet>>,
    out: &mut Results<T>,
) -> Framed
where
    T: StageResult,
    S: FnMut(&Frame<'_>, &mut Vec<T>),
{
    let mut frames = frames;
    let room = out.items.capacity().saturating_sub(RESULT_SLACK);
    while *pos < limit {
        if frames.is_none() && out.items.len() >= room {
            return Framed::Full;
        }
        let at = *pos;
        if let Some((frame, len)) = framer.plain_packet(&data[at..]) {
            match frames.as_deref_mut() {
                Some(frames) => frames.push(packet_in(data, &frame)),
                None => out.stage(stage, &frame),
            }
            *pos += len;
            continue;
        }
        match framer.step(&data[at..]) {
            Step::Packet(mut p, len) => {
                p.data = p.data.start + at..p.data.end + at;
                p.comment = p.comment.map(|c| c.start + at..c.end + at);
                match frames.as_deref_mut() {
                    Some(frames) => frames.push(p),
                    None => out.stage(stage, &frame_in(data, &p)),
                }
                *pos += len;
            }
            Step::Other(len) => *pos += len,
            Step::Need(n) => return Framed::Need(n),
            Step::Damaged(reason) => return Framed::Damaged(reason),
        }
    }
    Framed::Done
}

/// Runs the caller's stage on the packets of a batch that came whole, or of
/// a stretch the caller read itself (none for a batch of results only).
fn stage_frames<T, L>(batch: &mut Batch<T>, caller_stage: &mut L)
where
    T: StageResult,
    L: FnMut(&Frame<'_>, &mut Vec<T>),
{
    let Batch {
        data, frames, out, ..
    } = batch;
    for (at, p) in frames.iter().enumerate() {
        // Bytes the other thread read are in its core's cache, or out of
        // both. The headers of a frame a few ahead are asked for now, so
        // that the wait for them overlaps with this frame's decoding.
        if let Some(ahead) = frames.get(at + PREFETCH_FRAMES) {
            for line in [0, 64] {
                if let Some(b) = data.get(ahead.data.start + line) {
                    crate::flow::prefetch::prefetch(b);
                }
            }
        }
        out.stage(caller_stage, &frame_in(data, p));
    }
}

/// Lists the packets of `data` from `*pos` to its end in `frames`, no stage
/// running.
fn frame_list(
    framer: &mut Framer,
    data: &[u8],
    pos: &mut usize,
    frames: &mut Vec<framing::Packet>,
) -> Framed {
    let no_stage = &mut |_: &Frame<'_>, _: &mut Vec<()>| {};
    let room = &mut Results::with_capacity(0);
    frame_records(framer, data, pos, data.len(), no_stage, Some(frames), room)
}

/// Lists the packets of `data` from `*pos` to its end in `frames`, no stage
/// running, `data` starting at file offset `start`; how that ended (see
/// [`ended`]).
fn list_packets(
    framer: &mut Framer,
    data: &[u8],
    pos: &mut usize,
    frames: &mut Vec<framing::Packet>,
    start: u64,
) -> (usize, Option<Damage>) {
    let framed = frame_list(framer, data, pos, frames);
    ended(framed, framer, start + *pos as u64)
}

/// How framing a buffer ended, other than for want of room for results
/// (which only a walk making results meets, and handles): the room the
/// record left incomplete needs (0 if none), and the damage found, the walk
/// being at file offset `offset`.
fn ended(framed: Framed, framer: &Framer, offset: u64) -> (usize, Option<Damage>) {
    match framed {
        Framed::Done | Framed::Full => (0, None),
        Framed::Need(n) => (n, None),
        Framed::Damaged(reason) => (
            0,
            Some(Damage::Malformed {
                after_frame: framer.records,
                offset,
                reason,
            }),
        ),
    }
}

/// Reads until `buf` is full or the input ends or fails; the count read and
/// the failure, if any.
fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

/// What ends a walk once the input has ended (or failed) with `left` bytes
/// of an incomplete record unframed at file offset `offset`.
fn end_damage(
    framer: &Framer,
    failure: Option<io::Error>,
    left: usize,
    offset: u64,
) -> Option<Damage> {
    let after_frame = framer.records;
    match failure {
        Some(e) if e.kind() == io::ErrorKind::UnexpectedEof => Some(Damage::Truncated {
            after_frame,
            offset,
        }),
        Some(e) => Some(Damage::Malformed {
            after_frame,
            offset,
            reason: e.to_string(),
        }),
        None if left > 0 => Some(Damage::Truncated {
            after_frame,
            offset,
        }),
        None => None,
    }
}

/// The reading thread of a walk whose caller sees the frames: fills a
/// buffer per batch, lists its packet records, sends it on. Returns the
/// framer (with its counts) and the damage that ended the walk.
fn read_batches<T>(
    mut reader: Box<dyn Read + Send>,
    mut framer: Framer,
    mut offset: u64,
    mut outlet: Outlet<'_, T>,
) -> (Framer, Option<Damage>) {
    // Bytes of a record that began at the end of the previous buffer.
    let mut carry: Vec<u8> = Vec::new();
    let mut need = 0usize;
    loop {
        let Some(mut batch) = outlet.get() else {
            return (framer, None);
        };
        let wanted = need.max(carry.len() + 1).max(BATCH_BYTES);
        if batch.data.len() < wanted {
            batch.data.resize(wanted, 0);
        }
        if batch.frames.capacity() == 0 {
            batch.frames.reserve(BATCH_BYTES / 64);
        }
        batch.data[..carry.len()].copy_from_slice(&carry);
        let (read, failure) = fill(&mut *reader, &mut batch.data[carry.len()..]);
        let filled = carry.len() + read;
        let at_end = filled < batch.data.len();
        let mut pos = 0usize;
        let damage;
        (need, damage) = list_packets(
            &mut framer,
            &batch.data[..filled],
            &mut pos,
            &mut batch.frames,
            offset,
        );
        carry.clear();
        carry.extend_from_slice(&batch.data[pos..filled]);
        offset += pos as u64;
        if !outlet.send(batch, offset) {
            return (framer, None);
        }
        if damage.is_some() {
            return (framer, damage);
        }
        if at_end {
            let damage = end_damage(&framer, failure, carry.len(), offset);
            return (framer, damage);
        }
    }
}

/// The reading thread of a split walk: reads through one small buffer,
/// runs the stage on each packet as soon as it is framed, and sends the
/// stage's results on when a batch holds [`BATCH_RESULTS`] of them or after
/// about [`BATCH_BYTES`] of input. A buffer read while the caller has taken
/// every batch goes to the caller whole instead, with where its packets
/// are, for the caller's stage: reading goes on in a buffer the caller gave
/// back.
fn stream_batches<T, S>(
    mut reader: Box<dyn Read + Send>,
    mut framer: Framer,
    mut offset: u64,
    stage: &mut S,
    mut outlet: Outlet<'_, T>,
) -> (Framer, Option<Damage>)
where
    T: StageResult,
    S: FnMut(&Frame<'_>, &mut Vec<T>),
{
    let mut buf = vec![0u8; STREAM_BYTES];
    // Bytes at the start of `buf` not framed yet (an incomplete record).
    let mut kept = 0usize;
    let Some(mut batch) = outlet.get() else {
        return (framer, None);
    };
    let mut batch_bytes = 0usize;
    loop {
        let (read, failure) = fill(&mut *reader, &mut buf[kept..]);
        let filled = kept + read;
        let at_end = filled < buf.len();
        let mut pos = 0usize;
        let mut handed_over = false;
        // Room the record at `pos` needs (when it is more than the buffer),
        // and the damage found.
        let (need, damage) = if outlet.caller_idle() {
            // Results made so far go first, then this buffer's packets.
            if !batch.out.items.is_empty() {
                if !outlet.pass(&mut batch, offset) {
                    return (framer, None);
                }
                batch_bytes = 0;
            }
            let (need, damage) = list_packets(
                &mut framer,
                &buf[..filled],
                &mut pos,
                &mut batch.frames,
                offset,
            );
            offset += pos as u64;
            if !batch.frames.is_empty() {
                // The batch takes the buffer along; reading goes on in the
                // one it brought back (or a new one), from the record left
                // incomplete.
                std::mem::swap(&mut buf, &mut batch.data);
                let size = batch.data.len().max(need);
                if buf.len() < size {
                    buf.resize(size, 0);
                }
                kept = filled - pos;
                buf[..kept].copy_from_slice(&batch.data[pos..filled]);
                handed_over = true;
                if !outlet.pass(&mut batch, offset) {
                    return (framer, None);
                }
                batch_bytes = 0;
            }
            (need, damage)
        } else {
            loop {
                let from = pos;
                let framed = frame_records(
                    &mut framer,
                    &buf[..filled],
                    &mut pos,
                    filled,
                    stage,
                    None,
                    &mut batch.out,
                );
                offset += (pos - from) as u64;
                batch_bytes += pos - from;
                match framed {
                    Framed::Full => {
                        if !outlet.pass(&mut batch, offset) {
                            return (framer, None);
                        }
                        batch_bytes = 0;
                    }
                    other => break ended(other, &framer, offset),
                }
            }
        };
        if !handed_over {
            // A record longer than the buffer: make room for it.
            if need > buf.len() {
                buf.resize(need, 0);
            }
            buf.copy_within(pos..filled, 0);
            kept = filled - pos;
        }
        if at_end || damage.is_some() {
            if !outlet.send(batch, offset) {
                return (framer, None);
            }
            let damage = damage.or_else(|| end_damage(&framer, failure, kept, offset));
            return (framer, damage);
        }
        if batch_bytes >= BATCH_BYTES {
            if !outlet.pass(&mut batch, offset) {
                return (framer, None);
            }
            batch_bytes = 0;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_batch_given_back_is_handed_out_again() {
        let (full_tx, full_rx) = sync_channel::<Batch<u8>>(3);
        let (free_tx, free_rx) = sync_channel::<Batch<u8>>(4);
        let between = Between::default();
        let mut outlet = Outlet::new(full_tx, free_rx, 3, 16, None, &between);
        // The reader fills all it may make; the caller takes them and gives
        // them back, two before the reader sends its last one.
        let made: Vec<Batch<u8>> = (0..4).filter_map(|_| outlet.get()).collect();
        let mut buffers: Vec<*const u8> = made.iter().map(|b| b.out.items.as_ptr()).collect();
        let mut made = made.into_iter();
        for batch in made.by_ref().take(3) {
            assert!(outlet.send(batch, 0));
        }
        for _ in 0..2 {
            free_tx.send(full_rx.recv().unwrap()).unwrap();
        }
        assert!(outlet.send(made.next().unwrap(), 0));
        for _ in 0..2 {
            free_tx.send(full_rx.recv().unwrap()).unwrap();
        }
        drop(free_tx);
        // All four come back, none made anew and none lost.
        let mut again: Vec<*const u8> = (0..4)
            .map(|_| outlet.get().expect("a batch given back").out.items.as_ptr())
            .collect();
        assert_eq!(outlet.made, 4);
        buffers.sort();
        again.sort();
        assert_eq!(buffers, again);
        assert!(outlet.get().is_none());
    }

    /// A result that holds memory when it carries a counter, which its drop
    /// counts on.
    struct Counted(Option<std::rc::Rc<std::cell::Cell<u32>>>);

    impl StageResult for Counted {
        fn holds_memory(&self) -> bool {
            self.0.is_some()
        }
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            if let Some(drops) = &self.0 {
                drops.set(drops.get() + 1);
            }
        }
    }

    #[test]
    fn emptying_results_drops_each_that_holds_memory_once_and_keeps_the_room() {
        let drops = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut results = Results::with_capacity(16);
        let frame = Frame {
            index: 1,
            ts_ns: 0,
            link_type: 1,
            interface: 0,
            orig_len: 0,
            bytes: &[],
            comment: None,
        };
        // Frame by frame, one result or two or none; those at 0, 3, 4 and
        // the last hold memory.
        let holding = [0, 3, 4, 9];
        let mut made = 0;
        for pushed in [1, 2, 0, 2, 1, 1, 0, 2, 1] {
            results.stage(
                &mut |_: &Frame<'_>, out: &mut Vec<Counted>| {
                    for _ in 0..pushed {
                        let holds = holding.contains(&made);
                        out.push(Counted(holds.then(|| drops.clone())));
                        made += 1;
                    }
                },
                &frame,
            );
        }
        assert_eq!(results.items.len(), 10);
        assert_eq!(results.holding, holding);
        let room = results.items.capacity();
        results.empty();
        assert_eq!(drops.get(), 4);
        assert!(results.items.is_empty() && results.holding.is_empty());
        assert_eq!(results.items.capacity(), room);
    }

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(TsResolution::Decimal(6).to_ns(1_500_000), 1_500_000_000);
        assert_eq!(TsResolution::Decimal(9).to_ns(7), 7);
        assert_eq!(TsResolution::Decimal(12).to_ns(7_000), 7);
        assert_eq!(TsResolution::Binary(10).to_ns(1024), 1_000_000_000);
        assert_eq!(TsResolution::from_option(0x8a), TsResolution::Binary(10));
        assert_eq!(TsResolution::Decimal(200).to_ns(u64::MAX), 0);
        assert_eq!(TsResolution::Decimal(0).to_ns(u64::MAX), i64::MAX);
    }
}

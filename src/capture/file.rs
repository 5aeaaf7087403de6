//! Capture files: classic pcap (µs or ns, either byte order, "modified" Kuznetzov
//! records, the swapped record lengths of formats before 2.3) and pcapng
//! (several sections, several interfaces with their own link type and
//! `if_tsresol`/`if_tsoffset`, enhanced, simple and obsolete packet blocks,
//! packet comments), optionally gzip-compressed, from a path or stdin.
//!
//! Guarantees: frames are handed out borrowed from one reusable buffer (memory
//! does not grow with the file); a file that is not a capture fails in
//! [`CaptureFile::open`]; a record that cannot be real or a file cut short ends
//! the walk with a [`Damage`] after every frame before it was delivered.

use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pcap_parser::pcapng::{Block, InterfaceDescriptionBlock};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::input::{self, FillReader};
use super::{CaptureError, Damage, Format, Frame};

/// Initial read buffer; records larger than this grow it up to [`MAX_RECORD`].
const BUFFER_BYTES: usize = 1 << 20;
/// Largest record accepted. Real frames are at most 256 KiB (Wireshark's limit).
pub const MAX_RECORD: usize = 16 << 20;
/// Largest captured length a classic pcap record may claim (Wireshark's limit).
const MAX_PCAP_CAPLEN: u32 = 262_144;
/// Link type given to a packet that names an interface its section never described.
pub const LINKTYPE_NO_INTERFACE: u32 = u32::MAX;
/// Most interfaces a file may describe (all sections together): far more than
/// any capture has, and what bounds the memory interface descriptions take.
pub const MAX_INTERFACES: usize = 65_536;
/// Longest interface name kept, in characters (Windows' IF_MAX_STRING_SIZE).
pub const MAX_INTERFACE_NAME: usize = 256;

const OPT_COMMENT: u16 = 1;
const IF_TSOFFSET: u16 = 14;
const ISB_IFDROP: u16 = 5;
const OBSOLETE_PACKET_BLOCK: u32 = 0x0000_0002;

/// One interface of a pcapng section (or the single pseudo-interface of a pcap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub link_type: u32,
    pub name: Option<String>,
    pub snaplen: u32,
    /// Timestamp units per second (10^n or 2^n).
    resolution: TsResolution,
    ts_offset_s: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TsResolution {
    Decimal(u8),
    Binary(u8),
}

impl TsResolution {
    fn from_option(v: u8) -> TsResolution {
        if v & 0x80 == 0 {
            TsResolution::Decimal(v)
        } else {
            TsResolution::Binary(v & 0x7f)
        }
    }

    fn to_ns(self, units: u64) -> i64 {
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
    pub damage: Option<Damage>,
}

/// An opened capture file, ready to walk.
pub struct CaptureFile {
    path: PathBuf,
    format: Format,
    gzip: bool,
    reader: Box<dyn PcapReaderIterator + Send>,
    read_error: Arc<Mutex<Option<ReadFailure>>>,
    section: Section,
}

/// The interfaces and byte order of the current pcapng section (classic pcap:
/// exactly one interface).
#[derive(Default)]
struct Section {
    interfaces: Vec<Interface>,
    big_endian: bool,
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

    fn from_input(path: &Path, input: input::Input) -> Result<CaptureFile, CaptureError> {
        let not_capture = |reason: String| CaptureError::NotACapture {
            path: path.to_path_buf(),
            reason,
        };
        let magic = &input.magic[..input.magic_len];
        let read_error = Arc::new(Mutex::new(None));
        let reader = FillReader::new(ErrorRecorder {
            inner: input.reader,
            slot: Arc::clone(&read_error),
        });
        let kind = match magic {
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
        let io = |e: PcapError<&[u8]>| not_capture(describe_open_error(&e, kind));
        let reader: Box<dyn PcapReaderIterator + Send> = match kind {
            Format::PcapNg => Box::new(PcapNGReader::new(BUFFER_BYTES, reader).map_err(io)?),
            _ => {
                let reader =
                    in_current_length_order(reader).map_err(|source| CaptureError::Io {
                        path: path.to_path_buf(),
                        source,
                    })?;
                Box::new(LegacyPcapReader::new(BUFFER_BYTES, reader).map_err(io)?)
            }
        };
        let mut file = CaptureFile {
            path: path.to_path_buf(),
            format: kind,
            gzip: input.gzip,
            reader,
            read_error,
            section: Section::default(),
        };
        file.read_header().map_err(not_capture)?;
        Ok(file)
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

    /// Consumes the file header (classic pcap) or first section header (pcapng).
    fn read_header(&mut self) -> Result<(), String> {
        let (offset, interface, big_endian) = match self.reader.next() {
            Ok((offset, PcapBlockOwned::LegacyHeader(h))) => {
                if h.version_major != 2 {
                    return Err(format!(
                        "pcap version {}.{} is not supported (only 2.x exists)",
                        h.version_major, h.version_minor
                    ));
                }
                let raw = h.network.0 as u32;
                if raw & 0x03ff_0000 != 0 {
                    return Err(format!(
                        "the link-type field has reserved bits set (0x{raw:08x}); the header is damaged"
                    ));
                }
                let nanos = h.is_nanosecond_precision();
                let iface = Interface {
                    link_type: raw & 0xffff,
                    name: None,
                    snaplen: h.snaplen,
                    resolution: TsResolution::Decimal(if nanos { 9 } else { 6 }),
                    ts_offset_s: 0,
                };
                (offset, Some(iface), h.is_bigendian())
            }
            Ok((offset, PcapBlockOwned::NG(Block::SectionHeader(shb)))) => {
                if shb.block_len1 != shb.block_len2 {
                    return Err(format!(
                        "damaged pcapng header (block length {} at its start, {} at its end)",
                        shb.block_len1, shb.block_len2
                    ));
                }
                if shb.major_version != 1 {
                    return Err(format!(
                        "pcapng version {}.{} is not supported (only 1.x exists)",
                        shb.major_version, shb.minor_version
                    ));
                }
                (offset, None, shb.big_endian())
            }
            Ok(_) => return Err("the first block is not a file header".into()),
            Err(e) => return Err(describe_open_error(&e, self.format)),
        };
        self.reader.consume(offset);
        self.section.interfaces.extend(interface);
        self.section.big_endian = big_endian;
        Ok(())
    }

    /// Calls `on_frame` for every packet, in file order, and returns what else was seen.
    pub fn for_each_frame(&mut self, mut on_frame: impl FnMut(&Frame<'_>)) -> FileSummary {
        let mut summary = FileSummary {
            interfaces: self.section.interfaces.clone(),
            ..FileSummary::default()
        };
        let mut last_ts = 0i64;
        // Link types already in `summary.link_types` (all are below 2^16), so
        // that a packet costs no scan of that list.
        let mut link_type_seen = vec![0u64; 1 << 10];
        loop {
            let damage_at = |reason: String, summary: &FileSummary, offset: usize| {
                Some(Damage::Malformed {
                    after_frame: summary.records,
                    offset: offset as u64,
                    reason,
                })
            };
            let consumed = self.reader.consumed();
            // pcap-parser takes 12 from some blocks' length before making
            // sure it is 12 or more (a panic where overflow is checked).
            if let Some(len) = self.pending_block_length()
                && len < 12
            {
                let reason = format!("invalid pcapng block length {len}");
                summary.damage = damage_at(reason, &summary, consumed);
                return summary;
            }
            match self.reader.next() {
                Ok((size, block)) => {
                    if self.format == Format::PcapNg && size % 4 != 0 {
                        summary.damage = damage_at(
                            format!("pcapng block length {size} is not a multiple of 4"),
                            &summary,
                            consumed,
                        );
                        return summary;
                    }
                    if let PcapBlockOwned::NG(b) = &block
                        && let (start, end) = block_lengths(b)
                        && start != end
                    {
                        summary.damage = damage_at(lengths_differ(start, end), &summary, consumed);
                        return summary;
                    }
                    let packet = match &block {
                        PcapBlockOwned::Legacy(b) => {
                            let Some(iface) = self.section.interfaces.first() else {
                                return summary;
                            };
                            if b.caplen > MAX_PCAP_CAPLEN.max(iface.snaplen) {
                                summary.damage = damage_at(
                                    format!(
                                        "record claims {} captured bytes, more than the snapshot length {}",
                                        b.caplen, iface.snaplen
                                    ),
                                    &summary,
                                    consumed,
                                );
                                return summary;
                            }
                            let frac = u64::from(b.ts_usec);
                            let ts =
                                i64::from(b.ts_sec) * 1_000_000_000 + iface.resolution.to_ns(frac);
                            Some((0, ts, b.origlen, b.data, None))
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let comment = epb
                                .options
                                .iter()
                                .find(|o| o.code.0 == OPT_COMMENT)
                                .and_then(|o| o.as_bytes().ok());
                            let data = &epb.data[..(epb.caplen as usize).min(epb.data.len())];
                            let ts = self.section.ts_of(epb.if_id, units);
                            Some((epb.if_id, ts, epb.origlen, data, comment))
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            // A snaplen of 0 means "no limit" in pcapng.
                            let snap = match self.section.interfaces.first().map(|i| i.snaplen) {
                                Some(0) | None => u32::MAX,
                                Some(s) => s,
                            };
                            let len = spb.origlen.min(snap).min(spb.data.len() as u32);
                            Some((0, last_ts, spb.origlen, &spb.data[..len as usize], None))
                        }
                        PcapBlockOwned::NG(Block::Unknown(ub))
                            if self.section.native(ub.block_type) == OBSOLETE_PACKET_BLOCK =>
                        {
                            match self.section.obsolete_packet(ub.data) {
                                Some((if_id, units, caplen, origlen, data)) => {
                                    let data = &data[..(caplen as usize).min(data.len())];
                                    let ts = self.section.ts_of(if_id, units);
                                    Some((if_id, ts, origlen, data, None))
                                }
                                None => {
                                    summary.damage = damage_at(
                                        "obsolete packet block shorter than its header".into(),
                                        &summary,
                                        consumed,
                                    );
                                    return summary;
                                }
                            }
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                            if shb.major_version != 1 {
                                summary.damage = damage_at(
                                    format!(
                                        "section of unsupported pcapng version {}.{}",
                                        shb.major_version, shb.minor_version
                                    ),
                                    &summary,
                                    consumed,
                                );
                                return summary;
                            }
                            self.section.big_endian = shb.big_endian();
                            self.section.interfaces.clear();
                            None
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            if summary.interfaces.len() >= MAX_INTERFACES {
                                summary.damage = damage_at(
                                    format!("more than {MAX_INTERFACES} interface descriptions"),
                                    &summary,
                                    consumed,
                                );
                                return summary;
                            }
                            let iface = interface_of(idb, self.section.big_endian);
                            summary.interfaces.push(iface.clone());
                            self.section.interfaces.push(iface);
                            None
                        }
                        PcapBlockOwned::NG(Block::InterfaceStatistics(isb)) => {
                            if let Some(drops) = isb
                                .options
                                .iter()
                                .find(|o| o.code.0 == ISB_IFDROP)
                                .and_then(|o| o.as_bytes().ok())
                                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                            {
                                let n = if self.section.big_endian {
                                    u64::from_be_bytes(drops)
                                } else {
                                    u64::from_le_bytes(drops)
                                };
                                *summary.kernel_drops.get_or_insert(0) += n;
                            }
                            None
                        }
                        PcapBlockOwned::NG(Block::Custom(_) | Block::SystemdJournalExport(_)) => {
                            summary.records += 1;
                            None
                        }
                        _ => None,
                    };
                    if let Some((if_id, ts, orig_len, bytes, comment)) = packet {
                        summary.packets += 1;
                        summary.records += 1;
                        last_ts = ts;
                        let link_type = self
                            .section
                            .interfaces
                            .get(if_id as usize)
                            .map_or(LINKTYPE_NO_INTERFACE, |i| i.link_type);
                        if let Some(word) = link_type_seen.get_mut(link_type as usize / 64)
                            && *word & (1 << (link_type % 64)) == 0
                        {
                            *word |= 1 << (link_type % 64);
                            summary.link_types.push(link_type);
                        }
                        on_frame(&Frame {
                            index: summary.records,
                            ts_ns: ts,
                            link_type,
                            interface: if_id,
                            orig_len,
                            bytes,
                            comment,
                        });
                    }
                    self.reader.consume(size);
                }
                Err(PcapError::Eof) => return summary,
                Err(PcapError::Incomplete(_)) => {
                    if let Some(reason) = self.implausible_record() {
                        summary.damage = damage_at(reason, &summary, consumed);
                        return summary;
                    }
                    if self.reader.refill().is_err() {
                        summary.damage = Some(self.read_failure(&summary, consumed));
                        return summary;
                    }
                }
                Err(PcapError::BufferTooSmall) => {
                    if let Some(reason) = self.implausible_record() {
                        summary.damage = damage_at(reason, &summary, consumed);
                        return summary;
                    }
                    let capacity = self.reader.data().len().max(BUFFER_BYTES);
                    if capacity >= MAX_RECORD || !self.reader.grow(capacity * 2) {
                        let reason = self
                            .implausible_record()
                            .unwrap_or_else(|| format!("record larger than {MAX_RECORD} bytes"));
                        summary.damage = damage_at(reason, &summary, consumed);
                        return summary;
                    }
                    if self.reader.refill().is_err() {
                        summary.damage = Some(self.read_failure(&summary, consumed));
                        return summary;
                    }
                }
                Err(PcapError::UnexpectedEof) => {
                    if let Some(reason) = self.implausible_record() {
                        summary.damage = damage_at(reason, &summary, consumed);
                        return summary;
                    }
                    summary.damage = Some(Damage::Truncated {
                        after_frame: summary.records,
                        offset: consumed as u64,
                    });
                    return summary;
                }
                Err(PcapError::ReadError) => {
                    summary.damage = Some(self.read_failure(&summary, consumed));
                    return summary;
                }
                Err(e) => {
                    let parse_error = format!("cannot parse record ({})", short_error(&e));
                    let reason = self.implausible_record().unwrap_or(parse_error);
                    summary.damage = damage_at(reason, &summary, consumed);
                    return summary;
                }
            }
        }
    }

    /// The length field of the pcapng block at the read position, once its
    /// first 8 bytes are read (not for section headers, whose byte order is
    /// their own).
    fn pending_block_length(&self) -> Option<u32> {
        if self.format != Format::PcapNg {
            return None;
        }
        let header: [u8; 8] = self.reader.data().get(..8)?.try_into().ok()?;
        if header[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            return None;
        }
        let len = [header[4], header[5], header[6], header[7]];
        Some(if self.section.big_endian {
            u32::from_be_bytes(len)
        } else {
            u32::from_le_bytes(len)
        })
    }

    /// Looks at the record header at the read position and says why it cannot be
    /// real, if it cannot (so a damaged length is not read as a 4 GiB record).
    fn implausible_record(&self) -> Option<String> {
        let data = self.reader.data();
        let word = |o: usize| -> Option<u32> {
            let b: [u8; 4] = data.get(o..o + 4)?.try_into().ok()?;
            Some(if self.section.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        if self.format == Format::PcapNg {
            let len = word(4)?;
            if len < 12 || len % 4 != 0 {
                return Some(format!("invalid pcapng block length {len}"));
            }
            if len as usize > MAX_RECORD {
                return Some(format!(
                    "pcapng block claims {len} bytes, more than any packet block can hold"
                ));
            }
            let end = word(len as usize - 4)?;
            (end != len).then(|| lengths_differ(len, end))
        } else {
            let caplen = word(8)?;
            let snaplen = self.section.interfaces.first().map_or(0, |i| i.snaplen);
            (caplen > MAX_PCAP_CAPLEN.max(snaplen)).then(|| {
                format!(
                    "record claims {caplen} captured bytes, more than the snapshot length {snaplen}"
                )
            })
        }
    }

    /// The damage a failed read stands for: input that ends too early (a gzip
    /// stream cut short) is a truncated file; any other error ends the walk.
    fn read_failure(&self, summary: &FileSummary, offset: usize) -> Damage {
        let failure = self.read_error.lock().ok().and_then(|mut slot| slot.take());
        match failure {
            Some(ReadFailure {
                kind: io::ErrorKind::UnexpectedEof,
                ..
            }) => Damage::Truncated {
                after_frame: summary.records,
                offset: offset as u64,
            },
            other => Damage::Malformed {
                after_frame: summary.records,
                offset: offset as u64,
                reason: other.map_or_else(|| "read error".into(), |f| f.message),
            },
        }
    }
}

impl Section {
    fn native(&self, raw_le: u32) -> u32 {
        if self.big_endian {
            raw_le.swap_bytes()
        } else {
            raw_le
        }
    }

    fn ts_of(&self, if_id: u32, units: u64) -> i64 {
        match self.interfaces.get(if_id as usize) {
            Some(i) => i
                .resolution
                .to_ns(units)
                .saturating_add(i.ts_offset_s.saturating_mul(1_000_000_000)),
            None => TsResolution::Decimal(6).to_ns(units),
        }
    }

    /// Fields of an obsolete (type 2) packet block body.
    fn obsolete_packet<'a>(&self, body: &'a [u8]) -> Option<(u32, u64, u32, u32, &'a [u8])> {
        let u16_at = |o: usize| -> Option<u16> {
            let b: [u8; 2] = body.get(o..o + 2)?.try_into().ok()?;
            Some(if self.big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            })
        };
        let u32_at = |o: usize| -> Option<u32> {
            let b: [u8; 4] = body.get(o..o + 4)?.try_into().ok()?;
            Some(if self.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        let if_id = u32::from(u16_at(0)?);
        let units = (u64::from(u32_at(4)?) << 32) | u64::from(u32_at(8)?);
        let caplen = u32_at(12)?;
        let origlen = u32_at(16)?;
        Some((if_id, units, caplen, origlen, body.get(20..)?))
    }
}

fn interface_of(idb: &InterfaceDescriptionBlock<'_>, big_endian: bool) -> Interface {
    // `if_tsoffset` is read here: the parser reads it little-endian in every section.
    let ts_offset_s = idb
        .options
        .iter()
        .find(|o| o.code.0 == IF_TSOFFSET)
        .and_then(|o| o.as_bytes().ok())
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, |b| {
            if big_endian {
                i64::from_be_bytes(b)
            } else {
                i64::from_le_bytes(b)
            }
        });
    Interface {
        link_type: idb.linktype.0 as u32 & 0xffff,
        name: idb
            .if_name()
            .and_then(|r| r.ok())
            .map(|n| n.chars().take(MAX_INTERFACE_NAME).collect()),
        snaplen: idb.snaplen,
        resolution: TsResolution::from_option(idb.if_tsresol),
        ts_offset_s,
    }
}

fn lengths_differ(start: u32, end: u32) -> String {
    format!("pcapng block length {start} at its start and {end} at its end differ")
}

/// The block length fields at the start and at the end of a pcapng block,
/// which must agree for the file to be framed.
fn block_lengths(block: &Block<'_>) -> (u32, u32) {
    match block {
        Block::SectionHeader(b) => (b.block_len1, b.block_len2),
        Block::InterfaceDescription(b) => (b.block_len1, b.block_len2),
        Block::EnhancedPacket(b) => (b.block_len1, b.block_len2),
        Block::SimplePacket(b) => (b.block_len1, b.block_len2),
        Block::NameResolution(b) => (b.block_len1, b.block_len2),
        Block::InterfaceStatistics(b) => (b.block_len1, b.block_len2),
        Block::SystemdJournalExport(b) => (b.block_len1, b.block_len2),
        Block::DecryptionSecrets(b) => (b.block_len1, b.block_len2),
        Block::ProcessInformation(b) => (b.block_len1, b.block_len2),
        Block::Custom(b) => (b.block_len1, b.block_len2),
        Block::Unknown(b) => (b.block_len1, b.block_len2),
    }
}

fn describe_open_error(e: &PcapError<&[u8]>, format: Format) -> String {
    match e {
        PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
            format!("the file ends inside its {} header", format.name())
        }
        other => format!("damaged {} header ({})", format.name(), short_error(other)),
    }
}

fn short_error(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) => format!("{kind:?}"),
        PcapError::OwnedNomError(_, kind) => format!("{kind:?}"),
        other => other.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last I/O error, which the capture parser reduces to a bare "read error".
struct ReadFailure {
    kind: io::ErrorKind,
    message: String,
}

/// Reads the classic pcap file header from `reader` and returns a reader of the
/// whole file whose record headers have the captured length before the original
/// length. Files of format 2.0 to 2.2 hold them the other way round, and some
/// 2.3 files too (then the captured length is the larger one); libpcap and
/// Wireshark swap them back in the same cases.
fn in_current_length_order(mut reader: impl Read + Send + 'static) -> io::Result<impl Read + Send> {
    let mut header = [0u8; 24];
    let n = reader.read(&mut header)?;
    let u16_at = |o: usize, big_endian: bool| {
        let b = [header[o], header[o + 1]];
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let big_endian = match header[..4] {
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => Some(true),
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => Some(false),
        _ => None, // the modified format, whose records are laid out differently
    };
    let swap = big_endian.filter(|_| n == header.len()).and_then(|be| {
        match (u16_at(4, be), u16_at(6, be)) {
            (2, 0..=2) => Some((be, false)),
            (2, 3) => Some((be, true)),
            _ => None,
        }
    });
    let rest: Box<dyn Read + Send> = match swap {
        Some((big_endian, only_if_larger)) => Box::new(SwappedLengths {
            inner: FillReader::new(reader),
            big_endian,
            only_if_larger,
            data_left: 0,
            header: [0; 16],
            header_len: 0,
            header_out: 0,
        }),
        None => Box::new(reader),
    };
    Ok(FillReader::new(
        Cursor::new(header[..n].to_vec()).chain(rest),
    ))
}

/// Swaps the two length fields of every record header as the records stream by.
struct SwappedLengths<R> {
    inner: FillReader<R>,
    big_endian: bool,
    /// Swap only where the captured length is the larger (format 2.3).
    only_if_larger: bool,
    /// Record data still to pass before the next record header.
    data_left: u64,
    /// The current record header, and how much of it was handed out.
    header: [u8; 16],
    header_len: usize,
    header_out: usize,
}

impl<R: Read> Read for SwappedLengths<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.header_out < self.header_len {
            let n = (self.header_len - self.header_out).min(buf.len());
            buf[..n].copy_from_slice(&self.header[self.header_out..self.header_out + n]);
            self.header_out += n;
            return Ok(n);
        }
        if self.data_left > 0 {
            let want = buf
                .len()
                .min(usize::try_from(self.data_left).unwrap_or(usize::MAX));
            let n = self.inner.read(&mut buf[..want])?;
            self.data_left -= n as u64;
            return Ok(n);
        }
        // The next record header, whole unless the input ends inside it.
        self.header_len = self.inner.read(&mut self.header)?;
        self.header_out = 0;
        if self.header_len == 0 {
            return Ok(0);
        }
        if self.header_len == self.header.len() {
            let field = |h: &[u8; 16], o: usize| {
                let b = [h[o], h[o + 1], h[o + 2], h[o + 3]];
                if self.big_endian {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                }
            };
            let (first, second) = (field(&self.header, 8), field(&self.header, 12));
            let captured = if !self.only_if_larger || first > second {
                let (a, b) = self.header.split_at_mut(12);
                a[8..12].swap_with_slice(&mut b[..4]);
                second
            } else {
                first
            };
            self.data_left = u64::from(captured);
        }
        self.read(buf)
    }
}

/// Keeps the kind and message of the last I/O error.
struct ErrorRecorder {
    inner: Box<dyn std::io::Read + Send>,
    slot: Arc<Mutex<Option<ReadFailure>>>,
}

impl std::io::Read for ErrorRecorder {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if let Ok(mut slot) = self.slot.lock() {
                *slot = Some(ReadFailure {
                    kind: e.kind(),
                    message: e.to_string(),
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

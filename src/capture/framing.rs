//! Record framing for classic pcap and pcapng: given the bytes at the read
//! position, says what the next record is (a packet, another block, damage)
//! or how many bytes it needs. Pure: no I/O, no allocation per packet.
//!
//! Guarantees: every length field is checked against what can be real before
//! it is trusted, so a damaged file never makes the reader wait for gigabytes;
//! frame numbers count records as Wireshark does (pcapng custom and
//! systemd-journal blocks included).

use std::ops::Range;

use super::Frame;
use super::file::{Interface, LINKTYPE_NO_INTERFACE, TsResolution};

/// Largest record accepted. Real frames are at most 256 KiB (Wireshark's limit).
pub const MAX_RECORD: usize = 16 << 20;
/// Largest captured length a classic pcap record may claim (Wireshark's limit).
pub const MAX_PCAP_CAPLEN: u32 = 262_144;
/// Most interfaces a file may describe (all sections together): far more than
/// any capture has, and what bounds the memory interface descriptions take.
pub const MAX_INTERFACES: usize = 65_536;
/// Longest interface name kept, in characters (Windows' IF_MAX_STRING_SIZE).
pub const MAX_INTERFACE_NAME: usize = 256;

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 0x0000_0001;
const OPB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const ISB: u32 = 0x0000_0005;
const EPB: u32 = 0x0000_0006;
const SJE: u32 = 0x0000_0009;
const CB_COPY: u32 = 0x0000_0bad;
const CB_NO_COPY: u32 = 0x4000_0bad;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
const OPT_COMMENT: u16 = 1;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;
const ISB_IFDROP: u16 = 5;

/// How classic pcap record headers hold their two length fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthOrder {
    /// Captured length, then original length (format 2.4 and later).
    Current,
    /// Swapped, as formats 2.0 to 2.2 wrote them.
    Swapped,
    /// Format 2.3: swapped where the first is the larger (as libpcap decides).
    SwappedIfLarger,
}

/// The container being framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Pcap {
        big_endian: bool,
        /// Kuznetzov's "modified" format: 24-byte record headers.
        modified: bool,
        lengths: LengthOrder,
    },
    PcapNg,
}

/// A packet record: where its fields are, relative to the record's start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub index: u64,
    pub ts_ns: i64,
    pub link_type: u32,
    pub interface: u32,
    pub orig_len: u32,
    pub data: Range<usize>,
    pub comment: Option<Range<usize>>,
}

/// What the bytes at the read position are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A packet record of this many bytes.
    Packet(Packet, usize),
    /// A record that is not a packet (already taken into account), of this many bytes.
    Other(usize),
    /// The record needs this many bytes in all, more than are there.
    Need(usize),
    /// The record cannot be real; the rest of the file cannot be framed.
    Damaged(String),
}

/// Framing state: the current section's interfaces and byte order, counts.
#[derive(Clone, Debug)]
pub struct Framer {
    pub container: Container,
    big_endian: bool,
    /// Interfaces of the current pcapng section (classic pcap: exactly one).
    section: Vec<Interface>,
    /// Interfaces of all sections, in order of description.
    pub interfaces: Vec<Interface>,
    pub records: u64,
    pub packets: u64,
    pub link_types: Vec<u32>,
    /// One bit per link type (all are below 2^16) already in `link_types`,
    /// so that no packet costs a scan of that list.
    link_type_seen: Box<[u64; 1024]>,
    pub kernel_drops: Option<u64>,
    /// Time of the first packet and of the latest one.
    first_ts: i64,
    last_ts: i64,
    /// The interface of the last packet the fast path framed, so that the
    /// next packet on it needs no lookup; cleared when the section changes.
    hot: Option<HotInterface>,
}

/// What the fast path needs of an interface.
#[derive(Clone, Copy, Debug)]
struct HotInterface {
    id: u32,
    link_type: u32,
    resolution: TsResolution,
    ts_offset_ns: i64,
}

#[inline(always)]
fn u16_at(b: &[u8], at: usize, big_endian: bool) -> u16 {
    let v = [b[at], b[at + 1]];
    if big_endian {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

#[inline(always)]
fn u32_at(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if big_endian {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

fn u64_at(b: &[u8], at: usize, big_endian: bool) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    if big_endian {
        u64::from_be_bytes(v)
    } else {
        u64::from_le_bytes(v)
    }
}

/// The options of a pcapng block body: (code, value range), stopping at the
/// end-of-options marker or at the first option that overruns the block.
fn options(
    block: &[u8],
    from: usize,
    big_endian: bool,
) -> impl Iterator<Item = (u16, Range<usize>)> + '_ {
    let end = block.len().saturating_sub(4);
    let mut at = from;
    std::iter::from_fn(move || {
        if at + 4 > end {
            return None;
        }
        let code = u16_at(block, at, big_endian);
        let len = usize::from(u16_at(block, at + 2, big_endian));
        let value = at + 4..at + 4 + len;
        if code == 0 || value.end > end {
            return None;
        }
        at = value.start + len.div_ceil(4) * 4;
        Some((code, value))
    })
}

/// Byte order of a section header block from its byte-order magic.
pub fn section_byte_order(block: &[u8]) -> Option<bool> {
    match block.get(8..12)? {
        [0x4d, 0x3c, 0x2b, 0x1a] => Some(false),
        [0x1a, 0x2b, 0x3c, 0x4d] => Some(true),
        _ => None,
    }
}

/// A section header's length field, read in its own byte order.
pub fn section_length(block: &[u8]) -> Option<(u32, bool)> {
    let big_endian = section_byte_order(block)?;
    Some((u32_at(block, 4, big_endian), big_endian))
}

pub fn lengths_differ(start: u32, end: u32) -> String {
    format!("pcapng block length {start} at its start and {end} at its end differ")
}

impl Framer {
    /// A framer for classic pcap with the file header's interface.
    pub fn pcap(
        big_endian: bool,
        modified: bool,
        lengths: LengthOrder,
        interface: Interface,
    ) -> Framer {
        Framer {
            container: Container::Pcap {
                big_endian,
                modified,
                lengths,
            },
            big_endian,
            section: vec![interface.clone()],
            interfaces: vec![interface],
            records: 0,
            packets: 0,
            link_types: Vec::new(),
            link_type_seen: Box::new([0; 1024]),
            kernel_drops: None,
            first_ts: 0,
            last_ts: 0,
            hot: None,
        }
    }

    /// Counts a packet record framed at `ts_ns` (both paths, slow and fast).
    #[inline(always)]
    fn count_packet(&mut self, ts_ns: i64) {
        self.records += 1;
        self.packets += 1;
        if self.packets == 1 {
            self.first_ts = ts_ns;
        }
        self.last_ts = ts_ns;
    }

    /// Times of the first and the last packet framed (ns since the epoch),
    /// once there is one.
    pub fn span(&self) -> Option<(i64, i64)> {
        (self.packets > 0).then_some((self.first_ts, self.last_ts))
    }

    /// A framer for pcapng after the first section header (in this byte order).
    pub fn pcapng(big_endian: bool) -> Framer {
        Framer {
            container: Container::PcapNg,
            big_endian,
            section: Vec::new(),
            interfaces: Vec::new(),
            records: 0,
            packets: 0,
            link_types: Vec::new(),
            link_type_seen: Box::new([0; 1024]),
            kernel_drops: None,
            first_ts: 0,
            last_ts: 0,
            hot: None,
        }
    }

    /// Frames the record at the start of `data`. `Need` only when `data` is
    /// shorter than the record; the caller decides whether more can come.
    pub fn step(&mut self, data: &[u8]) -> Step {
        match self.container {
            Container::Pcap {
                big_endian,
                modified,
                lengths,
            } => self.pcap_record(data, big_endian, modified, lengths),
            Container::PcapNg => self.pcapng_block(data),
        }
    }

    #[inline]
    fn packet(
        &mut self,
        interface: u32,
        ts_ns: i64,
        orig_len: u32,
        data: Range<usize>,
        comment: Option<Range<usize>>,
    ) -> Packet {
        self.count_packet(ts_ns);
        let link_type = self
            .section
            .get(interface as usize)
            .map_or(LINKTYPE_NO_INTERFACE, |i| i.link_type);
        self.note_link_type(link_type);
        Packet {
            index: self.records,
            ts_ns,
            link_type,
            interface,
            orig_len,
            data,
            comment,
        }
    }

    fn pcap_record(&mut self, data: &[u8], be: bool, modified: bool, lengths: LengthOrder) -> Step {
        let header = if modified { 24 } else { 16 };
        if data.len() < header {
            return Step::Need(header);
        }
        let (first, second) = (u32_at(data, 8, be), u32_at(data, 12, be));
        let (caplen, orig_len) = match lengths {
            LengthOrder::Current => (first, second),
            LengthOrder::Swapped => (second, first),
            LengthOrder::SwappedIfLarger if first > second => (second, first),
            LengthOrder::SwappedIfLarger => (first, second),
        };
        let snaplen = self.section.first().map_or(0, |i| i.snaplen);
        if caplen > MAX_PCAP_CAPLEN.max(snaplen) {
            return Step::Damaged(format!(
                "record claims {caplen} captured bytes, more than the snapshot length {snaplen}"
            ));
        }
        // A header may claim any snapshot length: the record is bounded anyway.
        if caplen as usize > MAX_RECORD - header {
            return Step::Damaged(format!(
                "record claims {caplen} captured bytes, more than any packet can hold"
            ));
        }
        let total = header + caplen as usize;
        if data.len() < total {
            return Step::Need(total);
        }
        let resolution = self
            .section
            .first()
            .map_or(TsResolution::Decimal(6), |i| i.resolution);
        let ts = i64::from(u32_at(data, 0, be)) * 1_000_000_000
            + resolution.to_ns(u64::from(u32_at(data, 4, be)));
        let packet = self.packet(0, ts, orig_len, header..total, None);
        Step::Packet(packet, total)
    }

    fn pcapng_block(&mut self, data: &[u8]) -> Step {
        if let Some((frame, len)) = self.plain_packet(data) {
            let packet = Packet {
                index: frame.index,
                ts_ns: frame.ts_ns,
                link_type: frame.link_type,
                interface: frame.interface,
                orig_len: frame.orig_len,
                data: 28..28 + frame.bytes.len(),
                comment: None,
            };
            return Step::Packet(packet, len);
        }
        if data.len() < 12 {
            return Step::Need(12);
        }
        let raw_type = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        // A section header carries its own byte order.
        let section_order = if raw_type == SHB {
            match section_byte_order(data) {
                Some(be) => Some(be),
                None => {
                    return Step::Damaged("section header with an unknown byte-order magic".into());
                }
            }
        } else {
            None
        };
        let be = section_order.unwrap_or(self.big_endian);
        let kind = if raw_type == SHB {
            SHB
        } else {
            u32_at(data, 0, be)
        };
        let len = u32_at(data, 4, be);
        if len < 12 {
            return Step::Damaged(format!("invalid pcapng block length {len}"));
        }
        if !len.is_multiple_of(4) {
            return Step::Damaged(format!("pcapng block length {len} is not a multiple of 4"));
        }
        if len as usize > MAX_RECORD {
            return Step::Damaged(format!(
                "pcapng block claims {len} bytes, more than any packet block can hold"
            ));
        }
        let len = len as usize;
        if data.len() < len {
            return Step::Need(len);
        }
        let end = u32_at(data, len - 4, be);
        if end as usize != len {
            return Step::Damaged(lengths_differ(len as u32, end));
        }
        let block = &data[..len];
        match kind {
            SHB => {
                let (major, minor) = (u16_at(block, 12, be), u16_at(block, 14, be));
                if major != 1 {
                    return Step::Damaged(format!(
                        "section of unsupported pcapng version {major}.{minor}"
                    ));
                }
                self.big_endian = be;
                self.section.clear();
                self.hot = None;
                Step::Other(len)
            }
            IDB => {
                if len < 20 {
                    return Step::Damaged(
                        "interface description block shorter than its header".into(),
                    );
                }
                if self.interfaces.len() >= MAX_INTERFACES {
                    return Step::Damaged(format!(
                        "more than {MAX_INTERFACES} interface descriptions"
                    ));
                }
                let iface = interface_of(block, be);
                self.interfaces.push(iface.clone());
                self.section.push(iface);
                self.hot = None;
                Step::Other(len)
            }
            EPB => {
                if len < 32 {
                    return Step::Damaged("enhanced packet block shorter than its header".into());
                }
                let interface = u32_at(block, 8, be);
                let units =
                    (u64::from(u32_at(block, 12, be)) << 32) | u64::from(u32_at(block, 16, be));
                let caplen = u32_at(block, 20, be) as usize;
                let orig_len = u32_at(block, 24, be);
                let data_end = 28 + caplen;
                if data_end > len - 4 {
                    return Step::Damaged(format!(
                        "enhanced packet block of {len} bytes cannot hold its {caplen} captured bytes"
                    ));
                }
                let opts_at = 28 + caplen.div_ceil(4) * 4;
                let comment = options(block, opts_at, be)
                    .find(|(c, _)| *c == OPT_COMMENT)
                    .map(|(_, r)| r);
                let ts = self.ts_of(interface, units);
                Step::Packet(
                    self.packet(interface, ts, orig_len, 28..data_end, comment),
                    len,
                )
            }
            SPB => {
                if len < 16 {
                    return Step::Damaged("simple packet block shorter than its header".into());
                }
                let orig_len = u32_at(block, 8, be);
                // A snaplen of 0 means "no limit" in pcapng.
                let snap = match self.section.first().map(|i| i.snaplen) {
                    Some(0) | None => u32::MAX,
                    Some(s) => s,
                };
                let caplen = orig_len.min(snap).min((len - 16) as u32) as usize;
                let ts = self.last_ts;
                Step::Packet(self.packet(0, ts, orig_len, 12..12 + caplen, None), len)
            }
            OPB => {
                if len < 32 {
                    return Step::Damaged("obsolete packet block shorter than its header".into());
                }
                let interface = u32::from(u16_at(block, 8, be));
                let units =
                    (u64::from(u32_at(block, 12, be)) << 32) | u64::from(u32_at(block, 16, be));
                let caplen = u32_at(block, 20, be) as usize;
                let orig_len = u32_at(block, 24, be);
                let data_end = (28 + caplen).min(len - 4);
                let opts_at = 28 + caplen.div_ceil(4) * 4;
                let comment = options(block, opts_at, be)
                    .find(|(c, _)| *c == OPT_COMMENT)
                    .map(|(_, r)| r);
                let ts = self.ts_of(interface, units);
                Step::Packet(
                    self.packet(interface, ts, orig_len, 28..data_end, comment),
                    len,
                )
            }
            ISB => {
                if len >= 24
                    && let Some((_, r)) =
                        options(block, 20, be).find(|(c, r)| *c == ISB_IFDROP && r.len() == 8)
                {
                    *self.kernel_drops.get_or_insert(0) += u64_at(block, r.start, be);
                }
                Step::Other(len)
            }
            CB_COPY | CB_NO_COPY | SJE => {
                self.records += 1;
                Step::Other(len)
            }
            _ => Step::Other(len),
        }
    }

    /// The frame of the record at the start of `data` and the record's
    /// length, when it is what nearly every record of a capture is: an
    /// enhanced packet block without options, in the section's byte order,
    /// whole, well-formed, on an interface the section described. Anything
    /// else is `None` and goes to [`Self::step`], which checks everything;
    /// for these records both give the same frame.
    #[inline(always)]
    pub fn plain_packet<'a>(&mut self, data: &'a [u8]) -> Option<(Frame<'a>, usize)> {
        if !matches!(self.container, Container::PcapNg) {
            return None;
        }
        // One copy of the code per byte order, so that each header word is
        // one load (and a byte swap), not a branch.
        if self.big_endian {
            self.plain_packet_in::<true>(data)
        } else {
            self.plain_packet_in::<false>(data)
        }
    }

    #[inline(always)]
    fn plain_packet_in<'a, const BE: bool>(
        &mut self,
        data: &'a [u8],
    ) -> Option<(Frame<'a>, usize)> {
        let h = data.first_chunk::<28>()?;
        let rd = |at: usize| {
            let v = u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
            if BE { v.swap_bytes() } else { v }
        };
        let (len, caplen) = (rd(4) as usize, rd(20) as usize);
        if rd(0) != EPB
            || len != 32 + caplen.div_ceil(4) * 4
            || len > data.len()
            || u32_at(data, len - 4, BE) as usize != len
        {
            return None;
        }
        let interface = rd(8);
        let hot = match self.hot {
            Some(hot) if hot.id == interface => hot,
            _ => self.heat(interface)?,
        };
        let units = (u64::from(rd(12)) << 32) | u64::from(rd(16));
        let ts_ns = hot.resolution.to_ns(units).saturating_add(hot.ts_offset_ns);
        self.count_packet(ts_ns);
        let frame = Frame {
            index: self.records,
            ts_ns,
            link_type: hot.link_type,
            interface,
            orig_len: rd(24),
            bytes: &data[28..28 + caplen],
            comment: None,
        };
        Some((frame, len))
    }

    /// Makes `interface` of the current section the hot one (and notes its
    /// link type as used); `None` if the section has no such interface.
    #[cold]
    fn heat(&mut self, interface: u32) -> Option<HotInterface> {
        let i = self.section.get(interface as usize)?;
        let hot = HotInterface {
            id: interface,
            link_type: i.link_type,
            resolution: i.resolution,
            ts_offset_ns: i.ts_offset_s.saturating_mul(1_000_000_000),
        };
        self.note_link_type(hot.link_type);
        self.hot = Some(hot);
        Some(hot)
    }

    /// Adds `link_type` to the list of link types used, once.
    #[inline]
    fn note_link_type(&mut self, link_type: u32) {
        // LINKTYPE_NO_INTERFACE (and nothing else) is past the bit set.
        if let Some(word) = self.link_type_seen.get_mut(link_type as usize / 64)
            && *word & (1 << (link_type % 64)) == 0
        {
            *word |= 1 << (link_type % 64);
            self.link_types.push(link_type);
        }
    }

    #[inline]
    fn ts_of(&self, interface: u32, units: u64) -> i64 {
        match self.section.get(interface as usize) {
            Some(i) => i
                .resolution
                .to_ns(units)
                .saturating_add(i.ts_offset_s.saturating_mul(1_000_000_000)),
            None => TsResolution::Decimal(6).to_ns(units),
        }
    }
}

/// An interface description block's fields.
fn interface_of(block: &[u8], be: bool) -> Interface {
    let mut iface = Interface {
        link_type: u32::from(u16_at(block, 8, be)),
        name: None,
        snaplen: u32_at(block, 12, be),
        resolution: TsResolution::Decimal(6),
        ts_offset_s: 0,
    };
    for (code, value) in options(block, 16, be) {
        let v = &block[value.clone()];
        match code {
            IF_NAME => {
                let name = v.split(|&b| b == 0).next().unwrap_or_default();
                let name = String::from_utf8_lossy(name);
                iface.name = Some(name.chars().take(MAX_INTERFACE_NAME).collect());
            }
            IF_TSRESOL if v.len() == 1 => iface.resolution = TsResolution::from_option(v[0]),
            IF_TSOFFSET if v.len() == 8 => {
                iface.ts_offset_s = u64_at(block, value.start, be) as i64
            }
            _ => {}
        }
    }
    iface
}

/// Checks the pcapng byte-order magic value, for the file header.
pub fn is_byte_order_magic(v: u32) -> bool {
    v == BYTE_ORDER_MAGIC
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth_iface() -> Interface {
        Interface {
            link_type: 1,
            name: None,
            snaplen: 65535,
            resolution: TsResolution::Decimal(6),
            ts_offset_s: 0,
        }
    }

    #[test]
    fn pcap_record_needs_and_frames() {
        let mut f = Framer::pcap(false, false, LengthOrder::Current, eth_iface());
        let mut rec = Vec::new();
        for v in [1u32, 500_000, 3, 60] {
            rec.extend_from_slice(&v.to_le_bytes());
        }
        rec.extend_from_slice(&[1, 2, 3]);
        assert_eq!(f.step(&rec[..10]), Step::Need(16));
        assert_eq!(f.step(&rec[..17]), Step::Need(19));
        let Step::Packet(p, 19) = f.step(&rec) else {
            panic!()
        };
        assert_eq!(
            (p.index, p.ts_ns, p.orig_len, p.data),
            (1, 1_500_000_000, 60, 16..19)
        );
    }

    #[test]
    fn implausible_lengths_are_damage_not_waits() {
        let mut f = Framer::pcap(false, false, LengthOrder::Current, eth_iface());
        let mut rec = vec![0u8; 8];
        rec.extend_from_slice(&u32::MAX.to_le_bytes());
        rec.extend_from_slice(&60u32.to_le_bytes());
        assert!(matches!(f.step(&rec), Step::Damaged(r) if r.contains("4294967295")));
        let mut ng = Framer::pcapng(false);
        let block = [6u8, 0, 0, 0, 0xf0, 0xff, 0xff, 0x7f, 0, 0, 0, 0];
        assert!(matches!(ng.step(&block), Step::Damaged(r) if r.contains("2147483632")));
        let zero = [6u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(ng.step(&zero), Step::Damaged(r) if r.contains("block length 0")));
    }
}

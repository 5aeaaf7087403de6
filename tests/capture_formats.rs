//! Capture readers over real files of `../shared/corpus` (expected values are
//! tshark 4.0's, hard-coded here) and over files synthesized in a temporary
//! directory: every container variant, every kind of damage, gzip (plain,
//! cut short, bomb). Tests that need the corpus print `SKIP: ...` without it.

mod common;
use common::Scratch;

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use isatap_trace::capture::file::{CaptureFile, FileSummary, LINKTYPE_NO_INTERFACE};
use isatap_trace::capture::pcapng_writer::PcapngWriter;
use isatap_trace::capture::{CaptureError, Damage, Format};
use isatap_trace::decode::{ErrorKind, decode};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// What a test keeps of one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    index: u64,
    ts_ns: i64,
    link_type: u32,
    interface: u32,
    orig_len: u32,
    bytes: Vec<u8>,
    comment: Option<Vec<u8>>,
}

fn read_all(path: &Path) -> (Vec<Seen>, FileSummary) {
    let mut file =
        CaptureFile::open(path).unwrap_or_else(|e| panic!("{} should open: {e}", path.display()));
    read_open(&mut file)
}

fn read_open(file: &mut CaptureFile) -> (Vec<Seen>, FileSummary) {
    let mut seen = Vec::new();
    let summary = file.for_each_frame(|f| {
        seen.push(Seen {
            index: f.index,
            ts_ns: f.ts_ns,
            link_type: f.link_type,
            interface: f.interface,
            orig_len: f.orig_len,
            bytes: f.bytes.to_vec(),
            comment: f.comment.map(<[u8]>::to_vec),
        });
    });
    (seen, summary)
}

fn open_error(path: &Path) -> CaptureError {
    match CaptureFile::open(path) {
        Ok(_) => panic!("{} must not open as a capture", path.display()),
        Err(e) => e,
    }
}

/// `(index, ts_ns, link_type, caplen, orig_len)` of every frame.
fn rows(seen: &[Seen]) -> Vec<(u64, i64, u32, usize, u32)> {
    seen.iter()
        .map(|s| (s.index, s.ts_ns, s.link_type, s.bytes.len(), s.orig_len))
        .collect()
}

fn corpus_file(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !dir.is_dir() {
        println!("SKIP: {} is absent", dir.display());
        return None;
    }
    let path = dir.join(name);
    assert!(path.is_file(), "corpus file {name} is missing");
    Some(path)
}

macro_rules! corpus {
    ($name:expr) => {
        match corpus_file($name) {
            Some(p) => p,
            None => return,
        }
    };
}

const S: i64 = 1_000_000_000;

/// A scratch directory of this suite.
fn scratch(tag: &str) -> Scratch {
    Scratch::new("capture-formats", tag)
}

/// Classic pcap writer for either byte order and resolution.
struct Pcap {
    be: bool,
    bytes: Vec<u8>,
}

impl Pcap {
    fn new(be: bool, nanos: bool, snaplen: u32, link_type: u32) -> Pcap {
        let mut p = Pcap {
            be,
            bytes: Vec::new(),
        };
        p.u32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        p.u16(2);
        p.u16(4);
        p.u32(0);
        p.u32(0);
        p.u32(snaplen);
        p.u32(link_type);
        p
    }

    fn u16(&mut self, v: u16) {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }

    fn u32(&mut self, v: u32) {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }

    fn record(&mut self, sec: u32, frac: u32, orig_len: u32, data: &[u8]) -> &mut Pcap {
        self.record_claiming(sec, frac, data.len() as u32, orig_len, data)
    }

    fn record_claiming(
        &mut self,
        sec: u32,
        frac: u32,
        caplen: u32,
        orig_len: u32,
        data: &[u8],
    ) -> &mut Pcap {
        self.u32(sec);
        self.u32(frac);
        self.u32(caplen);
        self.u32(orig_len);
        self.bytes.extend_from_slice(data);
        self
    }
}

/// pcapng block builder for either byte order.
struct Ng {
    be: bool,
    bytes: Vec<u8>,
}

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const OPB: u32 = 2;
const ISB: u32 = 5;
const EPB: u32 = 6;
const SPB: u32 = 3;

impl Ng {
    fn new(be: bool) -> Ng {
        let mut ng = Ng {
            be,
            bytes: Vec::new(),
        };
        ng.section();
        ng
    }

    fn u16(&self, v: u16) -> [u8; 2] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32(&self, v: u32) -> [u8; 4] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u64(&self, v: u64) -> [u8; 8] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// One option (code, value), padded to 32 bits.
    fn opt(&self, code: u16, value: &[u8]) -> Vec<u8> {
        let mut o = Vec::new();
        o.extend_from_slice(&self.u16(code));
        o.extend_from_slice(&self.u16(value.len() as u16));
        o.extend_from_slice(value);
        while !o.len().is_multiple_of(4) {
            o.push(0);
        }
        o
    }

    fn opt_end(&self) -> Vec<u8> {
        vec![0; 4]
    }

    /// Appends a block whose body is padded to 32 bits; returns its offset.
    fn block(&mut self, kind: u32, body: &[u8]) -> usize {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let total = (body.len() + 12) as u32;
        self.raw_block(kind, total, &body, total)
    }

    /// Appends a block with the given length fields, unchecked.
    fn raw_block(&mut self, kind: u32, len1: u32, body: &[u8], len2: u32) -> usize {
        let at = self.bytes.len();
        let (k, l1, l2) = (self.u32(kind), self.u32(len1), self.u32(len2));
        self.bytes.extend_from_slice(&k);
        self.bytes.extend_from_slice(&l1);
        self.bytes.extend_from_slice(body);
        self.bytes.extend_from_slice(&l2);
        at
    }

    fn section(&mut self) -> usize {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32(0x1a2b_3c4d));
        body.extend_from_slice(&self.u16(1));
        body.extend_from_slice(&self.u16(0));
        body.extend_from_slice(&self.u64(u64::MAX));
        self.block(SHB, &body)
    }

    fn interface(&mut self, link_type: u16, snaplen: u32, options: &[Vec<u8>]) -> usize {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16(link_type));
        body.extend_from_slice(&self.u16(0));
        body.extend_from_slice(&self.u32(snaplen));
        if !options.is_empty() {
            for o in options {
                body.extend_from_slice(o);
            }
            body.extend_from_slice(&self.opt_end());
        }
        self.block(IDB, &body)
    }

    fn epb(&mut self, interface: u32, units: u64, orig_len: u32, data: &[u8]) -> usize {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32(interface));
        body.extend_from_slice(&self.u32((units >> 32) as u32));
        body.extend_from_slice(&self.u32(units as u32));
        body.extend_from_slice(&self.u32(data.len() as u32));
        body.extend_from_slice(&self.u32(orig_len));
        body.extend_from_slice(data);
        self.block(EPB, &body)
    }

    /// Obsolete packet block (type 2): 16-bit interface id and drops count.
    fn opb(&mut self, interface: u16, units: u64, orig_len: u32, data: &[u8], comment: &[u8]) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16(interface));
        body.extend_from_slice(&self.u16(0));
        body.extend_from_slice(&self.u32((units >> 32) as u32));
        body.extend_from_slice(&self.u32(units as u32));
        body.extend_from_slice(&self.u32(data.len() as u32));
        body.extend_from_slice(&self.u32(orig_len));
        body.extend_from_slice(data);
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        body.extend_from_slice(&self.opt(1, comment));
        body.extend_from_slice(&self.opt_end());
        self.block(OPB, &body);
    }

    fn spb(&mut self, orig_len: u32, data: &[u8]) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32(orig_len));
        body.extend_from_slice(data);
        self.block(SPB, &body);
    }
}

/// A frame of `n` recognisable bytes.
fn payload(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

// ---------------------------------------------------------------------------
// Classic pcap from the corpus
// ---------------------------------------------------------------------------

#[test]
fn corpus_big_endian_microsecond_pcap() {
    let path = corpus!("arkime__bigendian.pcap");
    let mut file = CaptureFile::open(&path).unwrap();
    assert_eq!(file.format(), Format::Pcap);
    assert!(!file.is_gzip());
    let (seen, summary) = read_open(&mut file);
    assert_eq!(
        rows(&seen),
        vec![
            (1, 1_335_958_313_152_630_000, 1, 98, 98),
            (2, 1_335_958_317_529_201_000, 1, 98, 98),
        ]
    );
    assert_eq!(summary.packets, 2);
    assert_eq!(summary.link_types, vec![1]);
    assert_eq!(summary.damage, None);
    // Byte order applies to the headers only: the frame starts with an Ethernet header.
    assert_eq!(&seen[0].bytes[12..14], &[0x08, 0x00]);
}

#[test]
fn corpus_nanosecond_pcap_big_endian() {
    let path = corpus!("pcapplusplus__nanosecs_big_endian.pcap");
    let mut file = CaptureFile::open(&path).unwrap();
    assert_eq!(file.format(), Format::PcapNanos);
    let (seen, summary) = read_open(&mut file);
    let base = 1_766_361_926 * S;
    assert_eq!(
        rows(&seen),
        vec![
            (1, base + 167_647_291, 1, 74, 74),
            (2, base + 167_658_091, 1, 74, 74),
            (3, base + 167_666_291, 1, 66, 66),
            (4, base + 167_712_591, 1, 144, 144),
            (5, base + 167_716_191, 1, 66, 66),
            (6, base + 168_382_593, 1, 254, 254),
            (7, base + 168_402_394, 1, 66, 66),
            (8, base + 168_424_394, 1, 1322, 1322),
            (9, base + 168_427_394, 1, 66, 66),
            (10, base + 168_451_894, 1, 66, 66),
        ]
    );
    assert_eq!(summary.damage, None);
}

#[test]
fn corpus_nanosecond_pcap_little_endian() {
    let path = corpus!("libtrace__100_packetsns.pcap");
    let mut file = CaptureFile::open(&path).unwrap();
    assert_eq!(file.format(), Format::PcapNanos);
    let (seen, summary) = read_open(&mut file);
    assert_eq!(seen.len(), 100);
    let r = rows(&seen);
    assert_eq!(r[0], (1, 1_095_292_801_000_721_000, 1, 54, 827));
    assert_eq!(r[49], (50, 1_095_292_801_014_542_000, 1, 54, 76));
    assert_eq!(r[99], (100, 1_095_292_801_028_488_000, 1, 66, 195));
    assert_eq!(summary.damage, None);

    let path = corpus!("tcpdump__tcp-handshake-nano.pcap");
    let (seen, summary) = read_all(&path);
    assert_eq!(
        rows(&seen),
        vec![
            (1, 1_418_145_369_924_505_488, 113, 76, 76),
            (2, 1_418_145_370_052_027_262, 113, 76, 76),
            (3, 1_418_145_370_052_115_157, 113, 68, 68),
        ]
    );
    assert_eq!(summary.link_types, vec![113]);
}

#[test]
fn corpus_modified_pcap_records() {
    let path = corpus!("pcap-parser__modified-format.pcap");
    let (seen, summary) = read_all(&path);
    assert_eq!(rows(&seen), vec![(1, 1_712_763_541_734_807_000, 1, 98, 98)]);
    assert_eq!(summary.damage, None);
}

// ---------------------------------------------------------------------------
// pcapng from the corpus
// ---------------------------------------------------------------------------

/// gopacket's test202: three sections (little, big, little endian), each with
/// its own Ethernet and NULL interfaces, custom blocks (numbered as frames by
/// Wireshark, not delivered), simple packet blocks and interface statistics.
#[test]
fn corpus_pcapng_several_sections_and_link_types() {
    for name in ["gopacket__le_test202.pcapng", "gopacket__be_test202.pcapng"] {
        let path = corpus!(name);
        let mut file = CaptureFile::open(&path).unwrap();
        assert_eq!(file.format(), Format::PcapNg);
        let (seen, summary) = read_open(&mut file);
        let t = 1_340_954_905 * S;
        // tshark numbers custom blocks 1, 7 and 10 as frames; simple packet
        // blocks (5, 8) have no timestamp of their own: ours is the last one seen.
        let got: Vec<_> = seen
            .iter()
            .map(|s| {
                (
                    s.index,
                    s.ts_ns,
                    s.interface,
                    s.link_type,
                    s.bytes.len(),
                    s.orig_len,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (2, t + 298_858_000, 0, 1, 96, 314),
                (3, t + 298_858_000, 0, 1, 96, 342),
                (4, t + 301_858_000, 1, 0, 168, 168),
                (5, t + 301_858_000, 0, 1, 128, 314),
                (6, t + 298_858_000, 0, 1, 128, 342),
                (8, t + 298_858_000, 0, 1, 128, 314),
                (9, t + 298_858_000, 0, 1, 128, 342),
                (11, t + 301_858_000, 1, 0, 168, 168),
            ],
            "{name}"
        );
        assert_eq!(summary.packets, 8, "{name}");
        assert_eq!(summary.records, 11, "{name}");
        assert_eq!(summary.link_types, vec![1, 0], "{name}");
        let described: Vec<_> = summary
            .interfaces
            .iter()
            .map(|i| (i.link_type, i.snaplen, i.name.as_deref()))
            .collect();
        assert_eq!(
            described,
            vec![
                (1, 96, Some("eth0")),
                (0, 0, Some("null1")),
                (1, 128, Some("silly ethernet interface 2")),
                (1, 96, Some("eth0")),
                (0, 0, Some("null1")),
            ],
            "{name}"
        );
        assert_eq!(summary.kernel_drops, Some(11), "{name}");
        assert_eq!(summary.damage, None, "{name}");
        // The NULL frame decodes as IPv4 whatever the section's byte order.
        let frame4 = &seen[2];
        assert_eq!(frame4.bytes.len(), 168);
        assert_eq!(&frame4.bytes[..4], &[2, 0, 0, 0]);
    }
}

#[test]
fn corpus_pcapng_eleven_interfaces() {
    let path = corpus!("pcapplusplus__many_interfaces-1.pcapng");
    let (seen, summary) = read_all(&path);
    assert_eq!(seen.len(), 64);
    let r = rows(&seen);
    assert_eq!(r[0], (1, 1_439_753_725_701_607_000, 1, 178, 178));
    assert_eq!(r[2], (3, 1_439_753_725_701_568_000, 0, 168, 168));
    assert_eq!(r[3], (4, 1_439_753_725_701_822_000, 0, 168, 168));
    assert_eq!(r[63].1, 1_439_753_728_292_345_000);
    let on_lo0: Vec<_> = seen
        .iter()
        .filter(|s| s.interface == 10)
        .map(|s| s.index)
        .collect();
    assert_eq!(on_lo0, vec![3, 4]);
    assert!(seen.iter().all(|s| s.interface == 0 || s.interface == 10));
    assert_eq!(summary.interfaces.len(), 11);
    assert_eq!(summary.interfaces[10].name.as_deref(), Some("lo0"));
    assert_eq!(summary.interfaces[8].link_type, 12);
    assert_eq!(summary.link_types, vec![1, 0]);
    assert_eq!(summary.kernel_drops, Some(0));
    assert_eq!(summary.damage, None);
}

/// Interfaces with different `if_tsresol` in one section: nanoseconds on one,
/// microseconds (explicit or by default) on the others.
#[test]
fn corpus_pcapng_mixed_timestamp_resolutions() {
    let path = corpus!("zeek__pcapng-multi-interface.pcapng");
    let (seen, summary) = read_all(&path);
    let got: Vec<_> = seen
        .iter()
        .map(|s| (s.index, s.ts_ns, s.interface, s.bytes.len()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 1_767_663_089_500_330_493, 0, 96),
            (2, 1_767_663_089_514_291_940, 0, 214),
            (3, 1_767_663_437_111_897_000, 1, 70),
            (4, 1_767_663_437_126_460_000, 1, 166),
            (5, 1_767_663_437_128_303_000, 1, 70),
            (6, 1_767_663_437_140_942_000, 1, 182),
        ]
    );
    assert_eq!(summary.damage, None);

    let path = corpus!("ndpi__stun.pcap");
    let (seen, summary) = read_all(&path);
    assert_eq!(seen.len(), 201);
    let pick = |n: usize| {
        let s = &seen[n - 1];
        (s.index, s.ts_ns, s.interface, s.bytes.len())
    };
    assert_eq!(pick(1), (1, 1_568_718_599_876_883_000, 0, 70));
    assert_eq!(pick(15), (15, 1_568_718_600_931_144_000, 0, 64));
    assert_eq!(pick(16), (16, 1_595_356_443_140_497_938, 1, 62));
    assert_eq!(pick(24), (24, 1_595_356_444_494_918_280, 1, 122));
    assert_eq!(pick(25), (25, 1_614_938_022_295_727_000, 0, 82));
    assert_eq!(pick(194), (194, 1_647_958_147_591_534_000, 0, 108));
    assert_eq!(pick(195), (195, 1_661_169_535_535_091_000, 2, 198));
    assert_eq!(pick(199), (199, 1_697_468_908_358_667_000, 3, 114));
    assert_eq!(pick(201), (201, 1_697_468_913_582_927_000, 4, 186));
    let mut per_interface = [0usize; 5];
    for s in &seen {
        per_interface[s.interface as usize] += 1;
    }
    assert_eq!(per_interface, [185, 9, 4, 2, 1]);
    assert_eq!(summary.interfaces.len(), 5);
    assert_eq!(summary.damage, None);
}

/// Big-endian pcapng with simple packet blocks (frames 1 and 3).
#[test]
fn corpus_pcapng_simple_packet_blocks() {
    let path = corpus!("pcap-parser__test016-be.pcapng");
    let (seen, summary) = read_all(&path);
    let t = 1_340_954_905 * S;
    assert_eq!(
        rows(&seen),
        vec![
            (1, 0, 1, 314, 314),
            (2, t + 298_858_000, 1, 342, 342),
            (3, t + 298_858_000, 1, 314, 314),
            (4, t + 300_858_000, 1, 342, 342),
        ]
    );
    assert_eq!(summary.damage, None);
    // The SPB's data is the frame itself: a broadcast DHCP request (IPv4, UDP 68 > 67).
    assert_eq!(&seen[0].bytes[..6], &[0xff; 6]);
    assert_eq!(&seen[0].bytes[12..14], &[0x08, 0x00]);
    assert_eq!(&seen[0].bytes[34..38], &[0, 68, 0, 67]);
}

// ---------------------------------------------------------------------------
// Damaged corpus files
// ---------------------------------------------------------------------------

#[test]
fn corpus_cut_short_keeps_the_frames_before() {
    // Radiotap record cut at the end of the file: tshark shows 1 frame and says so.
    let path = corpus!("scapy__bad_rsn_parsing_overrides_ssid.pcap");
    let (seen, summary) = read_all(&path);
    assert_eq!(
        rows(&seen),
        vec![(1, 1_588_770_219_401_826_000, 127, 319, 319)]
    );
    assert_eq!(
        summary.damage,
        Some(Damage::Truncated {
            after_frame: 1,
            offset: 359
        })
    );
}

/// A pcap of format version 2.0: before 2.3 the captured and original length
/// fields of a record were in the other order (libpcap and Wireshark swap them).
/// Read that way, the one record is whole and the file ends inside the next
/// record header, as tshark says.
#[test]
fn corpus_old_pcap_version_swaps_lengths() {
    let path = corpus!("ndpi__fuzz-2021-10-13.pcap");
    let mut file = CaptureFile::open(&path).unwrap();
    assert_eq!(file.format(), Format::PcapNanos);
    let (seen, summary) = read_open(&mut file);
    // The nanosecond field (1882137472) is out of range; it is added as it is.
    assert_eq!(
        rows(&seen),
        vec![(1, 980_658_802 * S + 1_882_137_472, 0, 197, 524_501)]
    );
    assert_eq!(
        summary.damage,
        Some(Damage::Truncated {
            after_frame: 1,
            offset: 237
        })
    );
}

#[test]
fn corpus_absurd_record_lengths_are_malformed() {
    // Six good records, then one claiming 4325376 captured bytes.
    let path = corpus!("suricata-verify__tls_DER-incomplete-header.pcap");
    let (seen, summary) = read_all(&path);
    assert_eq!(seen.len(), 6);
    assert_eq!(seen[0].ts_ns, 1_429_518_024_029_122_000);
    assert_eq!(seen[1].ts_ns, 761_195_582_033_594_000);
    assert_eq!(seen[5].ts_ns, 1_429_518_024_029_385_000);
    assert_eq!(seen[5].bytes.len(), 4274);
    match summary.damage {
        Some(Damage::Malformed {
            after_frame: 6,
            offset: 5035,
            ref reason,
        }) => assert!(reason.contains("4325376"), "{reason}"),
        ref other => panic!("expected a malformed record after frame 6, got {other:?}"),
    }

    // One good record, then one claiming 1409179648 bytes (tshark reads the
    // file as another pcap variant; see the differential test).
    let path = corpus!("suricata-verify__fuzz.pcap");
    let (seen, summary) = read_all(&path);
    assert_eq!(
        rows(&seen),
        vec![(1, 1_508_525_002_992_213_000, 1, 188, 188)]
    );
    match summary.damage {
        Some(Damage::Malformed {
            after_frame: 1,
            offset: 228,
            ref reason,
        }) => assert!(reason.contains("1409179648"), "{reason}"),
        ref other => panic!("expected a malformed record after frame 1, got {other:?}"),
    }
}

#[test]
fn corpus_damaged_headers_are_not_captures() {
    let cases = [
        (
            "libpcap__pcap-invalid-version-1.pcap",
            "pcap version 1.4 is not supported",
        ),
        (
            "libpcap__linktype-reserved-field-not-zero.pcap",
            "reserved bits set (0x00300000)",
        ),
        (
            "libpcap__pcapng-invalid-vers-1.pcapng",
            "pcapng version 0.1 is not supported",
        ),
        (
            "libpcap__shb-option-too-long.pcapng",
            "damaged pcapng header",
        ),
    ];
    for (name, fragment) in cases {
        let path = corpus!(name);
        let err = open_error(&path);
        assert!(
            matches!(err, CaptureError::NotACapture { .. }),
            "{name}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(name), "{text}");
        assert!(text.contains(fragment), "{name}: {text}");
    }
}

#[test]
fn corpus_odd_but_readable_versions() {
    // pcap 2.5: libpcap refuses it, tshark reads its one packet, so do we.
    let path = corpus!("libpcap__pcap-invalid-version-2.pcap");
    let (seen, summary) = read_all(&path);
    assert_eq!(
        rows(&seen),
        vec![(1, 1_338_986_423_226_395_000, 1, 490, 490)]
    );
    assert_eq!(summary.damage, None);

    // pcapng 1.1 (tshark refuses it; the blocks are those of 1.0).
    let path = corpus!("libpcap__pcapng-invalid-vers-2.pcapng");
    let (seen, summary) = read_all(&path);
    assert_eq!(
        rows(&seen),
        vec![(1, 1_392_902_931_311_277_000, 1, 142, 142)]
    );
    assert_eq!(summary.damage, None);

    // A second section of pcapng 2.0 ends the walk after the first section's frame.
    let path = corpus!("gopacket__test901.pcapng");
    let (seen, summary) = read_all(&path);
    assert_eq!(
        rows(&seen),
        vec![(1, 1_340_954_905_298_858_000, 1, 314, 314)]
    );
    match summary.damage {
        Some(Damage::Malformed {
            after_frame: 1,
            offset: 480,
            ref reason,
        }) => assert!(
            reason.contains("unsupported pcapng version 2.0"),
            "{reason}"
        ),
        ref other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Synthesized classic pcap
// ---------------------------------------------------------------------------

#[test]
fn pcap_both_byte_orders_both_resolutions() {
    let dir = scratch("pcap-variants");
    for be in [false, true] {
        for nanos in [false, true] {
            let mut p = Pcap::new(be, nanos, 65535, 101);
            p.record(1_700_000_000, 123_456, 60, &payload(20, 1));
            p.record(1_700_000_001, 999_999, 40, &payload(40, 2));
            let path = dir.write(&format!("v-{be}-{nanos}.pcap"), &p.bytes);
            let mut file = CaptureFile::open(&path).unwrap();
            let want_format = if nanos {
                Format::PcapNanos
            } else {
                Format::Pcap
            };
            assert_eq!(file.format(), want_format);
            let (seen, summary) = read_open(&mut file);
            let unit = if nanos { 1 } else { 1000 };
            assert_eq!(
                rows(&seen),
                vec![
                    (1, 1_700_000_000 * S + 123_456 * unit, 101, 20, 60),
                    (2, 1_700_000_001 * S + 999_999 * unit, 101, 40, 40),
                ],
                "be {be} nanos {nanos}"
            );
            assert_eq!(seen[1].bytes, payload(40, 2));
            assert_eq!(summary.damage, None);
            assert_eq!(summary.interfaces[0].snaplen, 65535);
        }
    }
}

/// Before format 2.3 a record held its original length before its captured
/// length; 2.3 files exist in both orders (the captured length is the smaller).
#[test]
fn pcap_before_format_2_3_has_swapped_lengths() {
    let dir = scratch("pcap-old");
    let set_minor = |p: &mut Pcap, minor: u16| {
        let b = if p.be {
            minor.to_be_bytes()
        } else {
            minor.to_le_bytes()
        };
        p.bytes[6..8].copy_from_slice(&b);
    };
    for be in [false, true] {
        // 2.2: always the old order.
        let mut p = Pcap::new(be, false, 65535, 1);
        set_minor(&mut p, 2);
        p.record_claiming(1, 0, 1500, 60, &payload(60, 1));
        p.record_claiming(2, 0, 40, 40, &payload(40, 2));
        let path = dir.write(&format!("v22-{be}.pcap"), &p.bytes);
        let (seen, summary) = read_all(&path);
        assert_eq!(
            rows(&seen),
            vec![(1, S, 1, 60, 1500), (2, 2 * S, 1, 40, 40)],
            "be {be}"
        );
        assert_eq!(seen[1].bytes, payload(40, 2));
        assert_eq!(summary.damage, None);

        // 2.3: swapped only where the first field is the larger.
        let mut p = Pcap::new(be, true, 65535, 1);
        set_minor(&mut p, 3);
        p.record_claiming(1, 5, 1500, 60, &payload(60, 1));
        p.record_claiming(2, 6, 30, 90, &payload(30, 2));
        p.record_claiming(3, 7, 900, 20, &payload(20, 3));
        let path = dir.write(&format!("v23-{be}.pcap"), &p.bytes);
        let (seen, summary) = read_all(&path);
        assert_eq!(
            rows(&seen),
            vec![
                (1, S + 5, 1, 60, 1500),
                (2, 2 * S + 6, 1, 30, 90),
                (3, 3 * S + 7, 1, 20, 900),
            ],
            "be {be}"
        );
        assert_eq!(summary.damage, None);

        // 2.2 cut inside a record header: the frame before it, then Truncated.
        let mut p = Pcap::new(be, false, 65535, 1);
        set_minor(&mut p, 0);
        p.record_claiming(1, 0, 1500, 60, &payload(60, 1));
        let whole = p.bytes.len();
        p.record_claiming(2, 0, 1500, 60, &payload(60, 1));
        for cut in [whole + 3, whole + 16, whole + 50] {
            let path = dir.write(&format!("v20-cut-{be}-{cut}.pcap"), &p.bytes[..cut]);
            let (seen, summary) = read_all(&path);
            assert_eq!(seen.len(), 1, "cut {cut}");
            assert_eq!(
                summary.damage,
                Some(Damage::Truncated {
                    after_frame: 1,
                    offset: whole as u64
                }),
                "cut {cut}"
            );
        }
    }
}

#[test]
fn pcap_record_claiming_four_gibibytes() {
    let dir = scratch("pcap-4g");
    let mut p = Pcap::new(false, false, 65535, 1);
    p.record(10, 0, 60, &payload(60, 0));
    p.record(11, 0, 60, &payload(60, 9));
    let bad_at = p.bytes.len() as u64;
    p.record_claiming(12, 0, u32::MAX, 60, &payload(60, 3));
    let path = dir.write("caplen-4g.pcap", &p.bytes);
    let started = Instant::now();
    let (seen, summary) = read_all(&path);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(seen.len(), 2);
    match summary.damage {
        Some(Damage::Malformed {
            after_frame,
            offset,
            ref reason,
        }) => {
            assert_eq!((after_frame, offset), (2, bad_at));
            assert!(reason.contains("4294967295 captured bytes"), "{reason}");
        }
        ref other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn pcap_cut_inside_a_record() {
    let dir = scratch("pcap-cut");
    let mut p = Pcap::new(true, true, 65535, 1);
    p.record(1, 1, 60, &payload(60, 0));
    p.record(2, 2, 60, &payload(60, 1));
    let full = p.bytes.clone();
    let second_at = 24 + 16 + 60;
    for cut in [
        second_at + 1,
        second_at + 15,
        second_at + 16,
        full.len() - 1,
    ] {
        let path = dir.write(&format!("cut-{cut}.pcap"), &full[..cut]);
        let (seen, summary) = read_all(&path);
        assert_eq!(seen.len(), 1, "cut at {cut}");
        assert_eq!(
            summary.damage,
            Some(Damage::Truncated {
                after_frame: 1,
                offset: second_at as u64
            }),
            "cut at {cut}"
        );
    }
    // Cut exactly between records: a complete file.
    let path = dir.write("cut-between.pcap", &full[..second_at]);
    let (seen, summary) = read_all(&path);
    assert_eq!((seen.len(), summary.damage), (1, None));
}

#[test]
fn empty_and_header_only_files() {
    let dir = scratch("empty");
    let empty = dir.write("empty.pcap", &[]);
    let err = open_error(&empty);
    let text = err.to_string();
    assert!(
        text.contains("empty.pcap") && text.contains("empty"),
        "{text}"
    );

    let header = Pcap::new(false, false, 262_144, 1).bytes;
    let path = dir.write("header-only.pcap", &header);
    let (seen, summary) = read_all(&path);
    assert!(seen.is_empty());
    assert_eq!(summary.damage, None);
    assert_eq!(summary.interfaces.len(), 1);

    let path = dir.write("half-header.pcap", &header[..10]);
    let text = open_error(&path).to_string();
    assert!(text.contains("ends inside its pcap header"), "{text}");

    let ng = Ng::new(false);
    let path = dir.write("shb-only.pcapng", &ng.bytes);
    let (seen, summary) = read_all(&path);
    assert!(seen.is_empty());
    assert_eq!(summary.damage, None);

    let path = dir.write("half-shb.pcapng", &ng.bytes[..20]);
    let text = open_error(&path).to_string();
    assert!(text.contains("ends inside its pcapng header"), "{text}");
}

#[test]
fn things_that_are_not_captures() {
    let dir = scratch("not-captures");
    let text_file = dir.write("notes.txt", b"this is not a capture\n");
    let err = open_error(&text_file);
    assert!(matches!(err, CaptureError::NotACapture { .. }));
    let msg = err.to_string();
    assert!(msg.contains("notes.txt"), "{msg}");
    assert!(msg.contains("not a pcap or pcapng capture"), "{msg}");
    assert!(msg.contains("74 68 69 73"), "{msg}");

    let msg = open_error(&dir.0).to_string();
    assert!(msg.contains("is a directory"), "{msg}");

    let missing = dir.0.join("missing.pcap");
    let err = open_error(&missing);
    assert!(matches!(err, CaptureError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.pcap"));

    let gz_text = dir.write("notes.txt.gz", &gzip(b"still not a capture"));
    let msg = open_error(&gz_text).to_string();
    assert!(msg.contains("inside the gzip data"), "{msg}");
}

// ---------------------------------------------------------------------------
// Synthesized pcapng
// ---------------------------------------------------------------------------

#[test]
fn pcapng_obsolete_packet_blocks_both_byte_orders() {
    let dir = scratch("opb");
    for be in [false, true] {
        let mut ng = Ng::new(be);
        ng.interface(101, 0, &[]);
        ng.interface(1, 0, &[]);
        ng.opb(1, 1_700_000_000_000_001, 70, &payload(61, 5), b"old block");
        ng.epb(0, 1_700_000_000_000_002, 20, &payload(20, 7));
        let path = dir.write(&format!("opb-{be}.pcapng"), &ng.bytes);
        let (seen, summary) = read_all(&path);
        assert_eq!(
            seen.iter()
                .map(|s| (s.index, s.ts_ns, s.interface, s.link_type, s.orig_len))
                .collect::<Vec<_>>(),
            vec![
                (1, 1_700_000_000_000_001_000, 1, 1, 70),
                (2, 1_700_000_000_000_002_000, 0, 101, 20),
            ],
            "big endian {be}"
        );
        // The padding after the 61 bytes and the options are not part of the frame.
        assert_eq!(seen[0].bytes, payload(61, 5));
        assert_eq!(summary.link_types, vec![1, 101]);
        assert_eq!(summary.damage, None);
    }
}

#[test]
fn pcapng_simple_packet_blocks_cut_to_snaplen() {
    let dir = scratch("spb");
    let mut ng = Ng::new(false);
    ng.interface(113, 64, &[]);
    ng.epb(0, 1_500_000, 100, &payload(64, 0));
    // Captured length is the original length cut to the interface's snaplen.
    ng.spb(100, &payload(64, 1));
    ng.spb(30, &payload(30, 2));
    let path = dir.write("spb.pcapng", &ng.bytes);
    let (seen, summary) = read_all(&path);
    assert_eq!(
        rows(&seen),
        vec![
            (1, 1_500_000_000, 113, 64, 100),
            (2, 1_500_000_000, 113, 64, 100),
            (3, 1_500_000_000, 113, 30, 30),
        ]
    );
    assert_eq!(seen[1].bytes, payload(64, 1));
    assert_eq!(seen[2].bytes, payload(30, 2));
    assert_eq!(summary.damage, None);
}

#[test]
fn pcapng_obsolete_packet_block_too_short() {
    let dir = scratch("opb-short");
    let mut ng = Ng::new(false);
    ng.interface(1, 0, &[]);
    ng.epb(0, 5, 14, &payload(14, 0));
    let at = ng.block(OPB, &[0; 8]);
    let path = dir.write("opb-short.pcapng", &ng.bytes);
    let (seen, summary) = read_all(&path);
    assert_eq!(seen.len(), 1);
    assert_eq!(
        summary.damage,
        Some(Damage::Malformed {
            after_frame: 1,
            offset: at as u64,
            reason: "obsolete packet block shorter than its header".into()
        })
    );
}

#[test]
fn pcapng_comments_are_kept() {
    let dir = scratch("comments");
    let mut w = PcapngWriter::new(Vec::new(), "capture-formats test").unwrap();
    let eth = w.add_interface(1, Some("eth0")).unwrap();
    let tun = w.add_interface(101, Some("isatap")).unwrap();
    let t0 = 1_700_000_000_123_456_789;
    w.write_packet(eth, t0, 60, &payload(14, 0), Some("router side"))
        .unwrap();
    w.write_packet(tun, t0 + 1, 40, &payload(40, 1), None)
        .unwrap();
    w.write_packet(eth, t0 + 2, 14, &payload(14, 2), Some("ünïcode \u{1b}[31m"))
        .unwrap();
    let path = dir.write("comments.pcapng", &w.into_inner().unwrap());
    let (seen, summary) = read_all(&path);
    let got: Vec<_> = seen
        .iter()
        .map(|s| (s.index, s.ts_ns, s.link_type, s.comment.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, t0, 1, Some(b"router side".to_vec())),
            (2, t0 + 1, 101, None),
            (3, t0 + 2, 1, Some("ünïcode \u{1b}[31m".as_bytes().to_vec())),
        ]
    );
    assert_eq!(seen[0].orig_len, 60);
    assert_eq!(summary.damage, None);
}

#[test]
fn pcapng_binary_and_decimal_timestamp_resolutions() {
    let dir = scratch("tsresol");
    for be in [false, true] {
        let mut ng = Ng::new(be);
        // 2^-20 s, 10^-3 s, 10^-9 s with an offset of 3600 s, default 10^-6 s.
        let binary = ng.opt(9, &[0x80 | 20]);
        ng.interface(1, 0, &[binary]);
        let milli = ng.opt(9, &[3]);
        ng.interface(1, 0, &[milli]);
        let nano = ng.opt(9, &[9]);
        let offset = ng.opt(14, &ng.u64(3600));
        ng.interface(1, 0, &[nano, offset]);
        ng.interface(1, 0, &[]);
        // 1.5 s + 2^-20 s in 2^-20 units.
        ng.epb(
            0,
            (1_700_000_001u64 << 20) + (1 << 19) + 1,
            14,
            &payload(14, 0),
        );
        ng.epb(1, 1_700_000_000_250, 14, &payload(14, 1));
        ng.epb(2, 1_700_000_000_000_000_007, 14, &payload(14, 2));
        ng.epb(3, 1_700_000_000_000_042, 14, &payload(14, 3));
        let path = dir.write(&format!("tsresol-{be}.pcapng"), &ng.bytes);
        let (seen, summary) = read_all(&path);
        let ts: Vec<_> = seen.iter().map(|s| s.ts_ns).collect();
        assert_eq!(
            ts,
            vec![
                // 2^-20 s = 953.674... ns, truncated.
                1_700_000_001_500_000_953,
                1_700_000_000_250_000_000,
                1_700_003_600_000_000_007,
                1_700_000_000_000_042_000,
            ],
            "big endian {be}"
        );
        assert_eq!(summary.damage, None);
    }
}

#[test]
fn pcapng_packet_naming_an_undescribed_interface() {
    let dir = scratch("no-interface");
    let mut ng = Ng::new(false);
    ng.interface(1, 0, &[]);
    ng.epb(0, 1_000_000, 14, &payload(14, 0));
    ng.epb(7, 2_000_000, 14, &payload(14, 1));
    // A new section forgets the interfaces of the one before.
    ng.section();
    ng.epb(0, 3_000_000, 14, &payload(14, 2));
    let path = dir.write("no-interface.pcapng", &ng.bytes);
    let (seen, summary) = read_all(&path);
    let got: Vec<_> = seen
        .iter()
        .map(|s| (s.index, s.ts_ns, s.interface, s.link_type))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 1_000_000_000, 0, 1),
            (2, 2_000_000_000, 7, LINKTYPE_NO_INTERFACE),
            (3, 3_000_000_000, 0, LINKTYPE_NO_INTERFACE),
        ]
    );
    assert_eq!(summary.link_types, vec![1]);
    assert_eq!(summary.damage, None);
    let mut file = CaptureFile::open(&path).unwrap();
    let mut kinds = Vec::new();
    file.for_each_frame(|f| kinds.push(decode(f).error.map(|e| e.kind)));
    assert_eq!(
        kinds,
        vec![
            None,
            Some(ErrorKind::NoInterface),
            Some(ErrorKind::NoInterface)
        ]
    );
}

/// A section with one interface and two packets; returns it and where the
/// third block would start.
fn two_packet_section() -> (Ng, usize) {
    let mut ng = Ng::new(false);
    ng.interface(1, 0, &[]);
    ng.epb(0, 1, 14, &payload(14, 0));
    ng.epb(0, 2, 14, &payload(14, 1));
    let at = ng.bytes.len();
    (ng, at)
}

#[test]
fn pcapng_block_length_zero() {
    let dir = scratch("len-zero");
    let (mut ng, at) = two_packet_section();
    ng.raw_block(EPB, 0, &[0; 20], 0);
    let path = dir.write("len0.pcapng", &ng.bytes);
    let (seen, summary) = read_all(&path);
    assert_eq!(seen.len(), 2);
    match summary.damage {
        Some(Damage::Malformed {
            after_frame: 2,
            offset,
            ref reason,
        }) => {
            assert_eq!(offset, at as u64);
            assert!(reason.contains("block length 0"), "{reason}");
        }
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn pcapng_block_length_not_a_multiple_of_four() {
    let dir = scratch("len-odd");
    for kind in [EPB, ISB, 0x0bad] {
        let (mut ng, at) = two_packet_section();
        let mut body = vec![0u8; 22];
        body[..4].copy_from_slice(&ng.u32(0));
        ng.raw_block(kind, 34, &body, 34);
        ng.epb(0, 3, 14, &payload(14, 2));
        let path = dir.write(&format!("len-odd-{kind}.pcapng"), &ng.bytes);
        let (seen, summary) = read_all(&path);
        assert_eq!(seen.len(), 2, "block type {kind:#x}");
        match summary.damage {
            Some(Damage::Malformed {
                after_frame: 2,
                offset,
                ref reason,
            }) => {
                assert_eq!(offset, at as u64);
                assert!(reason.contains("34"), "{reason}");
            }
            ref other => panic!("block type {kind:#x}: {other:?}"),
        }
    }
}

#[test]
fn pcapng_block_beyond_end_of_file() {
    let dir = scratch("len-beyond");
    let (mut ng, at) = two_packet_section();
    ng.raw_block(EPB, 1024, &[0; 40], 1024);
    let path = dir.write("beyond.pcapng", &ng.bytes);
    let (seen, summary) = read_all(&path);
    assert_eq!(seen.len(), 2);
    assert_eq!(
        summary.damage,
        Some(Damage::Truncated {
            after_frame: 2,
            offset: at as u64
        })
    );

    // A length no packet block can have is damage, not a short file.
    let (mut ng, at) = two_packet_section();
    ng.raw_block(EPB, 0x7fff_fff0, &[0; 40], 0x7fff_fff0);
    let path = dir.write("absurd.pcapng", &ng.bytes);
    let (seen, summary) = read_all(&path);
    assert_eq!(seen.len(), 2);
    match summary.damage {
        Some(Damage::Malformed {
            after_frame: 2,
            offset,
            ref reason,
        }) => {
            assert_eq!(offset, at as u64);
            assert!(reason.contains("2147483632"), "{reason}");
        }
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn pcapng_trailing_length_must_match() {
    let dir = scratch("len-mismatch");
    // Enhanced, simple and obsolete packet blocks whose two length fields
    // disagree (48 at the start, 52 at the end).
    for kind in [EPB, SPB, OPB] {
        let (mut ng, at) = two_packet_section();
        let header: &[u32] = match kind {
            EPB => &[0, 0, 3, 14, 14],
            SPB => &[14],
            _ => &[0, 0, 3, 14, 14],
        };
        let mut body = Vec::new();
        for v in header {
            body.extend_from_slice(&ng.u32(*v));
        }
        body.resize(36, 0xab);
        ng.raw_block(kind, 48, &body, 52);
        ng.epb(0, 4, 14, &payload(14, 2));
        let path = dir.write(&format!("mismatch-{kind}.pcapng"), &ng.bytes);
        let (seen, summary) = read_all(&path);
        assert_eq!(seen.len(), 2, "block type {kind}");
        match summary.damage {
            Some(Damage::Malformed {
                after_frame: 2,
                offset,
                ref reason,
            }) => {
                assert_eq!(offset, at as u64);
                assert_eq!(
                    reason, "pcapng block length 48 at its start and 52 at its end differ",
                    "block type {kind}"
                );
            }
            ref other => panic!("block type {kind}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// gzip
// ---------------------------------------------------------------------------

#[test]
fn gzip_copy_gives_identical_frames() {
    let path = corpus!("zeek__pcapng-multi-interface.pcapng");
    let (plain, plain_summary) = read_all(&path);
    let dir = scratch("gzip-copy");
    let gz = dir.write("copy.pcapng.gz", &gzip(&fs::read(&path).unwrap()));
    let mut file = CaptureFile::open(&gz).unwrap();
    assert!(file.is_gzip());
    assert_eq!(file.format(), Format::PcapNg);
    let (unzipped, summary) = read_open(&mut file);
    assert_eq!(unzipped, plain);
    assert_eq!(summary, plain_summary);

    let path = corpus!("peafowl__skype-irc.cap");
    let (plain, plain_summary) = read_all(&path);
    let gz = dir.write("copy.cap.gz", &gzip(&fs::read(&path).unwrap()));
    let (unzipped, summary) = read_all(&gz);
    assert_eq!(unzipped.len(), 2263);
    assert_eq!(unzipped, plain);
    assert_eq!(summary, plain_summary);
}

/// A pcap of `n` records of 1000 bytes each, as big as a read buffer several times.
fn many_records(n: u32) -> Vec<u8> {
    let mut p = Pcap::new(false, false, 65535, 1);
    let data = payload(1000, 0);
    for i in 0..n {
        p.record(1_700_000_000 + i, 0, 1000, &data);
    }
    p.bytes
}

#[test]
fn gzip_cut_short_keeps_every_whole_frame() {
    let dir = scratch("gzip-cut");
    let pcap = many_records(3000);
    let gz = gzip(&pcap);
    // Cut the compressed stream in its middle: the frames decompressed before
    // the cut are all delivered, then the damage is reported.
    let cut = dir.write("cut.pcap.gz", &gz[..gz.len() / 2]);
    let (seen, summary) = read_all(&cut);
    // How far a decoder gets before the cut depends on its internal
    // buffering, but every record it produced must be delivered.
    let decoded = read_until_error(flate2::read::GzDecoder::new(&gz[..gz.len() / 2]));
    let whole = (decoded.len() - 24) / 1016;
    assert!(whole > 100, "{whole}");
    assert_eq!(seen.len(), whole);
    assert!(
        seen.iter()
            .enumerate()
            .all(|(i, s)| s.index == i as u64 + 1)
    );
    match summary.damage {
        Some(Damage::Truncated { after_frame, .. }) => assert_eq!(after_frame, whole as u64),
        ref other => panic!("expected Truncated, got {other:?}"),
    }
}

/// What a reader gives before it fails or ends.
fn read_until_error(mut r: impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = r.read(&mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// A pcap header followed by 2 GiB of records of zeros, compressed about a
/// thousandfold (one small gzip member repeated: a multi-member stream). The
/// reader must stop on the expansion ratio long before the end, and the test
/// keeps neither the bomb nor the frames in memory.
#[test]
fn gzip_bomb_is_stopped() {
    let dir = scratch("gzip-bomb");
    let path = dir.0.join("bomb.pcap.gz");
    {
        let mut out = io::BufWriter::new(fs::File::create(&path).unwrap());
        out.write_all(&gzip(&Pcap::new(false, false, 262_144, 1).bytes))
            .unwrap();
        let mut record = Pcap {
            be: false,
            bytes: Vec::new(),
        };
        record.record(0, 0, 262_144, &vec![0u8; 262_144]);
        let member = gzip(&record.bytes);
        for _ in 0..8192 {
            out.write_all(&member).unwrap();
        }
        out.flush().unwrap();
    }
    let compressed = fs::metadata(&path).unwrap().len();
    assert!(compressed < 4 << 20, "bomb is {compressed} bytes");
    let started = Instant::now();
    let mut file = CaptureFile::open(&path).unwrap();
    let (mut frames, mut delivered) = (0u64, 0u64);
    let summary = file.for_each_frame(|f| {
        frames += 1;
        delivered += f.bytes.len() as u64;
    });
    let elapsed = started.elapsed();
    match summary.damage {
        Some(Damage::Malformed { ref reason, .. }) => {
            assert!(reason.contains("expands more than 200:1"), "{reason}");
            assert!(reason.contains("decompression bomb"), "{reason}");
        }
        ref other => panic!("expected the bomb to be stopped, got {other:?}"),
    }
    // Stopped after a few hundred MiB at most, not 2 GiB.
    assert!(frames > 0);
    assert!(delivered < 600 << 20, "{delivered} bytes delivered");
    assert!(elapsed < Duration::from_secs(120), "{elapsed:?}");
    println!("bomb: {frames} frames, {delivered} bytes, stopped in {elapsed:?}");
}

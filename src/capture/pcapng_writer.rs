//! A minimal pcapng writer (little-endian, nanosecond timestamps): section
//! header, interface descriptions, enhanced packet blocks with an optional
//! comment, and interface statistics. Used by `live --write`,
//! `analyze --export-pcap` and the sample-capture generator.
//!
//! Guarantees: every block is 32-bit aligned and carries matching length
//! fields, so Wireshark, tshark and this crate's reader accept the output.

use std::io::{self, Write};

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const ISB: u32 = 0x0000_0005;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;
const ISB_IFDROP: u16 = 5;

/// Writes a pcapng stream to `W`.
pub struct PcapngWriter<W: Write> {
    out: W,
    interfaces: u32,
    block: Vec<u8>,
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a section; `application` is recorded as `shb_userappl`.
    pub fn new(out: W, application: &str) -> io::Result<PcapngWriter<W>> {
        let mut w = PcapngWriter {
            out,
            interfaces: 0,
            block: Vec::with_capacity(2048),
        };
        w.begin();
        w.u32(BYTE_ORDER_MAGIC);
        w.u16(1);
        w.u16(0);
        w.block.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        w.option(SHB_USERAPPL, application.as_bytes());
        w.end_options();
        w.finish_block(SHB)?;
        Ok(w)
    }

    /// Describes an interface and returns its id for [`Self::write_packet`].
    pub fn add_interface(&mut self, link_type: u32, name: Option<&str>) -> io::Result<u32> {
        self.begin();
        self.u16(u16::try_from(link_type).unwrap_or(u16::MAX));
        self.u16(0);
        self.u32(0); // snaplen: no limit
        if let Some(name) = name {
            self.option(IF_NAME, name.as_bytes());
        }
        self.option(IF_TSRESOL, &[9]);
        self.end_options();
        self.finish_block(IDB)?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Writes one packet with its original length and an optional comment.
    pub fn write_packet(
        &mut self,
        interface: u32,
        ts_ns: i64,
        orig_len: u32,
        data: &[u8],
        comment: Option<&str>,
    ) -> io::Result<()> {
        if interface >= self.interfaces {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("interface {interface} was never described"),
            ));
        }
        let ts = u64::try_from(ts_ns).unwrap_or(0);
        let caplen = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "packet too large"))?;
        self.begin();
        self.u32(interface);
        self.u32((ts >> 32) as u32);
        self.u32(ts as u32);
        self.u32(caplen);
        self.u32(orig_len.max(caplen));
        self.block.extend_from_slice(data);
        self.pad();
        if let Some(c) = comment {
            self.option(OPT_COMMENT, c.as_bytes());
            self.end_options();
        }
        self.finish_block(EPB)
    }

    /// Records how many packets the kernel dropped on an interface.
    pub fn write_drops(&mut self, interface: u32, ts_ns: i64, drops: u64) -> io::Result<()> {
        let ts = u64::try_from(ts_ns).unwrap_or(0);
        self.begin();
        self.u32(interface);
        self.u32((ts >> 32) as u32);
        self.u32(ts as u32);
        self.option(ISB_IFDROP, &drops.to_le_bytes());
        self.end_options();
        self.finish_block(ISB)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn begin(&mut self) {
        self.block.clear();
        self.block.extend_from_slice(&[0; 8]); // type and length, filled in later
    }

    fn u16(&mut self, v: u16) {
        self.block.extend_from_slice(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.block.extend_from_slice(&v.to_le_bytes());
    }

    fn pad(&mut self) {
        while !self.block.len().is_multiple_of(4) {
            self.block.push(0);
        }
    }

    fn option(&mut self, code: u16, value: &[u8]) {
        let len = value.len().min(u16::MAX as usize - 3);
        self.u16(code);
        self.u16(len as u16);
        self.block.extend_from_slice(&value[..len]);
        self.pad();
    }

    fn end_options(&mut self) {
        self.u16(OPT_END);
        self.u16(0);
    }

    fn finish_block(&mut self, kind: u32) -> io::Result<()> {
        let total = (self.block.len() + 4) as u32;
        self.block[0..4].copy_from_slice(&kind.to_le_bytes());
        self.block[4..8].copy_from_slice(&total.to_le_bytes());
        self.block.extend_from_slice(&total.to_le_bytes());
        self.out.write_all(&self.block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file::CaptureFile;

    #[test]
    fn round_trip_through_the_reader() {
        let mut w = PcapngWriter::new(Vec::new(), "test").unwrap();
        let eth = w.add_interface(1, Some("eth0")).unwrap();
        let raw = w.add_interface(101, Some("isatap")).unwrap();
        w.write_packet(
            eth,
            1_700_000_000_123_456_789,
            60,
            &[0xaa; 14],
            Some("hello"),
        )
        .unwrap();
        w.write_packet(raw, 1_700_000_001_000_000_000, 3, &[0x60, 0, 0], None)
            .unwrap();
        w.write_drops(eth, 1_700_000_002_000_000_000, 7).unwrap();
        assert!(w.write_packet(9, 0, 0, &[], None).is_err());
        let bytes = w.into_inner().unwrap();
        let dir = std::env::temp_dir().join(format!("pcapng-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("round.pcapng");
        std::fs::write(&path, &bytes).unwrap();
        let mut file = CaptureFile::open(&path).unwrap();
        let mut seen = Vec::new();
        let summary = file.for_each_frame(|f| {
            seen.push((
                f.index,
                f.ts_ns,
                f.link_type,
                f.orig_len,
                f.bytes.len(),
                f.comment.map(<[u8]>::to_vec),
            ));
        });
        assert_eq!(
            seen,
            vec![
                (
                    1,
                    1_700_000_000_123_456_789,
                    1,
                    60,
                    14,
                    Some(b"hello".to_vec())
                ),
                (2, 1_700_000_001_000_000_000, 101, 3, 3, None),
            ]
        );
        assert_eq!(summary.kernel_drops, Some(7));
        assert_eq!(summary.interfaces[1].name.as_deref(), Some("isatap"));
        assert_eq!(summary.damage, None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

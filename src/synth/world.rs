//! Vantage points of a synthetic capture set: each has its named interfaces
//! (with link types), a clock that is off by its own offset, and the frames it
//! recorded; [`World::write`] turns each into a pcapng file.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use crate::capture::pcapng_writer::PcapngWriter;

/// One capture point.
#[derive(Clone, Debug)]
pub struct Vantage {
    pub name: String,
    /// Added to every timestamp: capture clocks disagree by seconds.
    pub clock_offset_ns: i64,
    pub interfaces: Vec<(String, u32)>,
    frames: Vec<(i64, usize, Vec<u8>)>,
}

/// All capture points of a scenario.
#[derive(Clone, Debug, Default)]
pub struct World {
    pub vantages: Vec<Vantage>,
    /// Vantage points whose file is cut this many bytes short, as when a
    /// capture is copied before it was closed.
    pub cut_short: Vec<(String, usize)>,
}

impl World {
    /// Adds a capture point with its interfaces (name, link type).
    pub fn add(&mut self, name: &str, clock_offset_ns: i64, interfaces: &[(&str, u32)]) {
        self.vantages.push(Vantage {
            name: name.to_owned(),
            clock_offset_ns,
            interfaces: interfaces
                .iter()
                .map(|(n, l)| ((*n).to_owned(), *l))
                .collect(),
            frames: Vec::new(),
        });
    }

    /// Records `frame` at true time `t_ns` on `interface` of `vantage`; a
    /// vantage or interface the scenario does not capture records nothing.
    pub fn record(&mut self, vantage: &str, interface: &str, t_ns: i64, frame: Vec<u8>) {
        let Some(v) = self.vantages.iter_mut().find(|v| v.name == vantage) else {
            return;
        };
        let Some(i) = v.interfaces.iter().position(|(n, _)| n == interface) else {
            return;
        };
        v.frames.push((t_ns + v.clock_offset_ns, i, frame));
    }

    /// Number of frames recorded at `vantage`.
    pub fn frames(&self, vantage: &str) -> usize {
        self.vantages
            .iter()
            .find(|v| v.name == vantage)
            .map_or(0, |v| v.frames.len())
    }

    /// Writes `<dir>/<vantage>.pcapng` for every vantage point.
    pub fn write(&self, dir: &Path, application: &str) -> io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        for v in &self.vantages {
            let path = dir.join(format!("{}.pcapng", v.name));
            let mut w = PcapngWriter::new(BufWriter::new(File::create(&path)?), application)?;
            for (name, link_type) in &v.interfaces {
                w.add_interface(*link_type, Some(name))?;
            }
            let mut frames: Vec<&(i64, usize, Vec<u8>)> = v.frames.iter().collect();
            frames.sort_by_key(|(t, i, _)| (*t, *i));
            for (t, i, bytes) in frames {
                w.write_packet(*i as u32, *t, bytes.len() as u32, bytes, None)?;
            }
            w.into_inner()?;
            if let Some((_, cut)) = self.cut_short.iter().find(|(n, _)| *n == v.name) {
                let len = std::fs::metadata(&path)?.len();
                let file = std::fs::OpenOptions::new().write(true).open(&path)?;
                file.set_len(len.saturating_sub(*cut as u64))?;
            }
            written.push(path);
        }
        Ok(written)
    }
}

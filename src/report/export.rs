//! `--export-pcap FILE`: the evidence as one pcapng for the ticket — every
//! frame a finding cites, and every sighting (request, reply, ICMP error) of
//! the probes of the flows the findings explain, from all captures, each
//! packet carrying a comment that names the finding and the capture and frame
//! it came from.
//!
//! Guarantees: frames keep their original bytes, lengths and timestamps (or,
//! with `--redact`, their bytes with every address replaced and checksums
//! adjusted); each source interface (capture, interface, link type) gets one
//! interface block named `label:interface`; captures are written one after
//! the other in file order. Sightings the probe table does not keep in
//! detail (beyond its per-flow and per-probe limits, `flow::Limits`) are not
//! known and so not exported; a frame whose link layer cannot be redacted is
//! left out and counted.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

use super::ladder::probe_text;
use crate::capture::CaptureInfo;
use crate::capture::file::{CaptureFile, LINKTYPE_NO_INTERFACE};
use crate::capture::pcapng_writer::PcapngWriter;
use crate::diagnose::{Analysis, Finding};
use crate::error::Error;
use crate::redact::Redactor;

/// Which frames to export, and what each shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportPlan {
    /// (capture, frame) → per finding kind, what the frame shows.
    frames: BTreeMap<(u16, u64), Shows>,
}

/// Finding kinds with what a frame shows for each.
type Shows = Vec<(&'static str, Vec<String>)>;

impl ExportPlan {
    /// The frames the findings rest on.
    pub fn build(a: &Analysis<'_>, findings: &[Finding]) -> ExportPlan {
        let mut plan = ExportPlan::default();
        for f in findings {
            let kind = f.kind.name();
            for e in &f.evidence {
                plan.add(e.capture, e.frame, kind, e.note.clone());
            }
            for id in &f.flows {
                let Some(flow) = a.flows.iter().find(|s| s.id == *id) else {
                    continue;
                };
                for (probe, detail) in a.probes(flow) {
                    let Some(d) = detail else {
                        continue;
                    };
                    let what = probe_text(flow, probe);
                    let part = |role: &str| format!("flow #{id} {role} ({what})");
                    for s in &d.requests {
                        plan.add(s.capture, s.frame, kind, part("request"));
                    }
                    for s in &d.replies {
                        plan.add(s.capture, s.frame, kind, part("reply"));
                    }
                    for e in &d.errors {
                        plan.add(e.seen.capture, e.seen.frame, kind, part("ICMP error"));
                    }
                }
            }
        }
        plan
    }

    fn add(&mut self, capture: u16, frame: u64, kind: &'static str, part: String) {
        let kinds = self.frames.entry((capture, frame)).or_default();
        let i = match kinds.iter().position(|(k, _)| *k == kind) {
            Some(i) => i,
            None => {
                kinds.push((kind, Vec::new()));
                kinds.len() - 1
            }
        };
        let parts = &mut kinds[i].1;
        if !parts.contains(&part) {
            parts.push(part);
        }
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    fn has_capture(&self, capture: u16) -> bool {
        self.frames
            .range((capture, 0)..=(capture, u64::MAX))
            .next()
            .is_some()
    }

    /// The comment of a frame: the findings and what it shows for each,
    /// then the capture and frame it came from.
    pub fn comment(&self, capture: u16, frame: u64, label: &str) -> Option<String> {
        let kinds = self.frames.get(&(capture, frame))?;
        let findings: Vec<String> = kinds
            .iter()
            .map(|(kind, parts)| format!("finding {kind}: {}", parts.join("; ")))
            .collect();
        Some(format!("{} — {label} frame {frame}", findings.join(" | ")))
    }
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub written: u64,
    /// Frames left out because they could not be redacted, with the first reason.
    pub refused: u64,
    pub refusal: Option<String>,
}

/// Writes the frames of `plan` from `captures` (indexed as in the analysis) to `path`.
pub fn write(
    plan: &ExportPlan,
    captures: &[CaptureInfo],
    path: &Path,
    redactor: Option<&Redactor>,
) -> Result<ExportSummary, Error> {
    let io_error = |source: io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(io_error)?;
    let application = format!("isatap-trace {}", env!("CARGO_PKG_VERSION"));
    let mut w = PcapngWriter::new(BufWriter::new(file), &application).map_err(io_error)?;
    let mut summary = ExportSummary::default();
    let mut interfaces: HashMap<(u16, u32, u32), u32> = HashMap::new();
    let mut failed: Option<io::Error> = None;
    let mut bytes = Vec::new();
    for (index, info) in captures.iter().enumerate() {
        let index = index as u16;
        if !plan.has_capture(index) {
            continue;
        }
        let mut source = CaptureFile::open(&info.path)?;
        source.for_each_frame(|frame| {
            if failed.is_some() {
                return;
            }
            let Some(mut comment) = plan.comment(index, frame.index, &info.label) else {
                return;
            };
            if frame.link_type == LINKTYPE_NO_INTERFACE {
                summary.refused += 1;
                summary
                    .refusal
                    .get_or_insert_with(|| "a packet names no interface".to_owned());
                return;
            }
            bytes.clear();
            bytes.extend_from_slice(frame.bytes);
            if let Some(r) = redactor {
                if let Err(why) = r.frame(frame.link_type, &mut bytes) {
                    summary.refused += 1;
                    summary.refusal.get_or_insert_with(|| why.to_string());
                    return;
                }
                comment = r.text(&comment);
            }
            let key = (index, frame.interface, frame.link_type);
            let id = match interfaces.get(&key) {
                Some(&id) => id,
                None => {
                    let name = info
                        .interfaces
                        .get(frame.interface as usize)
                        .cloned()
                        .flatten()
                        .unwrap_or_else(|| format!("if{}", frame.interface));
                    let mut name = format!("{}:{name}", info.label);
                    if let Some(r) = redactor {
                        name = r.text(&name);
                    }
                    match w.add_interface(frame.link_type, Some(&name)) {
                        Ok(id) => {
                            interfaces.insert(key, id);
                            id
                        }
                        Err(e) => {
                            failed = Some(e);
                            return;
                        }
                    }
                }
            };
            match w.write_packet(id, frame.ts_ns, frame.orig_len, &bytes, Some(&comment)) {
                Ok(()) => summary.written += 1,
                Err(e) => failed = Some(e),
            }
        });
    }
    if let Some(e) = failed {
        return Err(io_error(e));
    }
    w.into_inner().map_err(io_error)?;
    Ok(summary)
}

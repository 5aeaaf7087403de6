//! The analysis pipeline shared by `analyze`, `topology` and `live`: read
//! captures into a correlator, then infer the topology, summarise flows,
//! diagnose and build the report.

use std::sync::Arc;

use super::progress::Progress;
use crate::capture::file::{CaptureFile, Consumer};
use crate::capture::{CaptureError, CaptureInfo, Frame};
use crate::cli::CaptureSpec;
use crate::diagnose::{self, Analysis};
use crate::flow::{Correlator, Decoding, Item, Limits, items_of, summarize_until};
use crate::report::Report;
use crate::report::model::Listing;
use crate::topology::Topology;
use crate::topology::infer::{self, CaptureMeta, Inferred};

/// Most malformed frames quoted per capture.
const MALFORMED_EXAMPLES: usize = 5;

/// What reading the captures produced.
pub struct Gathered {
    pub infos: Vec<CaptureInfo>,
    pub correlator: Correlator,
    /// Inputs that could not be read at all (exit status 2 after the report).
    pub unreadable: Vec<CaptureError>,
}

/// Reads every capture in turn into one correlator.
pub fn gather(specs: &[CaptureSpec], limits: Limits) -> Gathered {
    gather_showing(specs, limits, &Arc::new(Progress::hidden()))
}

/// [`gather`] with a progress bar.
pub fn gather_showing(specs: &[CaptureSpec], limits: Limits, progress: &Arc<Progress>) -> Gathered {
    let mut g = Gathered {
        infos: Vec::new(),
        correlator: Correlator::new(limits),
        unreadable: Vec::new(),
    };
    for spec in specs {
        let mut file = match CaptureFile::open(&spec.path) {
            Ok(f) => f,
            Err(e) => {
                g.unreadable.push(e);
                continue;
            }
        };
        let name = match specs.len() {
            1 => spec.label.clone(),
            n => format!(
                "{} ({} of {n})",
                spec.label,
                g.infos.len() + g.unreadable.len() + 1
            ),
        };
        progress.file(&name, file.byte_len());
        let shown = Arc::clone(progress);
        file.on_progress(move |bytes| shown.at(bytes));
        let index = g.infos.len() as u16;
        let mut info = CaptureInfo {
            label: spec.label.clone(),
            path: spec.path.clone(),
            format: file.format().name(),
            gzip: file.is_gzip(),
            ..CaptureInfo::default()
        };
        let correlator = &mut g.correlator;
        // Each side of the split walk counts the frames it decoded into an
        // inventory of its own; clean frames are counted from the totals
        // below: per frame only the rest is.
        let (mut read_side, mut caller_side) = (CaptureInfo::default(), CaptureInfo::default());
        let (summary, _, _) = file.for_each_frame_split_to(
            decode_counting(&mut read_side),
            decode_counting(&mut caller_side),
            &mut Feed {
                correlator,
                capture: index,
            },
        );
        add_unclean(&mut info, read_side);
        add_unclean(&mut info, caller_side);
        info.packets = summary.packets;
        info.decoded = summary
            .packets
            .saturating_sub(info.malformed + info.unsupported);
        info.first_ts_ns = summary.span.map(|(first, _)| first);
        info.last_ts_ns = summary.span.map(|(_, last)| last);
        info.link_types = summary.link_types;
        info.interfaces = summary.interfaces.into_iter().map(|i| i.name).collect();
        info.damage = summary.damage;
        info.kernel_drops = summary.kernel_drops;
        g.infos.push(info);
    }
    progress.done();
    g
}

/// The caller's side of the split walk: each batch's items into the
/// correlator, and the correlator's tables backed ahead of use while there
/// is no batch to take.
struct Feed<'a> {
    correlator: &'a mut Correlator,
    capture: u16,
}

impl Consumer<Item> for Feed<'_> {
    fn consume(&mut self, items: &[Item]) {
        self.correlator.add_items(self.capture, items);
    }

    fn idle(&mut self) -> bool {
        self.correlator.warm()
    }
}

/// The split walk's stage: a frame's items, counted in `info` unless it
/// decoded cleanly.
fn decode_counting(info: &mut CaptureInfo) -> impl FnMut(&Frame<'_>, &mut Vec<Item>) + '_ {
    |frame, out| {
        let decoding = items_of(frame, out);
        if decoding != Decoding::Clean {
            count_decoding(info, frame, decoding);
        }
    }
}

/// Adds the unclean frames another inventory of the same capture counted:
/// the malformed examples stay the first few in frame order.
fn add_unclean(info: &mut CaptureInfo, other: CaptureInfo) {
    info.unsupported += other.unsupported;
    info.malformed += other.malformed;
    info.malformed_examples.extend(other.malformed_examples);
    info.malformed_examples.sort_by_key(|(frame, _)| *frame);
    info.malformed_examples.truncate(MALFORMED_EXAMPLES);
}

/// Counts a frame in its capture's inventory.
#[inline]
pub fn count(info: &mut CaptureInfo, frame: &Frame<'_>, decoding: Decoding) {
    info.first_ts_ns.get_or_insert(frame.ts_ns);
    info.last_ts_ns = Some(frame.ts_ns);
    count_decoding(info, frame, decoding);
}

/// Counts how a frame decoded: clean, unsupported or malformed (quoting the
/// first few). Out of line: the split walk calls it only for frames that did
/// not decode cleanly.
#[inline(never)]
fn count_decoding(info: &mut CaptureInfo, frame: &Frame<'_>, decoding: Decoding) {
    match decoding {
        Decoding::Clean => info.decoded += 1,
        Decoding::Unsupported => info.unsupported += 1,
        Decoding::Malformed(e) => {
            info.malformed += 1;
            if info.malformed_examples.len() < MALFORMED_EXAMPLES {
                info.malformed_examples.push((frame.index, e.to_string()));
            }
        }
    }
}

/// The topology the analysis works with: the given one completed from the
/// captures, or one inferred from them.
pub fn topology_of(g: &Gathered, given: Option<&Topology>) -> Inferred {
    let metas: Vec<CaptureMeta> = g
        .infos
        .iter()
        .map(|i| CaptureMeta {
            label: i.label.clone(),
            interfaces: i.interfaces.clone(),
        })
        .collect();
    infer::infer(given, &g.correlator.facts, &g.correlator.table, &metas)
}

/// Draws the conclusions and builds the report. First it lists the probes
/// gathered so far under their flows ([`crate::flow::ProbeTable::group`]);
/// more may be added afterwards, and concluded again.
pub fn conclude(g: &mut Gathered, given: Option<&Topology>) -> Report {
    conclude_until(g, given, None)
}

/// [`conclude`] during a live capture: silence after `judged_until` (ns since
/// the epoch) is not judged yet (see [`Analysis::judged_until`]).
pub fn conclude_until(
    g: &mut Gathered,
    given: Option<&Topology>,
    judged_until: Option<i64>,
) -> Report {
    conclude_with(g, given, judged_until, Listing::Every, |_, _| ()).0
}

/// Like [`conclude_until`], and hands the analysis and its findings to `with`
/// (for what needs the probe table, such as the evidence export).
pub fn conclude_with<T>(
    g: &mut Gathered,
    given: Option<&Topology>,
    judged_until: Option<i64>,
    listing: Listing,
    with: impl FnOnce(&Analysis<'_>, &[diagnose::Finding]) -> T,
) -> (Report, T) {
    // The probes are listed by flow on another core meanwhile.
    let shared: &Gathered = g;
    let (groups, inferred) = crate::parallel::join(
        || shared.correlator.table.probe_groups(),
        || topology_of(shared, given),
    );
    g.correlator.table.group_with(groups);
    let routers: Vec<std::net::IpAddr> = inferred
        .topology
        .router
        .iter()
        .map(|r| std::net::IpAddr::V4(r.ipv4))
        .collect();
    let flows = summarize_until(&g.correlator.table, &routers, judged_until);
    let analysis = Analysis {
        captures: &g.infos,
        table: &g.correlator.table,
        facts: &g.correlator.facts,
        flows: &flows,
        topology: &inferred.topology,
        topology_given: given.is_some(),
        judged_until,
    };
    let findings = diagnose::diagnose(&analysis);
    let report = Report::build(
        &analysis,
        &findings,
        &inferred.assumptions,
        g.correlator.table.evicted,
        listing,
    );
    let extra = with(&analysis, &findings);
    (report, extra)
}

#[cfg(test)]
mod tests {
    use super::{CaptureInfo, MALFORMED_EXAMPLES, add_unclean};

    fn examples(frames: &[u64]) -> CaptureInfo {
        CaptureInfo {
            malformed: frames.len() as u64 + 10,
            unsupported: 1,
            malformed_examples: frames.iter().map(|&f| (f, format!("frame {f}"))).collect(),
            ..CaptureInfo::default()
        }
    }

    #[test]
    fn two_sides_inventories_add_up_with_the_first_examples_in_frame_order() {
        let mut info = CaptureInfo::default();
        add_unclean(&mut info, examples(&[4, 9, 30, 31, 32]));
        add_unclean(&mut info, examples(&[1, 7, 8]));
        assert_eq!(info.malformed, 15 + 13);
        assert_eq!(info.unsupported, 2);
        let frames: Vec<u64> = info.malformed_examples.iter().map(|(f, _)| *f).collect();
        assert_eq!(frames, [1, 4, 7, 8, 9]);
        assert_eq!(frames.len(), MALFORMED_EXAMPLES);
        assert_eq!(info.malformed_examples[0].1, "frame 1");
    }
}

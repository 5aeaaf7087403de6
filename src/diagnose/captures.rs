//! `capture-truncated` and `capture-malformed`: warnings about the captures
//! themselves (the analysis goes on with what decoded).

use super::{Analysis, Evidence, Finding, Kind, Severity};
use crate::capture::Damage;

pub fn damaged(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    for (i, c) in a.captures.iter().enumerate() {
        let capture = i as u16;
        match &c.damage {
            Some(Damage::Truncated { after_frame, offset }) => out.push(Finding {
                kind: Kind::CaptureTruncated,
                severity: Severity::Warning,
                node: format!("capture {}", c.label),
                summary: format!(
                    "{} ends in the middle of a record (byte {offset}); the {after_frame} frames before it were analysed.",
                    c.path.display()
                ),
                evidence: vec![Evidence {
                    capture,
                    frame: *after_frame,
                    note: "last complete frame".into(),
                }],
                fix: "Copy the capture again (or stop the capture cleanly before copying it).".into(),
                flows: Vec::new(),
            }),
            Some(Damage::Malformed {
                after_frame,
                offset,
                reason,
            }) => out.push(Finding {
                kind: Kind::CaptureMalformed,
                severity: Severity::Warning,
                node: format!("capture {}", c.label),
                summary: format!(
                    "{} is damaged at byte {offset} ({reason}); the {after_frame} frames before it were analysed.",
                    c.path.display()
                ),
                evidence: vec![Evidence {
                    capture,
                    frame: *after_frame,
                    note: "last frame before the damage".into(),
                }],
                fix: "Take the capture again; the file was damaged in storage or transfer.".into(),
                flows: Vec::new(),
            }),
            None => {}
        }
        if c.malformed > 0 {
            out.push(Finding {
                kind: Kind::CaptureMalformed,
                severity: Severity::Warning,
                node: format!("capture {}", c.label),
                summary: format!(
                    "{} of {} frames in {} do not decode; they were left out of the analysis.",
                    c.malformed,
                    c.packets,
                    c.path.display()
                ),
                evidence: c
                    .malformed_examples
                    .iter()
                    .map(|(frame, why)| Evidence {
                        capture,
                        frame: *frame,
                        note: why.clone(),
                    })
                    .collect(),
                fix: "None needed if these frames are unrelated; otherwise capture with a larger snapshot length (tcpdump -s 0).".into(),
                flows: Vec::new(),
            });
        }
    }
}

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
                node: "—".to_owned(),
                summary: format!(
                    "{} ends in the middle of a record (byte {offset}); the {after_frame} frames before it were analysed.",
                    c.path.display()
                ),
                evidence: vec![Evidence {
                    capture,
                    frame: *after_frame,
                    note: "last complete frame".into(),
                }],
                fix: format!(
                    "Copy {} again once the capture has been stopped (a capture copied while it is written ends mid-record).",
                    c.path.display()
                ),
                flows: Vec::new(),
            }),
            Some(Damage::Malformed {
                after_frame,
                offset,
                reason,
            }) => out.push(Finding {
                kind: Kind::CaptureMalformed,
                severity: Severity::Warning,
                node: "—".to_owned(),
                summary: format!(
                    "{} is damaged at byte {offset} ({reason}); the {after_frame} frames before it were analysed.",
                    c.path.display()
                ),
                evidence: vec![Evidence {
                    capture,
                    frame: *after_frame,
                    note: "last frame before the damage".into(),
                }],
                fix: format!(
                    "Take {} again; the file was damaged in storage or transfer.",
                    c.path.display()
                ),
                flows: Vec::new(),
            }),
            None => {}
        }
        if c.malformed > 0 {
            out.push(Finding {
                kind: Kind::CaptureMalformed,
                severity: Severity::Warning,
                node: "—".to_owned(),
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
                fix: if c.malformed_examples.iter().all(|(_, why)| why.contains("truncated")) {
                    format!(
                        "None needed if these frames are unrelated; otherwise capture {} again with a full snapshot length (tcpdump -s 0, pktmon --pkt-size 0).",
                        c.label
                    )
                } else {
                    format!(
                        "None needed if these frames are unrelated; otherwise they were damaged on the wire or by the capture tool: capture {} again, or at another point of the path.",
                        c.label
                    )
                },
                flows: Vec::new(),
            });
        }
    }
}

//! A text or Markdown report lists the flows that did not get all their
//! answers and a few answered ones. `analyze` builds such a report from
//! those flows alone; it must read the same as one built from every flow.

use isatap_trace::cli::{CaptureSpec, ReportFormat};
use isatap_trace::commands::analyze::render;
use isatap_trace::commands::pipeline::{conclude_with, gather};
use isatap_trace::flow::Limits;
use isatap_trace::report::model::{LISTED_ANSWERED, LISTED_FAILING, Listing, Report};
use isatap_trace::synth::replay::write;

mod common;
use common::Scratch;

fn rendered(report: &Report, format: ReportFormat) -> String {
    let mut out = Vec::new();
    render(report, format, &mut out, false).expect("report rendered");
    String::from_utf8(out).expect("UTF-8 report")
}

#[test]
fn text_and_markdown_reports_read_the_same_from_the_listed_flows_alone() {
    // A busy router's replay and a scenario's captures in one analysis: the
    // scenario's ISATAP router is another, so most of the replay's replies
    // come back past it and thousands of flows fail; hundreds stay answered.
    let dir = Scratch::new("report-listing", "mixed");
    let mut bytes = Vec::new();
    write(&mut bytes, 40_000).expect("replay written to memory");
    let mut specs = vec![CaptureSpec {
        label: "replay".into(),
        path: dir.write("replay.pcapng", &bytes),
    }];
    for path in common::capture_args("no-reply-from-target") {
        specs.push(CaptureSpec {
            label: format!("scenario-{}", specs.len()),
            path: path.into(),
        });
    }
    let mut gathered = gather(&specs, Limits::default());
    let (every, ()) = conclude_with(&mut gathered, None, None, Listing::Every, |_, _| ());
    let (listed, ()) = conclude_with(&mut gathered, None, None, Listing::Shown, |_, _| ());

    let counts = every.flow_counts;
    assert_eq!(counts, listed.flow_counts);
    assert_eq!(counts.total, every.flows.len());
    let failing = counts.total - counts.answered;
    assert!(failing > LISTED_FAILING, "{counts:?}");
    assert!(counts.answered > LISTED_ANSWERED, "{counts:?}");
    assert_eq!(listed.flows.len(), LISTED_FAILING + LISTED_ANSWERED);
    for format in [ReportFormat::Text, ReportFormat::Markdown] {
        assert_eq!(
            rendered(&every, format),
            rendered(&listed, format),
            "{format:?}"
        );
    }
}

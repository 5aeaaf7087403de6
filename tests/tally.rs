//! A long ping keeps the sightings of its first probes and tallies the rest:
//! the summary must count every probe once (duplicates in one capture and the
//! same probes seen at a second capture point included), every answer, the
//! replies a station would reject, and the round-trip times.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use isatap_trace::decode::TunnelKind;
use isatap_trace::flow::observe::{LinkFacts, Observation, Outer, What};
use isatap_trace::flow::summary::RttStats;
use isatap_trace::flow::{Correlator, FlowSummary, Item, Limits, Samples, summarize};

const STATION: &str = "fd9c:30c:2da4:1::5efe:ac10:1032";
const CLIENT: &str = "fd9c:30c:2da4:1000::7";
const ROUTER_V4: Ipv4Addr = Ipv4Addr::new(172, 16, 16, 31);
const NODE_V4: Ipv4Addr = Ipv4Addr::new(172, 16, 16, 25);

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

/// An echo of capture number `capture`, as the correlator takes it.
fn echo(
    capture: u16,
    ts_ms: i64,
    seq: u16,
    reply: bool,
    tunnel_from: Option<Ipv4Addr>,
) -> (u16, Item) {
    let (src, dst, what) = if reply {
        (
            v6(CLIENT),
            v6(STATION),
            What::EchoReply {
                id: 1,
                seq,
                len: 32,
            },
        )
    } else {
        (
            v6(STATION),
            v6(CLIENT),
            What::EchoRequest {
                id: 1,
                seq,
                len: 32,
            },
        )
    };
    let item = Item::Observed(Observation {
        frame: u64::from(seq) * 2 + u64::from(reply),
        ts_ns: ts_ms * 1_000_000,
        link: LinkFacts::default(),
        outer: tunnel_from.map(|from| Outer {
            src: IpAddr::V4(from),
            dst: IpAddr::V4(Ipv4Addr::new(172, 16, 16, 50)),
            ttl: 128,
            kind: TunnelKind::Isatap,
        }),
        src,
        dst,
        hop_limit: if reply { 126 } else { 128 },
        what,
    });
    (capture, item)
}

/// The one flow's summary, and its round-trip times.
fn summary(items: &[(u16, Item)]) -> (FlowSummary, Option<RttStats>) {
    let mut c = Correlator::new(Limits::default());
    for (capture, item) in items {
        c.add_item(*capture, item);
    }
    c.table.group();
    let mut flows = summarize(&c.table, &[IpAddr::V4(ROUTER_V4)]);
    assert_eq!(flows.len(), 1);
    let flow = flows.remove(0);
    let rtt = flow.rtt(&Samples::of(&c.table));
    (flow, rtt)
}

#[test]
fn a_long_ping_is_counted_once_per_probe() {
    let mut items = Vec::new();
    for seq in 0..100u16 {
        let t = i64::from(seq) * 1000;
        items.push(echo(0, t, seq, false, None));
        // Every request twice, as `tcpdump -i any` records it.
        items.push(echo(0, t, seq, false, None));
        // Every third probe unanswered; the others answered through the router
        // after 20 ms, the reply recorded twice.
        if seq % 3 != 0 {
            items.push(echo(0, t + 20, seq, true, Some(ROUTER_V4)));
            items.push(echo(0, t + 20, seq, true, Some(ROUTER_V4)));
        }
    }
    // The router's capture saw the same probes (another clock), and the replies.
    for seq in 0..100u16 {
        let t = 5_000 + i64::from(seq) * 1000;
        items.push(echo(1, t, seq, false, None));
        if seq % 3 != 0 {
            items.push(echo(1, t + 19, seq, true, None));
        }
    }
    let (s, rtt) = summary(&items);
    assert_eq!(s.probes, 100);
    assert_eq!(s.answered, 66);
    assert_eq!(s.rejected, 0);
    let rtt = rtt.expect("round-trip times");
    assert!(
        (rtt.min_ms - 20.0).abs() < 0.01 && (rtt.max_ms - 20.0).abs() < 0.01,
        "{rtt:?}"
    );
}

#[test]
fn tallied_replies_from_a_node_itself_are_rejected() {
    let mut items = Vec::new();
    for seq in 0..40u16 {
        let t = i64::from(seq) * 1000;
        items.push(echo(0, t, seq, false, None));
        items.push(echo(0, t + 30, seq, true, Some(NODE_V4)));
    }
    let (s, _) = summary(&items);
    assert_eq!(s.probes, 40);
    assert_eq!(s.answered, 0);
    assert_eq!(s.rejected, 40);
}

/// Items of a replay capture (busy router: many flows interleaved, new flows
/// appearing all the time) with a second pass of some of them as another
/// capture point.
fn replay_items() -> Vec<(u16, Item)> {
    let path =
        std::env::temp_dir().join(format!("isatap-trace-tally-{}.pcapng", std::process::id()));
    let out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    isatap_trace::synth::replay::write(out, 30_000).expect("write the replay capture");
    let mut items = Vec::new();
    let mut file = isatap_trace::capture::file::CaptureFile::open(&path).expect("open");
    file.for_each_frame(|f| {
        let mut out = Vec::new();
        isatap_trace::flow::items_of(f, &mut out);
        items.extend(out.into_iter().map(|i| (0u16, i)));
    });
    std::fs::remove_file(&path).ok();
    let again: Vec<(u16, Item)> = items
        .iter()
        .step_by(3)
        .map(|(_, i)| (1, i.clone()))
        .collect();
    items.extend(again);
    items
}

#[test]
fn adding_in_runs_is_adding_one_by_one() {
    let items = replay_items();
    let mut one = Correlator::new(Limits::default());
    for (capture, item) in &items {
        one.add_item(*capture, item);
    }
    let mut runs = Correlator::new(Limits::default());
    // Runs of every length, never crossing a change of capture.
    let mut at = 0;
    let mut len = 1;
    while at < items.len() {
        let capture = items[at].0;
        let end = (at + len).min(items.len());
        let end = at
            + items[at..end]
                .iter()
                .take_while(|(c, _)| *c == capture)
                .count();
        let run: Vec<Item> = items[at..end].iter().map(|(_, i)| i.clone()).collect();
        runs.add_items(capture, &run);
        at = end;
        len = len % 97 + 1;
    }
    one.table.group();
    runs.table.group();
    let routers = [IpAddr::V4(Ipv4Addr::new(172, 16, 0, 31))];
    let (a, b) = (
        summarize(&one.table, &routers),
        summarize(&runs.table, &routers),
    );
    assert!(a.len() > 1000, "{} flows", a.len());
    assert_eq!(a, b);
    assert_eq!(one.table.probes, runs.table.probes);
    assert_eq!(one.table.details, runs.table.details);
    assert_eq!(one.table.rtt_samples, runs.table.rtt_samples);
    assert_eq!(format!("{:?}", one.facts), format!("{:?}", runs.facts));
}

//! Applying `--redact` to a [`Report`] before any renderer draws it.
//!
//! Guarantees: every string of the report goes through the redactor's text
//! scanner and every typed address of the topology through its mappings, so
//! text, JSON, Markdown and HTML all show the same pseudonyms (and the same as
//! the exported capture, when one redactor does both); names, labels, kinds
//! and numbers are kept; the report is marked `redacted`.

use super::ladder::Ladder;
use super::model::{PathEntry, Report, TunnelEntry};
use crate::redact::Redactor;
use crate::topology::{MacAddr, Topology};

fn text(r: &Redactor, s: &mut String) {
    *s = r.text(s);
}

fn opt(r: &Redactor, s: &mut Option<String>) {
    if let Some(s) = s {
        text(r, s);
    }
}

fn tunnel(r: &Redactor, t: &mut Option<TunnelEntry>) {
    if let Some(t) = t {
        text(r, &mut t.src);
        text(r, &mut t.dst);
    }
}

fn path(r: &Redactor, p: &mut PathEntry) {
    text(r, &mut p.capture);
    opt(r, &mut p.link_src);
    opt(r, &mut p.link_dst);
    tunnel(r, &mut p.tunnel);
}

fn ladder(r: &Redactor, l: &mut Ladder) {
    text(r, &mut l.probe);
    for c in &mut l.columns {
        text(r, &mut c.label);
        opt(r, &mut c.name);
    }
    for e in &mut l.events {
        for s in [&mut e.capture, &mut e.src, &mut e.dst, &mut e.what] {
            text(r, s);
        }
        tunnel(r, &mut e.tunnel);
        opt(r, &mut e.link_dst);
        opt(r, &mut e.next_hop);
        opt(r, &mut e.stop);
    }
}

fn topology(r: &Redactor, t: &mut Topology) {
    let mac = |m: &mut Option<MacAddr>| {
        if let Some(m) = m {
            m.0 = r.mac(m.0);
        }
    };
    if let Some(router) = &mut t.router {
        router.ipv4 = r.ipv4(router.ipv4);
        router.ipv6 = router.ipv6.map(|a| r.ipv6(a));
        router.isatap_prefix = router.isatap_prefix.map(|p| r.ipv6_net(p));
        mac(&mut router.mac);
        opt(r, &mut router.lan_interface);
        opt(r, &mut router.isatap_interface);
    }
    for n in &mut t.da_nodes {
        n.ipv6 = r.ipv6(n.ipv6);
        n.ipv4 = n.ipv4.map(|a| r.ipv4(a));
        n.client_prefix = r.ipv6_net(n.client_prefix);
        mac(&mut n.mac);
        opt(r, &mut n.interface);
    }
}

/// Replaces every address in `report` by its pseudonym.
pub fn redact(report: &mut Report, r: &Redactor) {
    for c in &mut report.captures {
        text(r, &mut c.label);
        text(r, &mut c.path);
        for name in c.interfaces.iter_mut() {
            opt(r, name);
        }
        opt(r, &mut c.damage);
    }
    for f in &mut report.flows {
        text(r, &mut f.src);
        text(r, &mut f.dst);
        for p in &mut f.path {
            path(r, p);
        }
        for h in &mut f.hops {
            opt(r, &mut h.address);
        }
        if let Some(l) = &mut f.ladder {
            ladder(r, l);
        }
    }
    for f in &mut report.findings {
        text(r, &mut f.node);
        text(r, &mut f.summary);
        text(r, &mut f.fix);
        for e in &mut f.evidence {
            text(r, &mut e.capture);
            text(r, &mut e.note);
        }
    }
    topology(r, &mut report.topology.topology);
    for a in &mut report.assumptions {
        text(r, a);
    }
    report.redacted = true;
}

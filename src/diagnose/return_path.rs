//! Return-path rules: a DA node answering through its own ISATAP interface
//! instead of the router (`return-bypasses-isatap-router`), and a reply that
//! comes back through another DA node than the request went through
//! (`return-via-wrong-node`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{Analysis, Evidence, Finding, Kind, Severity, fixes};
use crate::decode::TunnelKind;
use crate::flow::summary::reply_accepted;
use crate::flow::table::Sighting;
use crate::topology::DaNode;

/// Replies tunnelled straight from a DA node's IPv4 to the station.
pub fn bypasses_router(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    let routers = a.routers_v4();
    if routers.is_empty() {
        return;
    }
    // Sender IPv4 → (evidence, flows, a client address it answered for).
    let mut bypass: BTreeMap<IpAddr, (Vec<Evidence>, Vec<u32>, IpAddr)> = BTreeMap::new();
    for flow in a.flows {
        if flow.rejected == 0 {
            continue;
        }
        for (_, detail) in a.probes(flow).take(16) {
            let Some(detail) = detail else { continue };
            for r in &detail.replies {
                let Some(outer) = a.via(r).outer.filter(|o| o.kind == TunnelKind::Isatap) else {
                    continue;
                };
                if reply_accepted(Some(&outer), flow.key.dst, &routers) {
                    continue;
                }
                let entry = bypass
                    .entry(outer.src)
                    .or_insert_with(|| (Vec::new(), Vec::new(), flow.key.dst));
                entry.0.push(Evidence {
                    capture: r.capture,
                    frame: r.frame,
                    note: format!(
                        "reply from {} arrives by protocol 41 from {}, not from the router {}",
                        flow.key.dst, outer.src, routers[0]
                    ),
                });
                entry.1.push(flow.id);
            }
        }
    }
    for (sender, (evidence, flows, client)) in bypass {
        let node = a
            .node_of_ipv4(&sender)
            .or_else(|| a.topology.owner_of(&client));
        let name = node.map_or_else(|| format!("host {sender}"), |n| n.name.clone());
        out.push(Finding {
            kind: Kind::ReturnBypassesIsatapRouter,
            severity: Severity::Error,
            node: name.clone(),
            summary: format!(
                "{name} sends its replies through its own ISATAP interface (protocol 41 from {sender}) instead of through {}; \
                 the station drops them, because {sender} is not its ISATAP router (RFC 5214 source check).",
                a.router_name()
            ),
            evidence,
            fix: fixes::node_return_route(
                &a.isatap_prefix_text(),
                &node_interface(node),
                &a.router_ipv6_text(),
            ),
            flows,
        });
    }
}

fn node_interface(node: Option<&DaNode>) -> String {
    node.and_then(|n| n.interface.clone())
        .unwrap_or_else(|| "<DA node's internal interface>".to_owned())
}

/// The DA node a request or reply sighting puts the packet at, and how.
fn node_at<'a>(a: &Analysis<'a>, s: &Sighting, toward: bool) -> Option<&'a DaNode> {
    let via = a.via(s);
    if via.outer.is_some() {
        return None;
    }
    let mac = if toward {
        via.link.dst_mac
    } else {
        via.link.src_mac
    };
    mac.and_then(|m| a.node_of_mac(&m))
        .or_else(|| a.node_of_capture(s.capture))
}

/// The reply comes back through a different DA node than the request went through.
pub fn via_wrong_node(a: &Analysis<'_>, out: &mut Vec<Finding>) {
    for flow in a.flows {
        if a.topology.da_nodes.is_empty() {
            return;
        }
        let mut evidence = Vec::new();
        let mut pair: Option<(&DaNode, &DaNode, bool)> = None;
        for (_, detail) in a.probes(flow).take(16) {
            let Some(detail) = detail else { continue };
            let Some((req, there)) = detail
                .requests
                .iter()
                .find_map(|s| node_at(a, s, true).map(|n| (s, n)))
            else {
                continue;
            };
            // A reply leaving another node, arriving at another node's capture,
            // or sent by the request's node to another node.
            let mut wrong = None;
            for r in detail.replies.iter().filter(|r| a.via(r).outer.is_none()) {
                let link = a.via(r).link;
                let from = link.src_mac.and_then(|m| a.node_of_mac(&m));
                let to = link.dst_mac.and_then(|m| a.node_of_mac(&m));
                let at = a.node_of_capture(r.capture);
                let handed_over = from.is_some_and(|f| f.name == there.name)
                    && to.is_some_and(|t| t.name != there.name);
                let other = [to, from, at]
                    .into_iter()
                    .flatten()
                    .find(|n| n.name != there.name);
                if let Some(other) = other {
                    wrong = Some((r, other, handed_over));
                    break;
                }
            }
            let Some((reply, other, handed_over)) = wrong else {
                continue;
            };
            evidence.push(Evidence {
                capture: req.capture,
                frame: req.frame,
                note: format!("request to {} goes through {}", flow.key.dst, there.name),
            });
            let at_other = |r: &&Sighting| {
                let mac = other.mac.map(|m| m.0);
                let link = a.via(r).link;
                mac.is_some() && (link.dst_mac == mac || link.src_mac == mac)
                    || a.node_of_capture(r.capture)
                        .is_some_and(|n| n.name == other.name)
            };
            for r in detail
                .replies
                .iter()
                .filter(|r| a.via(r).outer.is_none())
                .filter(at_other)
            {
                let note = if a
                    .node_of_capture(r.capture)
                    .is_some_and(|n| n.name == other.name)
                {
                    format!("its reply arrives at {}", other.name)
                } else if handed_over {
                    format!("{} sends its reply to {}", there.name, other.name)
                } else {
                    format!("its reply comes through {}", other.name)
                };
                evidence.push(Evidence {
                    capture: r.capture,
                    frame: r.frame,
                    note,
                });
            }
            if !evidence
                .iter()
                .any(|e| e.frame == reply.frame && e.capture == reply.capture)
            {
                evidence.push(Evidence {
                    capture: reply.capture,
                    frame: reply.frame,
                    note: format!("its reply is at {} instead", other.name),
                });
            }
            pair = Some((there, other, handed_over || pair.is_some_and(|p| p.2)));
        }
        let Some((there, other, handed_over)) = pair else {
            continue;
        };
        let delivered = flow.answered > 0;
        let fix = if handed_over {
            format!(
                "On {}:\nnetsh interface ipv6 delete route {} \"{}\" nexthop={}\n{}",
                there.name,
                a.isatap_prefix_text(),
                node_interface(Some(there)),
                other.ipv6,
                fixes::node_return_route(
                    &a.isatap_prefix_text(),
                    &node_interface(Some(there)),
                    &a.router_ipv6_text()
                )
            )
        } else {
            format!(
                "On {}: {}",
                there.name,
                fixes::node_return_route(
                    &a.isatap_prefix_text(),
                    &node_interface(Some(there)),
                    &a.router_ipv6_text()
                )
            )
        };
        out.push(Finding {
            kind: Kind::ReturnViaWrongNode,
            severity: if delivered {
                Severity::Warning
            } else {
                Severity::Error
            },
            node: there.name.clone(),
            summary: format!(
                "The request to {} went through {}, but {}{}.",
                flow.key.dst,
                there.name,
                if handed_over {
                    format!(
                        "{} hands the reply to {} instead of to {}",
                        there.name,
                        other.name,
                        a.router_name()
                    )
                } else {
                    format!("the reply came back through {}", other.name)
                },
                if delivered {
                    " (it still arrived; stateful filters on the nodes will drop such replies)"
                } else {
                    ", which does not pass it on: the station never gets it"
                }
            ),
            evidence,
            fix,
            flows: vec![flow.id],
        });
    }
}

//! The IP tunnel stack: parses an IP header (etherparse's lax slicing, which
//! tolerates snapped payloads and walks IPv6 extension headers), then either
//! re-enters for protocol 41/4, GRE and Teredo, or decodes the transport.

use etherparse::err::Layer as EpLayer;
use etherparse::err::LenError;
use etherparse::err::ip::{HeaderError, LaxHeaderSliceError};
use etherparse::err::ipv6_exts::{HeaderError as ExtHeaderError, HeaderSliceError};
use etherparse::{LaxIpSlice, LenSource};

use super::bytes::{be16, be32, offset_in};
use super::error::{DecodeError, ErrorKind, Layer};
use super::tunnel::{self, Tunnel, TunnelKind};
use super::{Decoded, Fragment, IpLayer, MAX_IP_LAYERS, Tcp, Transport, Udp, icmp};

const PROTO_IPIP: u8 = 4;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_IPV6: u8 = 41;
const PROTO_GRE: u8 = 47;
const PROTO_ICMPV6: u8 = 58;
const PROTO_ICMPV4: u8 = 1;

/// How the next IP header was reached.
#[derive(Clone, Copy)]
enum Entry {
    Outermost,
    IpInIp,
    Gre,
    Teredo(tunnel::TeredoHeader),
    Udp(TunnelKind),
}

/// Decodes the IP packet at `start` and everything it carries into `d`.
/// `announced` is the IP version the link layer promised, if it did.
pub(super) fn walk<'a>(frame: &'a [u8], start: usize, announced: Option<u8>, d: &mut Decoded<'a>) {
    let mut at = start;
    let mut entry = Entry::Outermost;
    // The version the layer outside announced (link type, protocol 41/4, GRE
    // EtherType, Teredo): it names the layer of a packet cut before its first byte.
    let mut expected = announced;
    loop {
        let slice = frame.get(at..).unwrap_or_default();
        let version = slice.first().map(|b| b >> 4);
        let version_layer = layer_of(version.or(expected));
        if let (Entry::Outermost, Some(promised), Some(found)) = (entry, announced, version)
            && promised != found
        {
            let (layer, what) = if promised == 4 {
                (
                    Layer::Ipv4,
                    "link layer announces IPv4 but the IP version differs",
                )
            } else {
                (
                    Layer::Ipv6,
                    "link layer announces IPv6 but the IP version differs",
                )
            };
            d.error = Some(DecodeError::invalid(layer, at, what));
            return;
        }
        let (ip, ext_error) = match LaxIpSlice::from_slice(slice) {
            Ok(parsed) => parsed,
            Err(e) => {
                d.error = Some(header_error(e, at, version_layer));
                return;
            }
        };
        let (src, dst, hop_limit, ident, fragment) = match &ip {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                let fragment = match (h.fragments_offset().value(), h.more_fragments()) {
                    (0, false) => Fragment::Whole,
                    (0, true) => Fragment::First,
                    _ => Fragment::Later,
                };
                let (s, t) = (h.source_addr().into(), h.destination_addr().into());
                (s, t, h.ttl(), u32::from(h.identification()), fragment)
            }
            LaxIpSlice::Ipv6(v6) => {
                let h = v6.header();
                let (ident, fragment) = v6_fragment(v6);
                let (s, t) = (h.source_addr().into(), h.destination_addr().into());
                (s, t, h.hop_limit(), ident, fragment)
            }
        };
        let outer_v4 = d.ips.last().is_some_and(|l| !l.is_v6());
        let via = match entry {
            Entry::Outermost => None,
            Entry::IpInIp => Some(Tunnel {
                kind: TunnelKind::ip_in_ip(outer_v4, src, dst),
                teredo: None,
            }),
            Entry::Gre => Some(Tunnel {
                kind: TunnelKind::Gre,
                teredo: None,
            }),
            Entry::Teredo(h) => Some(Tunnel {
                kind: TunnelKind::Teredo,
                teredo: Some(h),
            }),
            Entry::Udp(kind) => Some(Tunnel { kind, teredo: None }),
        };
        let payload = ip.payload();
        let protocol = payload.ip_number.0;
        d.ips.push(IpLayer {
            src,
            dst,
            protocol,
            hop_limit,
            offset: at,
            fragment,
            ident,
            via,
        });
        if let Some((e, layer)) = ext_error {
            d.error = Some(extension_error(e, layer, at));
            return;
        }
        if fragment == Fragment::Later {
            return;
        }
        let body = payload.payload;
        let body_at = offset_in(frame, body);
        let next = match protocol {
            PROTO_IPV6 => Some((body_at, Entry::IpInIp, Some(6))),
            PROTO_IPIP => Some((body_at, Entry::IpInIp, Some(4))),
            PROTO_GRE => match tunnel::gre(body) {
                Some((len, 0x86dd)) => Some((body_at + len, Entry::Gre, Some(6))),
                Some((len, 0x0800)) => Some((body_at + len, Entry::Gre, Some(4))),
                _ => {
                    d.transport = Transport::Other(PROTO_GRE);
                    None
                }
            },
            PROTO_UDP => match udp(body, body_at) {
                Ok(u) => {
                    // The capture cut the datagram short of its UDP length.
                    let cut = be16(body, 4).is_some_and(|l| usize::from(l) > body.len());
                    let payload_at = offset_in(frame, u.payload);
                    match udp_tunnel(&u) {
                        Ok(Some((inner_at, entry))) => {
                            let expected = matches!(entry, Entry::Teredo(_)).then_some(6);
                            Some((payload_at + inner_at, entry, expected))
                        }
                        Err(needed) if cut => {
                            let have = u.payload.len();
                            d.error = Some(DecodeError::truncated(
                                Layer::Teredo,
                                payload_at,
                                needed,
                                have,
                            ));
                            None
                        }
                        Ok(None) | Err(_) => {
                            d.transport = Transport::Udp(u);
                            None
                        }
                    }
                }
                Err(e) => {
                    d.error = Some(e);
                    None
                }
            },
            _ => {
                transport(protocol, body, body_at, d);
                None
            }
        };
        let Some((next_at, next_entry, next_version)) = next else {
            return;
        };
        if d.ips.len() == MAX_IP_LAYERS {
            let version = frame.get(next_at).map(|b| b >> 4).or(next_version);
            d.error = Some(DecodeError {
                layer: layer_of(version),
                offset: next_at,
                kind: ErrorKind::TunnelTooDeep,
            });
            return;
        }
        at = next_at;
        entry = next_entry;
        expected = next_version;
    }
}

/// The layer an IP packet of `version` is reported at (IPv4 when unknown).
fn layer_of(version: Option<u8>) -> Layer {
    match version {
        Some(6) => Layer::Ipv6,
        _ => Layer::Ipv4,
    }
}

/// A tunnel carried in UDP: Teredo, GTP-U or AYIYA, by port and framing.
/// `Err(needed)`: a payload on the Teredo port that ends inside its framing
/// (a Teredo packet if the capture cut it, plain UDP otherwise).
fn udp_tunnel(u: &Udp<'_>) -> Result<Option<(usize, Entry)>, usize> {
    let short = match tunnel::teredo(u.sport, u.dport, u.payload) {
        Ok(t) => return Ok(Some((t.ipv6_at, Entry::Teredo(t)))),
        Err(tunnel::NotTeredo::Short { needed }) => Some(needed),
        Err(tunnel::NotTeredo::Other) => None,
    };
    if let Some(at) = tunnel::gtp_u(u.sport, u.dport, u.payload) {
        return Ok(Some((at, Entry::Udp(TunnelKind::GtpU))));
    }
    if let Some(at) = tunnel::ayiya(u.sport, u.dport, u.payload) {
        return Ok(Some((at, Entry::Udp(TunnelKind::Ayiya))));
    }
    short.map_or(Ok(None), Err)
}

fn transport<'a>(protocol: u8, body: &'a [u8], at: usize, d: &mut Decoded<'a>) {
    match protocol {
        PROTO_ICMPV6 => match icmp::icmpv6(body, at) {
            Ok((msg, err)) => {
                d.transport = Transport::Icmpv6(msg);
                d.error = err;
            }
            Err(e) => d.error = Some(e),
        },
        PROTO_ICMPV4 => match icmp::icmpv4(body, at) {
            Ok(msg) => d.transport = Transport::Icmpv4(msg),
            Err(e) => d.error = Some(e),
        },
        PROTO_TCP => match tcp(body, at) {
            Ok(t) => d.transport = Transport::Tcp(t),
            Err(e) => d.error = Some(e),
        },
        59 => {}
        other => d.transport = Transport::Other(other),
    }
}

fn udp(b: &[u8], at: usize) -> Result<Udp<'_>, DecodeError> {
    let (Some(sport), Some(dport), Some(len)) = (be16(b, 0), be16(b, 2), be16(b, 4)) else {
        return Err(DecodeError::truncated(Layer::Udp, at, 8, b.len()));
    };
    if b.len() < 8 {
        return Err(DecodeError::truncated(Layer::Udp, at, 8, b.len()));
    }
    // The length field bounds the payload unless it is absurd (then trust the slice).
    let end = match usize::from(len) {
        l if l >= 8 => l.min(b.len()),
        _ => b.len(),
    };
    Ok(Udp {
        sport,
        dport,
        payload: &b[8..end],
    })
}

fn tcp(b: &[u8], at: usize) -> Result<Tcp, DecodeError> {
    match (be16(b, 0), be16(b, 2), be32(b, 4), be32(b, 8), b.get(13)) {
        (Some(sport), Some(dport), Some(seq), Some(ack), Some(&flags)) if b.len() >= 20 => {
            Ok(Tcp {
                sport,
                dport,
                seq,
                ack,
                flags,
            })
        }
        _ => Err(DecodeError::truncated(Layer::Tcp, at, 20, b.len())),
    }
}

fn v6_fragment(v6: &etherparse::LaxIpv6Slice<'_>) -> (u32, Fragment) {
    let exts = v6.extensions();
    let Some(first) = exts.first_header() else {
        return (0, Fragment::Whole);
    };
    match super::ext::fragment_header(first.0, exts.slice()) {
        Some(f) => (f.ident, f.kind()),
        None => (0, Fragment::Whole),
    }
}

fn len_error(e: &LenError, base: usize, layer: Layer) -> DecodeError {
    DecodeError::truncated(layer, base + e.layer_start_offset, e.required_len, e.len)
}

fn header_error(e: LaxHeaderSliceError, at: usize, layer: Layer) -> DecodeError {
    match e {
        LaxHeaderSliceError::Len(l) => {
            let layer = match l.layer {
                EpLayer::Ipv6Header => Layer::Ipv6,
                EpLayer::Ipv4Header => Layer::Ipv4,
                _ => layer,
            };
            len_error(&l, at, layer)
        }
        LaxHeaderSliceError::Content(HeaderError::UnsupportedIpVersion { .. }) => {
            DecodeError::invalid(layer, at, "IP version is neither 4 nor 6")
        }
        LaxHeaderSliceError::Content(HeaderError::Ipv4HeaderLengthSmallerThanHeader { .. }) => {
            DecodeError::invalid(Layer::Ipv4, at, "IPv4 header length below 20 bytes")
        }
    }
}

fn extension_error(e: HeaderSliceError, layer: EpLayer, at: usize) -> DecodeError {
    let ours = match layer {
        EpLayer::IpAuthHeader => Layer::Ipv4,
        _ => Layer::Ipv6Extension,
    };
    match e {
        // The headers are all captured but name more headers than the IP
        // payload length holds (an endless chain): damage, not a short capture.
        HeaderSliceError::Len(l) if l.len_source != LenSource::Slice => DecodeError::invalid(
            ours,
            at + l.layer_start_offset,
            "extension headers run past the IP payload length",
        ),
        HeaderSliceError::Len(l) => len_error(&l, at, ours),
        HeaderSliceError::Content(ExtHeaderError::HopByHopNotAtStart) => {
            DecodeError::invalid(ours, at, "hop-by-hop options header not first")
        }
        HeaderSliceError::Content(ExtHeaderError::IpAuth(_)) => {
            DecodeError::invalid(ours, at, "authentication header length too small")
        }
    }
}

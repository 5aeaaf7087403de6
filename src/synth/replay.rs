//! Writes the replay benchmark's capture: what the IPv4 side of a busy ISATAP
//! router sees. Half the frames are ISATAP pings (Windows echo over protocol
//! 41) from 256 stations to 64 DA clients and their replies; the other half is
//! LAN chatter: SMB over TCP, DNS, ARP, IPv4 ping and MLD reports.
//!
//! [`write_distinct_flows`] writes the bounded-state benchmark's capture
//! instead: every ping a flow of its own.
//!
//! Deterministic: the same frame count gives the same bytes.

use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::packet::{echo6, ethernet, icmpv4, icmpv6, ipv4};
use crate::capture::pcapng_writer::PcapngWriter;
use crate::decode::Mac;

const STATIONS: u32 = 256;
const CLIENTS: u32 = 64;
const PING_DATA: &[u8] = b"abcdefghijklmnopqrstuvwabcdefghi";

/// A small deterministic generator (xorshift64*), so runs are repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn mac_of(v4: Ipv4Addr) -> Mac {
    let o = v4.octets();
    [0x00, 0x15, 0x5d, o[1], o[2], o[3]]
}

/// Writes a replay capture of (at least) `frames` frames to `out`.
pub fn write(out: impl Write, frames: u64) -> io::Result<()> {
    let mut w = PcapngWriter::new(out, "isatap-trace replay generator")?;
    let eth = w.add_interface(1, Some("Ethernet"))?;
    let router = Ipv4Addr::new(172, 16, 0, 31);
    let router_mac = mac_of(router);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ts: i64 = 1_795_684_440_000_000_000;
    let mut seq = vec![0u16; (STATIONS * CLIENTS) as usize];
    let mut v4_seq = vec![0u16; 16 * 64];
    let smb_payload = vec![0x5au8; 1400];
    let mut written = 0u64;
    while written < frames {
        ts += 1_000 + rng.below(4_000) as i64;
        if rng.below(2) == 0 {
            // An ISATAP ping and its reply, through the router.
            let s = rng.below(u64::from(STATIONS)) as u32;
            let c = rng.below(u64::from(CLIENTS)) as u32;
            let station = Ipv4Addr::from(0x0a01_0000 + s);
            let station6: Ipv6Addr = format!("fd9c:30c:2da4:1::5efe:{station}")
                .parse()
                .unwrap_or(Ipv6Addr::UNSPECIFIED);
            let client = Ipv6Addr::new(
                0xfd9c,
                0x30c,
                0x2da4,
                0x1000 + (c % 2) as u16,
                0,
                0,
                0,
                0x100 + c as u16,
            );
            let slot = &mut seq[(s * CLIENTS + c) as usize];
            *slot = slot.wrapping_add(1);
            let req = echo6(station6, client, 128, false, 1, *slot, PING_DATA);
            let outer = ipv4(station, router, 128, 41, rng.next() as u16, &req.bytes());
            let f = ethernet(router_mac, mac_of(station), None, 0x0800, &outer);
            w.write_packet(eth, ts, f.len() as u32, &f, None)?;
            let rep = echo6(client, station6, 126, true, 1, *slot, PING_DATA);
            let outer = ipv4(router, station, 128, 41, rng.next() as u16, &rep.bytes());
            let f = ethernet(mac_of(station), router_mac, None, 0x0800, &outer);
            w.write_packet(eth, ts + 20_000_000, f.len() as u32, &f, None)?;
            written += 2;
            continue;
        }
        let a = Ipv4Addr::from(0x0a02_0000 + rng.below(1024) as u32);
        let b = Ipv4Addr::from(0x0a02_0000 + rng.below(1024) as u32);
        let f = match rng.below(10) {
            // SMB: TCP 445 segments of varying size.
            0..=4 => {
                let len = 100 + rng.below(1300) as usize;
                let mut tcp = vec![0x01, 0xbd, 0xc3, 0x50];
                tcp.extend_from_slice(&(rng.next() as u32).to_be_bytes());
                tcp.extend_from_slice(&(rng.next() as u32).to_be_bytes());
                tcp.extend_from_slice(&[0x50, 0x18, 0x01, 0x00, 0, 0, 0, 0]);
                tcp.extend_from_slice(&smb_payload[..len]);
                ethernet(
                    mac_of(b),
                    mac_of(a),
                    None,
                    0x0800,
                    &ipv4(a, b, 128, 6, rng.next() as u16, &tcp),
                )
            }
            // DNS query.
            5 | 6 => {
                let mut udp = vec![0xd4, 0x31, 0x00, 0x35, 0, 40, 0, 0];
                udp.extend_from_slice(&[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
                udp.extend_from_slice(b"\x04dc01\x04corp\x00\x00\x01\x00\x01");
                ethernet(
                    mac_of(b),
                    mac_of(a),
                    None,
                    0x0800,
                    &ipv4(a, b, 128, 17, rng.next() as u16, &udp),
                )
            }
            // ARP who-has.
            7 => {
                let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
                arp.extend_from_slice(&mac_of(a));
                arp.extend_from_slice(&a.octets());
                arp.extend_from_slice(&[0; 6]);
                arp.extend_from_slice(&b.octets());
                ethernet([0xff; 6], mac_of(a), None, 0x0806, &arp)
            }
            // IPv4 ping: 16 monitoring hosts watch 64 servers, every echo answered.
            8 => {
                let m = rng.below(16) as u32;
                let srv = rng.below(64) as u32;
                let monitor = Ipv4Addr::from(0x0a03_0000 + m);
                let server = Ipv4Addr::from(0x0a04_0000 + srv);
                let slot = &mut v4_seq[(m * 64 + srv) as usize];
                *slot = slot.wrapping_add(1);
                let mut rest = [0u8; 4];
                rest[..2].copy_from_slice(&(m as u16 + 1).to_be_bytes());
                rest[2..].copy_from_slice(&slot.to_be_bytes());
                let echo = icmpv4(8, 0, rest, PING_DATA);
                let ip = ipv4(monitor, server, 128, 1, rng.next() as u16, &echo);
                let f = ethernet(mac_of(server), mac_of(monitor), None, 0x0800, &ip);
                w.write_packet(eth, ts, f.len() as u32, &f, None)?;
                written += 1;
                let echo = icmpv4(0, 0, rest, PING_DATA);
                let ip = ipv4(server, monitor, 128, 1, rng.next() as u16, &echo);
                ethernet(mac_of(monitor), mac_of(server), None, 0x0800, &ip)
            }
            // MLDv2 report.
            _ => {
                let ll = Ipv6Addr::new(
                    0xfe80,
                    0,
                    0,
                    0,
                    0x215,
                    0x5dff,
                    0xfe00,
                    rng.below(1024) as u16,
                );
                let mut body = vec![0, 0, 0, 1, 4, 0, 0, 0];
                body.extend_from_slice(&Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 1).octets());
                let mld = icmpv6(
                    ll,
                    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16),
                    1,
                    143,
                    0,
                    &body,
                );
                ethernet(
                    [0x33, 0x33, 0, 0, 0, 0x16],
                    mac_of(a),
                    None,
                    0x86dd,
                    &mld.bytes(),
                )
            }
        };
        w.write_packet(eth, ts, f.len() as u32, &f, None)?;
        written += 1;
    }
    w.into_inner()?;
    Ok(())
}

/// Writes `flows` ISATAP pings (request and reply), each a flow of its own:
/// stations across 10.0.0.0/8 send to 64 DA clients, the echo identifier
/// changing once every station has sent. What a flow table must survive
/// without growing past its bounds.
pub fn write_distinct_flows(out: impl Write, flows: u64) -> io::Result<()> {
    let mut w = PcapngWriter::new(out, "isatap-trace replay generator (distinct flows)")?;
    let eth = w.add_interface(1, Some("Ethernet"))?;
    let router = Ipv4Addr::new(172, 16, 0, 31);
    let router_mac = mac_of(router);
    let mut ts: i64 = 1_795_684_440_000_000_000;
    for i in 0..flows {
        ts += 1_000;
        let station = Ipv4Addr::from(0x0a00_0000 + (i % (1 << 24)) as u32);
        let id = (i >> 24) as u16 + 1;
        let c = (i % u64::from(CLIENTS)) as u16;
        let mut station6 = [
            0xfd, 0x9c, 0x03, 0x0c, 0x2d, 0xa4, 0, 1, 0, 0, 0x5e, 0xfe, 0, 0, 0, 0,
        ];
        station6[12..].copy_from_slice(&station.octets());
        let station6 = Ipv6Addr::from(station6);
        let client = Ipv6Addr::new(0xfd9c, 0x30c, 0x2da4, 0x1000, 0, 0, 0, 0x100 + c);
        let req = echo6(station6, client, 128, false, id, 1, PING_DATA);
        let outer = ipv4(station, router, 128, 41, i as u16, &req.bytes());
        let f = ethernet(router_mac, mac_of(station), None, 0x0800, &outer);
        w.write_packet(eth, ts, f.len() as u32, &f, None)?;
        let rep = echo6(client, station6, 126, true, id, 1, PING_DATA);
        let outer = ipv4(router, station, 128, 41, i as u16, &rep.bytes());
        let f = ethernet(mac_of(station), router_mac, None, 0x0800, &outer);
        w.write_packet(eth, ts + 500, f.len() as u32, &f, None)?;
    }
    w.into_inner()?;
    Ok(())
}

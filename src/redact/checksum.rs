//! Internet checksums (RFC 1071) after bytes under them changed: the new
//! checksum is the old one adjusted by the difference of the sums (RFC 1624),
//! so it is right for truncated packets and fragments too.
//!
//! Guarantees: a checksum that was right for the original bytes is right for
//! the rewritten ones; one that was wrong (offloaded, corrupted) stays wrong
//! by the same amount; a UDP checksum of zero ("none") stays zero.

use std::ops::Range;

/// One's-complement sum of `bytes` as 16-bit big-endian words (odd tail padded).
fn sum(bytes: &[u8]) -> u32 {
    let mut s = 0u32;
    let mut chunks = bytes.chunks_exact(2);
    for w in &mut chunks {
        s = add(s, u32::from(u16::from_be_bytes([w[0], w[1]])));
    }
    if let [last] = chunks.remainder() {
        s = add(s, u32::from(*last) << 8);
    }
    s
}

fn add(a: u32, b: u32) -> u32 {
    let s = a + b;
    (s & 0xffff) + (s >> 16)
}

/// A checksum to adjust: the bytes it covers, where the field is, and the
/// address fields of its pseudo-header (outside the covered bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub covered: Range<usize>,
    pub field: usize,
    pub pseudo: Option<(Range<usize>, Range<usize>)>,
    /// UDP: zero means "no checksum" and a computed zero is sent as 0xffff.
    pub udp: bool,
}

/// The sum a job covers in `buf`, with the checksum field counted as zero.
fn covered_sum(job: &Job, buf: &[u8]) -> u32 {
    let end = job.covered.end.min(buf.len());
    let start = job.covered.start.min(end);
    let region = &buf[start..end];
    let mut s = sum(region);
    // Take the field back out: it sits at an even offset from the start.
    if let Some(field) = buf.get(job.field..job.field + 2) {
        s = add(s, u32::from(!u16::from_be_bytes([field[0], field[1]])));
    }
    if let Some((src, dst)) = &job.pseudo {
        for r in [src, dst] {
            if let Some(b) = buf.get(r.clone()) {
                s = add(s, sum(b));
            }
        }
    }
    s
}

/// Adjusts the checksum of `job` in `new` for what changed since `old`.
pub fn adjust(job: &Job, old: &[u8], new: &mut [u8]) {
    if job.field + 2 > job.covered.end {
        return;
    }
    let Some(field) = old.get(job.field..job.field + 2) else {
        return;
    };
    let old_ck = u16::from_be_bytes([field[0], field[1]]);
    if job.udp && old_ck == 0 {
        return;
    }
    let before = covered_sum(job, old);
    let after = covered_sum(job, new);
    // HC' = ~(~HC + ~m + m')  (RFC 1624, eqn. 3)
    let s = add(add(u32::from(!old_ck), u32::from(!(before as u16))), after);
    let mut ck = !(s as u16);
    if job.udp && ck == 0 {
        ck = 0xffff;
    }
    new[job.field..job.field + 2].copy_from_slice(&ck.to_be_bytes());
}

/// The checksum of `bytes` computed from scratch (tests and verification).
pub fn checksum(bytes: &[u8]) -> u16 {
    !(sum(bytes) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjusted_equals_recomputed() {
        // An IPv4 header with a correct checksum, then new addresses.
        let mut old = vec![
            0x45, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 172, 16, 16, 50, 172, 16, 16, 31,
        ];
        let ck = checksum(&old);
        old[10..12].copy_from_slice(&ck.to_be_bytes());
        let mut new = old.clone();
        new[12..20].copy_from_slice(&[10, 9, 8, 7, 192, 168, 1, 254]);
        let job = Job {
            covered: 0..20,
            field: 10,
            pseudo: None,
            udp: false,
        };
        adjust(&job, &old, &mut new);
        assert_eq!(checksum(&new), 0, "verifies");
    }

    #[test]
    fn pseudo_header_and_odd_truncation() {
        let addrs_old = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let addrs_new = [9u8, 9, 9, 9, 8, 8, 8, 8];
        // covered region: 9 bytes (odd), field at 2.
        let mut old = addrs_old.to_vec();
        old.extend_from_slice(&[0x80, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a]);
        let full = |b: &[u8]| {
            let mut v = b[..8].to_vec();
            v.extend_from_slice(&[0, 1, 0, 9]); // zero, protocol, length
            v.extend_from_slice(&b[8..]);
            v
        };
        let ck = checksum(&full(&old));
        old[10..12].copy_from_slice(&ck.to_be_bytes());
        assert_eq!(checksum(&full(&old)), 0);
        let mut new = old.clone();
        new[..8].copy_from_slice(&addrs_new);
        new[16] = 0x11;
        let job = Job {
            covered: 8..17,
            field: 10,
            pseudo: Some((0..4, 4..8)),
            udp: false,
        };
        adjust(&job, &old, &mut new);
        assert_eq!(checksum(&full(&new)), 0);
    }
}

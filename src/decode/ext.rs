//! A bounds-checked walk over an IPv6 extension-header chain that the IP
//! slicer already delimited, to find the fragment header.

use super::Fragment;
use super::bytes::{be16, be32};

const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTH: u8 = 51;
const DEST_OPTIONS: u8 = 60;

/// The fields of an IPv6 fragment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentHeader {
    pub ident: u32,
    /// Offset in 8-byte units.
    pub offset: u16,
    pub more: bool,
}

impl FragmentHeader {
    pub fn kind(&self) -> Fragment {
        match (self.offset, self.more) {
            (0, false) => Fragment::Whole,
            (0, true) => Fragment::First,
            _ => Fragment::Later,
        }
    }
}

/// Finds the fragment header in `chain`, whose first header is of type `first`.
pub fn fragment_header(first: u8, chain: &[u8]) -> Option<FragmentHeader> {
    let mut kind = first;
    let mut at = 0usize;
    while at < chain.len() {
        let next = *chain.get(at)?;
        let len = match kind {
            FRAGMENT => {
                let field = be16(chain, at + 2)?;
                return Some(FragmentHeader {
                    ident: be32(chain, at + 4)?,
                    offset: field >> 3,
                    more: field & 1 != 0,
                });
            }
            HOP_BY_HOP | ROUTING | DEST_OPTIONS => (usize::from(*chain.get(at + 1)?) + 1) * 8,
            AUTH => (usize::from(*chain.get(at + 1)?) + 2) * 4,
            _ => return None,
        };
        at += len;
        kind = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fragment_after_options() {
        let mut chain = vec![FRAGMENT, 0, 1, 4, 0, 0, 0, 0];
        chain.extend_from_slice(&[58, 0, 0x00, 0x09, 0, 0, 0x12, 0x34]);
        let f = fragment_header(DEST_OPTIONS, &chain).unwrap();
        assert_eq!((f.ident, f.offset, f.more), (0x1234, 1, true));
        assert_eq!(f.kind(), Fragment::Later);
        for len in 0..chain.len() {
            assert_eq!(fragment_header(DEST_OPTIONS, &chain[..len]), None);
        }
        assert_eq!(fragment_header(58, &chain), None);
    }
}

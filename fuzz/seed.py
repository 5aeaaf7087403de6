#!/usr/bin/env python3
"""Fills fuzz/corpus/<target>/ with seeds made from the sample captures in
captures/ and, when present, the public captures of ../shared/corpus (which
stay out of the repository: seeds are made at run time, never committed).

    fuzz/seed.py [TARGET...]      # default: every target

pcap_reader  a selector byte (which magic) + the file after its magic,
             or 0xf0 + the whole file gzip-compressed
pcapng_reader  0 + the file after its magic, or 0xf0 + the whole file gzip-compressed
decode_frame  a link-type selector byte + 0 (no comment) + one frame
analyze      the whole file (and gzipped copies of the sample captures)
"""

import gzip
import hashlib
import struct
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
SOURCES = [REPO / "captures", REPO.parent / "shared" / "corpus"]

PCAP_MAGICS = [
    bytes([0xD4, 0xC3, 0xB2, 0xA1]),
    bytes([0xA1, 0xB2, 0xC3, 0xD4]),
    bytes([0x4D, 0x3C, 0xB2, 0xA1]),
    bytes([0xA1, 0xB2, 0x3C, 0x4D]),
    bytes([0x34, 0xCD, 0xB2, 0xA1]),
]
PCAPNG_MAGIC = bytes([0x0A, 0x0D, 0x0D, 0x0A])
# The order of LINK_TYPES in fuzz/harness.rs.
LINK_TYPES = [1, 113, 276, 101, 228, 229, 0, 108, 9, 107, 242, 12, 14, 0xFFFFFFFF, 147]
FRAMES_PER_FILE = 64
MAX_FRAME = 4096


def captures():
    for src in SOURCES:
        if not src.is_dir():
            print(f"seed: {src} is absent, skipped", file=sys.stderr)
            continue
        for path in sorted(src.rglob("*")):
            if not path.is_file() or "expected" in path.parts:
                continue
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                try:
                    data = gzip.decompress(data)
                except (OSError, EOFError):
                    continue
            if data[:4] in PCAP_MAGICS or data[:4] == PCAPNG_MAGIC:
                yield path, data


def pcap_frames(data):
    magic = data[:4]
    big = magic in (PCAP_MAGICS[1], PCAP_MAGICS[3])
    end = ">" if big else "<"
    modified = magic == PCAP_MAGICS[4]
    if len(data) < 24:
        return
    (link,) = struct.unpack(end + "I", data[20:24])
    at, rec = 24, 24 if modified else 16
    while at + rec <= len(data):
        caplen = struct.unpack(end + "I", data[at + 8 : at + 12])[0]
        frame = data[at + rec : at + rec + caplen]
        if caplen > 262144 or len(frame) < caplen:
            return
        yield link & 0xFFFF, frame
        at += rec + caplen


def pcapng_frames(data):
    at, end, links = 0, "<", []
    while at + 12 <= len(data):
        kind_raw = data[at : at + 4]
        if kind_raw == PCAPNG_MAGIC and at + 12 <= len(data):
            end = "<" if data[at + 8 : at + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        kind, length = struct.unpack(end + "II", data[at : at + 8])
        if length < 12 or length % 4 or at + length > len(data):
            return
        body = data[at + 8 : at + length - 4]
        if kind == 1 and len(body) >= 2:
            links.append(struct.unpack(end + "H", body[:2])[0])
        elif kind == 6 and len(body) >= 20:
            if_id, _, _, caplen, _ = struct.unpack(end + "IIIII", body[:20])
            if if_id < len(links):
                yield links[if_id], body[20 : 20 + caplen]
        elif kind == 3 and len(body) >= 4 and links:
            yield links[0], body[4:]
        at += length


def as_pcap(frames):
    """A little-endian microsecond pcap of the frames of the first frame's link type."""
    frames = list(frames)
    if not frames:
        return None
    link = frames[0][0]
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, link))
    for n, (lt, frame) in enumerate(frames):
        if lt == link:
            out += struct.pack("<IIII", 1_700_000_000 + n, 0, len(frame), len(frame)) + frame
    return bytes(out)


def write(target, data):
    out = FUZZ / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main(targets):
    counts = dict.fromkeys(targets, 0)
    for path, data in captures():
        ng = data[:4] == PCAPNG_MAGIC
        # Gzip-compressed copies of the small sample captures (and of small
        # classic pcaps, as captures/ holds pcapng only).
        gz = REPO / "captures" in path.parents
        if "analyze" in counts:
            write("analyze", data)
            if gz:
                write("analyze", gzip.compress(data, mtime=0))
            counts["analyze"] += 1 + gz
        if ng and "pcapng_reader" in counts:
            write("pcapng_reader", b"\x00" + data[4:])
            if gz:
                write("pcapng_reader", b"\xf0" + gzip.compress(data, mtime=0))
            counts["pcapng_reader"] += 1 + gz
        if ng and gz and "pcap_reader" in counts:
            # captures/ holds pcapng only: classic pcap copies of its frames.
            try:
                pcap = as_pcap(pcapng_frames(data))
            except struct.error:
                pcap = None
            if pcap:
                write("pcap_reader", b"\x00" + pcap[4:])
                counts["pcap_reader"] += 1
        if not ng and "pcap_reader" in counts:
            magic = PCAP_MAGICS.index(data[:4])
            write("pcap_reader", bytes([magic]) + data[4:])
            if gz or len(data) < 16384:
                write("pcap_reader", b"\xf0" + gzip.compress(data, mtime=0))
            counts["pcap_reader"] += 1 + (gz or len(data) < 16384)
        if "decode_frame" in counts:
            frames = pcapng_frames(data) if ng else pcap_frames(data)
            try:
                for n, (link, frame) in enumerate(frames):
                    if n == FRAMES_PER_FILE:
                        break
                    selector = LINK_TYPES.index(link) if link in LINK_TYPES else 14
                    write("decode_frame", bytes([selector, 0]) + frame[:MAX_FRAME])
                    counts["decode_frame"] += 1
            except struct.error:
                pass
    for target, n in counts.items():
        print(f"seed: {n} seeds for {target}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:] or ["pcap_reader", "pcapng_reader", "decode_frame", "analyze"])

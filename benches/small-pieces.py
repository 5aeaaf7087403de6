#!/usr/bin/env python3
"""Puts captures in the page cache in small pieces, the state in which the
README's second Performance table was measured.

A virtual machine that pages out memory nobody touched for a while (this
project's does so after a minute, with DAMON) drops part of a capture left
unread; what is read back in then sits in the page cache in small pieces,
which `cat` reads 40-60 % slower than a capture written afresh. This does the
same at its worst: it drops each file from the page cache, then reads it back
4 KiB at a time in random order.

Usage: benches/small-pieces.py FILE...
then:  KEEP_CAPTURES=1 DISTINCT_FLOWS=0 benches/replay.sh [SIZES...]
"""

import os
import random
import sys

PIECE = 4096


def scatter(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        # Random access: the kernel reads no further ahead than asked.
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        offsets = list(range(0, size, PIECE))
        random.shuffle(offsets)
        for offset in offsets:
            os.pread(fd, PIECE, offset)
    finally:
        os.close(fd)


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    for path in sys.argv[1:]:
        try:
            scatter(path)
        except OSError as e:
            print(f"small-pieces.py: {path}: {e.strerror}", file=sys.stderr)
            sys.exit(2)


if __name__ == "__main__":
    main()

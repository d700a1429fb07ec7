#!/usr/bin/env python3
# tests/e2e/pattern.py: the deterministic data pattern of the end-to-end test, shared by the guest
# (which writes it to the LUN) and the host (which looks for it in the RBD image). Contract:
#   pattern.py write SEED NBYTES FILE                 write the pattern for SEED to FILE
#   pattern.py check SEED NBYTES FILE OFFSET          exit 0 iff FILE holds the pattern at OFFSET;
#                                                     otherwise print the first differing offset, exit 1
# The pattern is pseudo-random bytes (Python's Mersenne Twister, stable across Python 3 versions)
# with each 512-byte sector stamped with its index, so a misplaced sector is also detected.
import random
import struct
import sys

SECTOR = 512


def pattern(seed, nbytes):
    data = bytearray(random.Random(seed).randbytes(nbytes))
    for i in range(0, nbytes - 15, SECTOR):
        data[i:i + 16] = struct.pack("<QQ", seed & (2**64 - 1), i // SECTOR)
    return bytes(data)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "write":
        with open(sys.argv[4], "wb") as f:
            f.write(pattern(int(sys.argv[2]), int(sys.argv[3])))
        return 0
    if len(sys.argv) == 6 and sys.argv[1] == "check":
        seed, nbytes, path, offset = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
        want = pattern(seed, nbytes)
        with open(path, "rb") as f:
            f.seek(offset)
            got = f.read(nbytes)
        if got == want:
            return 0
        if len(got) != len(want):
            print(f"image too short: {len(got)} of {nbytes} bytes at offset {offset}")
            return 1
        first = next(i for i in range(nbytes) if got[i] != want[i])
        print(f"mismatch at image offset {offset + first}: got {got[first]:#04x}, want {want[first]:#04x}")
        return 1
    sys.exit("usage: pattern.py write SEED NBYTES FILE | check SEED NBYTES FILE OFFSET")


if __name__ == "__main__":
    sys.exit(main())

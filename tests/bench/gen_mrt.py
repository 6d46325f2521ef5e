#!/usr/bin/env python3
"""Writes an MRT TABLE_DUMP_V2 file (RFC 6396) of N IPv4 /24 routes, for
`gobgp mrt inject global FILE`: a large upstream table for FRR to carry.

  gen_mrt.py N FILE [FIRST_OCTET]

Prefixes are FIRST_OCTET.0.0.0/24 upwards (default 100: 100.0.0.0/24,
100.0.1.0/24, ...), each with ORIGIN IGP, AS_PATH 64500 and a next hop of
192.0.2.254 (gobgp replaces it: --nexthop).
"""
import struct
import sys
import time

MRT_TABLE_DUMP_V2 = 13
PEER_INDEX_TABLE = 1
RIB_IPV4_UNICAST = 2


def record(subtype, body, ts):
    return struct.pack("!IHHI", ts, MRT_TABLE_DUMP_V2, subtype, len(body)) + body


def main():
    n = int(sys.argv[1])
    path = sys.argv[2]
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    if n < 1 or n > 65536 * 100:
        sys.exit("N must be 1-6553600")
    ts = int(time.time())
    # One peer: AS4 (bit 1), IPv4 address.
    peers = struct.pack("!BIII", 0x02, 0xC0000201, 0xC0000201, 64500)
    body = struct.pack("!IH", 0xC0000201, 0) + struct.pack("!H", 1) + peers
    attrs = (
        struct.pack("!BBBB", 0x40, 1, 1, 0)  # ORIGIN IGP
        + struct.pack("!BBB", 0x40, 2, 6) + struct.pack("!BBI", 2, 1, 64500)  # AS_PATH
        + struct.pack("!BBB", 0x40, 3, 4) + bytes([192, 0, 2, 254])  # NEXT_HOP
    )
    with open(path, "wb") as f:
        f.write(record(PEER_INDEX_TABLE, body, ts))
        for i in range(n):
            a, b = first + i // 65536, (i // 256) % 256
            c = i % 256
            pfx = bytes([a, b, c])
            entry = struct.pack("!HIH", 0, ts, len(attrs)) + attrs
            rib = struct.pack("!IB", i, 24) + pfx + struct.pack("!H", 1) + entry
            f.write(record(RIB_IPV4_UNICAST, rib, ts))


if __name__ == "__main__":
    main()

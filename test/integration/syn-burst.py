#!/usr/bin/env python3
"""A bounded SYN burst for the local stack's fault drill (run inside one of the stack's network
namespaces, as root: raw sockets). Sends COUNT TCP SYNs to the targets' PORT from spoofed source
addresses PREFIX.FIRST..PREFIX.LAST (addresses of a segment the stack created, where nobody
answers the SYN-ACKs), each with its own source port, as fast as it can but for at most SECONDS.
Prints one JSON line: how many were sent and how long it took.
  syn-burst.py TARGET[,TARGET...] PORT PREFIX FIRST LAST COUNT SECONDS
"""
import json
import random
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def syn(src: str, dst: str, sport: int, dport: int) -> bytes:
    seq = random.getrandbits(32)
    # TCP header: 20 bytes + MSS option (4), SYN flag, window 64240.
    offset = (6 << 4)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, offset, 0x02, 64240, 0, 0) + struct.pack("!BBH", 2, 4, 1460)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0, 64, socket.IPPROTO_TCP, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + tcp  # the kernel fills in the IP checksum (IP_HDRINCL)


def main() -> None:
    targets, port, prefix, first, last, count, seconds = sys.argv[1].split(","), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
    count = min(count, 200_000)
    sources = [f"{prefix}.{i}" for i in range(first, last + 1)]
    packets = []
    for i in range(count):
        src = sources[i % len(sources)]
        sport = 1024 + (i // len(sources)) % 64000
        packets.append((syn(src, targets[i % len(targets)], sport, port), targets[i % len(targets)]))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    started = time.monotonic()
    sent = 0
    for packet, dst in packets:
        if time.monotonic() - started > seconds:
            break
        try:
            raw.sendto(packet, (dst, 0))
            sent += 1
        except BlockingIOError:
            pass
    print(json.dumps({"sent": sent, "seconds": round(time.monotonic() - started, 3)}))


if __name__ == "__main__":
    main()

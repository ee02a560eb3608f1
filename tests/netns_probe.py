"""Probes from an app host: tcp/udp print the address the internet host saw; icmp prints ok; loop probes TCP."""

import contextlib
import os
import socket
import struct
import sys
import time


def tcp(host: str, port: int, timeout: float) -> str:
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.settimeout(timeout)
        return connection.recv(64).decode().strip()


def udp(host: str, port: int, timeout: float) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(b"probe", (host, port))
        return sock.recv(64).decode().strip()


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def icmp(host: str, _: int, timeout: float) -> str:
    identifier = os.getpid() & 0xFFFF
    header = struct.pack("!BBHHH", 8, 0, 0, identifier, 1)
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + b"tinystack!"), identifier, 1) + b"tinystack!"
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, (host, 0))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = sock.recv(256)
            kind, _, _, reply_id, _ = struct.unpack("!BBHHH", reply[20:28])
            if kind == 0 and reply_id == identifier:
                return "ok"
    raise TimeoutError


def loop(host: str, port: int, interval: float) -> None:
    while True:
        started = time.monotonic()
        try:
            seen = tcp(host, port, interval)
        except OSError:
            seen = "-"
        print(f"{started:.3f} {seen}", flush=True)
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


def main() -> None:
    kind, host, port, value = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    if kind == "loop":
        loop(host, port, value)
        return
    with contextlib.suppress(OSError):
        print({"tcp": tcp, "udp": udp, "icmp": icmp}[kind](host, port, value))


if __name__ == "__main__":
    main()

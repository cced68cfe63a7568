"""What this host offers a server: its cores, its memory, and TCP listening sockets."""

from __future__ import annotations

import os
import socket


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def memory_bytes() -> int | None:
    """The host's physical memory, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP listener. The protocol is named (IPPROTO_TCP, not 0 as socket.create_server
    leaves it): asyncio sets TCP_NODELAY only on connections whose socket says TCP, and
    without it every answer waited ~40 ms for a delayed ACK (measured)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock

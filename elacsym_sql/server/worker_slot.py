"""This process's place among one host's workers (`elacsym serve --workers N`, decision
0078): the worker's index is carried in every backend key it hands out, so a CancelRequest
that the shared port gives to another worker is passed on to the one running the statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .frontend import CANCEL_REQUEST

log = logging.getLogger("elacsym.server")

MAX_WORKERS = 256  # a backend pid is <session number> * MAX_WORKERS + <worker index>
_PID_LIMIT = (1 << 31) // MAX_WORKERS  # pids stay positive int32, as Postgres's
_FORWARD_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class WorkerSlot:
    index: int
    count: int
    #: The private wire address (host, port) of worker `i` of this host, None when unknown.
    address_of: Callable[[int], tuple[str, int] | None]


def backend_pids(index: int) -> Iterator[int]:
    """The backend pids worker `index` hands out, in order (wrapping after ~8M sessions)."""
    for number in itertools.cycle(range(1000, _PID_LIMIT)):
        yield number * MAX_WORKERS + index


def worker_of(pid: int) -> int:
    """The worker that handed out backend pid `pid`."""
    return pid % MAX_WORKERS


async def forward_cancel(address: tuple[str, int], pid: int, secret: int) -> None:
    """Send the CancelRequest on to the worker at `address`; as in Postgres, the sender
    learns nothing of the outcome, so a failure is only logged."""
    packet = struct.pack("!iiii", 16, CANCEL_REQUEST, pid, secret)
    try:
        async with asyncio.timeout(_FORWARD_TIMEOUT_SECONDS):
            _, writer = await asyncio.open_connection(*address)
            writer.write(packet)
            await writer.drain()
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    except (OSError, TimeoutError) as exc:
        log.warning("cancel request for pid %d not passed to %s:%d: %s", pid, *address, exc)

"""moto's conditional PUTs made atomic, as S3's are.

moto 5.2 checks `If-None-Match: *` / `If-Match` and then stores the object in separate
steps, with no lock, on a threaded server: two PUTs of one key racing between those steps
both pass the check and both get 200, the later silently replacing the earlier. S3 (and
SeaweedFS) decide the condition atomically with the write, and every WAL append and
manifest commit rests on that (decision 0047). Every server we start applies this first.

Run as a script, it is `python -m moto.server` with the fix applied (the child-process
server): `python .../moto_atomic.py -H 127.0.0.1 -p PORT`. It imports only moto for that.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

# One per process: the condition check and the write of every PUT happen under it.
_PUT_LOCK = threading.Lock()


def make_conditional_writes_atomic() -> None:
    """Serialize moto's PUT Object handler (idempotent; moto is imported only now)."""
    from moto.s3.responses import S3Response

    original = S3Response.put_object
    if getattr(original, "_elacsym_atomic", False):
        return

    @functools.wraps(original)
    def put_object(self: S3Response) -> Any:
        with _PUT_LOCK:
            return original(self)

    put_object._elacsym_atomic = True
    S3Response.put_object = put_object


def main() -> None:
    make_conditional_writes_atomic()
    from moto.server import main as moto_main

    moto_main()


if __name__ == "__main__":
    main()

"""The background thread that folds WAL tails, compacts segments and collects garbage."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Indexer:
    """Calls `tick()` every `period` seconds on a daemon thread until stopped."""

    def __init__(self, tick: Callable[[], None], period: float) -> None:
        self._tick = tick
        self._period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="elacsym-indexer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            started = time.monotonic()
            try:
                self._tick()
            except Exception:  # keep indexing other namespaces; the next tick retries
                log.exception("background indexing failed")
            log.debug("indexer tick took %.3fs", time.monotonic() - started)

"""Threads for numpy work: BLAS capped at one thread, and one worker pool sized to the cores.

OpenBLAS starts one thread per core for every matrix product; with several searching
threads and other processes on the machine that oversubscribes the cores (a 1 ms exact
search took 8-16 ms, PITFALLS.md). So BLAS runs single-threaded and the exact search
parallelises itself over row blocks in `pool()`, numpy releasing the GIL in each product.
The cap is set through OpenBLAS's own entry point in the loaded library (what threadpoolctl
does), so it works whenever it is called, even after numpy was imported.
"""

from __future__ import annotations

import ctypes
import threading
from concurrent.futures import ThreadPoolExecutor

from ..host import cores

# OpenBLAS's setter under the names its builds export (numpy's wheels: the scipy_ one).
_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def limit_blas_threads(threads: int = 1) -> bool:
    """Cap the threads of every OpenBLAS loaded in this process; False when none was found
    (then OPENBLAS_NUM_THREADS set before numpy loads is the way)."""
    import numpy  # noqa: F401 - loads numpy's BLAS, so that it is mapped below

    found = False
    for path in _loaded_libraries("openblas"):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(threads))
                found = True
                break
    return found


def _loaded_libraries(word: str) -> set[str]:
    try:
        with open("/proc/self/maps") as maps:
            return {
                line.split()[-1]
                for line in maps
                if word in line.lower() and ".so" in line and line.split()[-1].startswith("/")
            }
    except OSError:
        return set()


def pool() -> ThreadPoolExecutor:
    """The process's shared workers for numpy work, one per core."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=cores(), thread_name_prefix="elacsym-numpy")
        return _pool

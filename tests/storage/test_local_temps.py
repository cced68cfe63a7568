"""The local store removes temp files that killed writers left behind."""

from __future__ import annotations

import os
import time

from elacsym_sql.storage.local import LocalStore


def test_stale_temp_files_are_removed_on_open(tmp_path):
    store = LocalStore(str(tmp_path))
    tmp_dir = tmp_path / ".tmp"
    stale, fresh = tmp_dir / "tmpstale", tmp_dir / "tmpfresh"
    stale.write_bytes(b"half a WAL record")
    fresh.write_bytes(b"a writer at work")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    store.close()
    LocalStore(str(tmp_path))
    assert not stale.exists()
    assert fresh.exists()

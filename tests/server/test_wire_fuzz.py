"""Hypothesis sends frames after a valid start-up: well-formed messages with odd contents,
messages of every type with random bodies, and sometimes a broken header. The server must
answer (or hang up, for broken framing), never fail internally (XX000) or log a
traceback, stay within a bounded memory (the server runs in this process), and a fresh
client must be served afterwards.

ELACSYM_FUZZ_EXAMPLES sets the number of examples (default: a few seconds' worth).
"""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elacsym_sql.sql.pg_catalog import pg_types as t
from tests.sql_text import SQL_TEXT

from .wire_client import SYNC, Client, Reply, cstr, errors, message, query

pytestmark = pytest.mark.usefixtures("no_tracebacks")

EXAMPLES = int(os.environ.get("ELACSYM_FUZZ_EXAMPLES", "60"))
PROBE = "SELECT 4242"
HANG = 20  # seconds without a reply that count as a hang
GROWTH_MB = 512  # frames are at most ~100 bytes: an allocation sized by a claim shows here
_FIRST_RSS: list[float] = []  # this process's RSS after the first example


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS line")


_SQL = (
    st.sampled_from(
        [
            "SELECT 1",
            "SELECT $1",
            "SELECT $1::text, $2::int4",
            "SELECT id, title FROM docs ORDER BY id",
            "SELECT * FROM docs WHERE id = $1",
            "SELECT cardinality($1)",
            "SELECT * FROM vector_search('docs', $1, 2)",
            "SELECT * FROM text_search('docs', $1, 2, filter := $2)",
            "SELEC 1",
            "SELECT (",
            "SELECT 'unterminated",
            "",
            ";;",
            "BEGIN",
            "ROLLBACK",
            "SHOW search_path",
            "SELECT 1; SELECT 2",
        ]
    )
    | st.text(max_size=30)
    | SQL_TEXT
)  # the texts the embedded front door is fuzzed with
_NAME = st.sampled_from(["", "s1", "p1"]) | st.text(max_size=4)
_OID = st.sampled_from(
    [0, t.INT4, t.INT8, t.TEXT, t.FLOAT4, t.NUMERIC, t.BOOL, t.BYTEA, t.UUID, t.DATE, 1009, 1021]
) | st.integers(0, 2**32 - 1)
_VALUE = st.none() | st.binary(max_size=24) | st.sampled_from([b"1", b"{1,2}", b"{{1}}"])


@st.composite
def _bind(draw: st.DrawFn) -> bytes:
    formats = draw(st.lists(st.integers(-2, 2), max_size=3))
    values = draw(st.lists(_VALUE, max_size=3))
    body = cstr(draw(_NAME)) + cstr(draw(_NAME)) + struct.pack("!h", len(formats))
    body += b"".join(struct.pack("!h", f) for f in formats) + struct.pack("!h", len(values))
    for v in values:
        body += struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v
    results = draw(st.lists(st.integers(-1, 2), max_size=2))
    body += struct.pack("!h", len(results)) + b"".join(struct.pack("!h", f) for f in results)
    return message(b"B", body)


def _parse(sql: str, name: str, oids: list[int]) -> bytes:
    body = cstr(name) + cstr(sql) + struct.pack("!h", len(oids))
    return message(b"P", body + b"".join(struct.pack("!I", o) for o in oids))


_WELL_FORMED = st.one_of(
    st.builds(_parse, _SQL, _NAME, st.lists(_OID, max_size=3)),
    _bind(),
    st.builds(
        lambda kind, which, name: message(kind, which + cstr(name)),
        st.sampled_from([b"D", b"C"]),
        st.sampled_from([b"S", b"P", b"X", b"\0"]),
        _NAME,
    ),
    st.builds(
        lambda name, limit: message(b"E", cstr(name) + struct.pack("!i", limit)),
        _NAME,
        st.integers(-1, 3),
    ),
    st.builds(query, _SQL),
    st.just(SYNC),
    st.just(message(b"H")),
)
# Any type the protocol knows after start-up (Terminate aside), with any body.
_ANY_BODY = st.builds(message, st.sampled_from([bytes([c]) for c in b"BCDEFHPQScdf"]),
                      st.binary(max_size=40))  # fmt: skip
# A header no message can follow: the server hangs up at once.
_BROKEN = st.one_of(
    st.builds(lambda n: b"Q" + struct.pack("!i", n), st.integers(-(2**31), 3)),
    st.builds(lambda kind: kind + struct.pack("!i", 8), st.sampled_from([b"z", b"p", b"\0"])),
    st.builds(lambda n: b"Q" + struct.pack("!i", n), st.integers(1 << 29, 2**31 - 1)),
)


def _answered(client: Client) -> list[Reply]:
    """Replies up to the probe's ReadyForQuery, a FATAL error, or the connection's end."""
    got: list[Reply] = []
    probed = False
    for reply in client.replies():
        got.append(reply)
        probed = probed or (reply.kind == b"D" and b"4242" in reply.body)
        if (reply.kind == b"Z" and probed) or (
            reply.kind == b"E" and reply.fields().get("S") == "FATAL"
        ):
            break
    return got


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=st.lists(_WELL_FORMED | _ANY_BODY, max_size=8), broken=st.none() | _BROKEN)
def test_random_frames_after_startup(wire, frames, broken):
    client = Client(wire[0], timeout=HANG)
    try:
        # Sync ends an extended-protocol error, ROLLBACK a transaction block the frames began.
        tail = broken or SYNC + query("ROLLBACK") + query(PROBE)
        client.sock.sendall(b"".join(frames) + tail)
        replies = _answered(client)
    finally:
        client.sock.close()
    assert not [e for e in errors(replies) if e.get("C") == "XX000"], errors(replies)
    if broken is not None:
        assert errors(replies) and errors(replies)[-1]["S"] == "FATAL"
    fresh = Client(wire[0])
    try:
        assert b"4242" in fresh.exchange(query(PROBE))[1].body
    finally:
        fresh.close()
    rss = _rss_mb()
    if not _FIRST_RSS:
        _FIRST_RSS.append(rss)
    assert rss < _FIRST_RSS[0] + GROWTH_MB, f"RSS {rss:.0f} MB, {_FIRST_RSS[0]:.0f} MB at first"

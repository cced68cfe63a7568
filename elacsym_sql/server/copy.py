"""The COPY sub-protocol of a session (docs/decisions/0016-copy-auth-tls.md).

COPY FROM STDIN: the namespace's columns are resolved first (an unknown namespace or
column fails before any data is asked for), CopyInResponse, then CopyData until CopyDone
(CopyFail aborts), and the rows go to `Database.copy_in`: INSERT's path, one atomic
write. Nothing is written unless every row parses and validates. When another member owns
the namespace, the statement and its data go to it as they came (decision 0084).

COPY TO STDOUT: the query (or `SELECT cols FROM namespace`) runs through the statement
router like any SELECT; its rows stream as CopyData, one message per row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import NotSupportedError, ProgramLimitExceeded, ProtocolViolation, QueryCanceled
from ..sql.session.setting_values import size_bytes
from ..sql.session.statement_memory import charge, limited
from ..sql.views import quote
from . import protocol as p
from .copy_in import decode_copy
from .copy_out import COPY_DONE, CopyEncoder, copy_response
from .copy_statement import CopyRequest
from .rows import columns_of, returns_rows

if TYPE_CHECKING:
    from .session import Session


async def run_copy(s: Session, request: CopyRequest) -> None:
    if request.direction == "in":
        await _copy_in(s, request)
    else:
        await _copy_out(s, request)


async def _copy_in(s: Session, request: CopyRequest) -> None:
    s.state.transaction.check()
    assert request.namespace is not None
    namespace = await s.run_sync(s.db.copy_target, request.namespace, request.schema, s.state)
    columns = await s.run_sync(s.db.copy_columns, namespace, request.columns)
    s.send(copy_response(b"G", request.options.format == "binary", len(columns)))
    await s.flush()
    chunks: list[bytes] = []
    held, limit = 0, s.server.options.max_copy_bytes
    memory = s.state.settings.values["statement_memory_limit"]
    while True:
        msg = await s.read_message()
        if msg.kind == b"d":
            held += len(msg.body)
            if held > limit:  # the rest is skipped until CopyDone, as after any COPY error
                raise ProgramLimitExceeded(
                    f"COPY data of more than {limit} bytes", hint="--max-copy-bytes sets it"
                )
            # All held so far, counted afresh: the event loop's thread serves other sessions.
            with limited(size_bytes(memory), memory):
                charge(held, "the data of COPY FROM STDIN")
            chunks.append(msg.body)
        elif msg.kind == b"c":
            break
        elif msg.kind == b"f":
            reason = msg.body.rstrip(b"\x00").decode("utf-8", "replace")
            raise QueryCanceled(f"COPY from stdin failed: {reason}")
        elif msg.kind in (b"H", b"S"):
            continue  # ignored during copy-in, as in Postgres
        else:
            raise ProtocolViolation(
                f"unexpected message type 0x{msg.kind[0]:02X} during COPY from stdin"
            )
    data = b"".join(chunks)
    del chunks
    forwarding = s.db.forwarding  # the namespace's owner copies, when another member owns it
    copied = await s.run_sync(forwarding.copy, namespace, request.text, data, s.state)
    if copied is None:
        table = await s.run_sync(decode_copy, data, request.options, columns)
        names = [name for name, _ in columns]
        await s.run_sync(s.db.copy_in, s.cur, namespace, names, table, s.state)
        copied = table.num_rows
    s.send(p.command_complete(f"COPY {copied}"))


async def _copy_out(s: Session, request: CopyRequest) -> None:
    if request.query is not None:
        sql = request.query
    else:
        assert request.namespace is not None
        cols = ", ".join(quote(c) for c in request.columns) or "*"
        public = "public." if request.schema == "public" else ""  # not along search_path
        sql = f"SELECT {cols} FROM {public}{quote(request.namespace)}"
    statements = s.db.execute_each(s.cur, sql, None, session=s.state)
    outcome = None
    try:
        outcome = await s.run_sync(next, statements, None)
        if outcome is None or not returns_rows(outcome):
            raise NotSupportedError("COPY (query) TO STDOUT wants a query that returns rows")
        assert outcome.result is not None
        encoder = CopyEncoder(columns_of(outcome), request.options)
        s.send(copy_response(b"H", encoder.binary, len(encoder.columns)))
        s.send(encoder.start())
        batches = outcome.result.batches()
        rows = 0

        def next_chunk() -> tuple[bytes | memoryview, int]:
            batch = next(batches, None)
            return (b"", -1) if batch is None else (encoder.encode(batch), batch.num_rows)

        while True:
            s.clock.check()  # statement_timeout and cancel, as for a SELECT's rows
            chunk, n = await s.run_sync(next_chunk)
            if n < 0:
                break
            rows += n
            s.send(chunk)
            await s.flush_rows()
        s.send(encoder.finish())
        s.send(COPY_DONE)
        s.send(p.command_complete(f"COPY {rows}"))
    finally:
        if outcome is not None and outcome.result is not None:
            outcome.result.close()  # frees the cursor if the rows stopped early
        statements.close()

"""Messages that frame but do not decode: each is answered with Postgres's SQLSTATE (checked
against PostgreSQL 15), and the session goes on as Postgres's does. In the extended
protocol the messages after an error are skipped until Sync. Array parameters are checked
against their bytes before anything is allocated. No traceback reaches the server's log."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from elacsym_sql.sql.pg_catalog import pg_types as t

from .wire_client import SYNC, Client, Reply, bind, cstr, errors, execute, message, parse, query

pytestmark = pytest.mark.usefixtures("no_tracebacks")


@pytest.fixture
def client(wire) -> Iterator[Client]:
    c = Client(wire[0])
    yield c
    # The session is still usable, outside any failed state.
    replies = c.exchange(query("SELECT 7 * 6"))
    assert [r.kind for r in replies] == [b"T", b"D", b"C", b"Z"] and b"42" in replies[1].body
    c.close()


def _one_error(replies) -> dict[str, str]:
    found = errors(replies)
    assert len(found) == 1, found
    assert found[0]["S"] == "ERROR"
    return found[0]


# -- simple query --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "sqlstate"),
    [
        (b"SELECT '\xff'\0", "22021"),  # invalid UTF-8
        (b"SELECT '\xc3\x28'\0", "22021"),
        (b"SELECT 1", "08P01"),  # no terminating NUL
        (b"", "08P01"),
        (b"SELECT 1\0junk", "08P01"),  # more after the string
    ],
)
def test_a_query_that_does_not_decode_is_an_error(client, body, sqlstate):
    replies = client.exchange(message(b"Q", body))
    assert [r.kind for r in replies] == [b"E", b"Z"]
    assert _one_error(replies)["C"] == sqlstate


def test_invalid_utf8_names_the_bytes(client):
    fields = _one_error(client.exchange(message(b"Q", b"SELECT 'a\xffb'\0")))
    assert fields["M"] == 'invalid byte sequence for encoding "UTF8": 0xff'


def test_a_decode_error_aborts_the_transaction_block(client):
    assert client.exchange(query("BEGIN"))[-1].body == b"T"  # in a transaction block
    replies = client.exchange(message(b"Q", b"SELECT '\xff'\0"))
    assert replies[-1].body == b"E"  # in a failed one
    assert _one_error(client.exchange(query("SELECT 1")))["C"] == "25P02"
    assert client.exchange(query("ROLLBACK"))[-1].body == b"I"


def test_the_function_call_message_is_not_supported(client):
    replies = client.exchange(message(b"F", struct.pack("!I", 0)))
    assert [r.kind for r in replies] == [b"E", b"Z"]
    assert _one_error(replies)["C"] == "0A000"


# -- extended query ------------------------------------------------------------------------


def _bind_body(rest: bytes) -> bytes:
    return message(b"B", cstr("") + cstr("") + rest)


@pytest.mark.parametrize(
    ("messages", "sqlstate"),
    [
        ([parse(b"SELECT '\xff'")], "22021"),
        ([parse("SELECT $1::text"), bind(["a"], formats=[7])], "22023"),
        ([parse("SELECT 1"), bind([], result_formats=[7])], "22023"),
        ([parse("SELECT 1"), bind([], result_formats=[-1])], "22023"),
        ([parse("SELECT $1::text"), bind([b"\xff"])], "22021"),  # a text parameter
        ([parse("SELECT $1::text"), bind([b"\xff"], formats=[1])], "22021"),
        ([parse("SELECT $1::text", oids=[t.TEXT]), _bind_body(b"\0\0\0\1\0\0\0\x09ab")], "08P01"),
        ([parse("SELECT $1::text"), _bind_body(b"\0\0\0\1\xff\xff\xff\xfc\0\0")], "08P01"),
        ([parse("SELECT 1"), _bind_body(b"\0\0\0\0\0\0zz")], "08P01"),  # trailing bytes
        ([parse("SELECT 1"), _bind_body(b"\xff\xff")], "08P01"),  # a negative count
        ([parse("SELECT $1, $2, $3"), bind(["a", "b", "c"], formats=[0, 0])], "08P01"),
        ([message(b"P", b"\0SELECT 1")], "08P01"),  # unterminated string
        ([message(b"P", b"\0SELECT 1\0\xff\xff")], "08P01"),
        ([message(b"C", b"X" + cstr(""))], "08P01"),  # Close of neither S nor P
        ([message(b"D", b"X" + cstr(""))], "08P01"),  # Describe of neither S nor P
        ([message(b"D", b"")], "08P01"),
        ([parse("SELECT 1"), bind([]), message(b"E", b"\0\0")], "08P01"),
        ([parse("SELECT $1::int4", oids=[t.INT4]), bind([b"abc"], formats=[1])], "22P03"),
        ([parse("SELECT $1::int4", oids=[t.INT4]), bind([b"abcde"], formats=[1])], "22P03"),
        ([parse("SELECT $1::int4", oids=[t.INT4]), bind(["x"])], "22P02"),
        ([parse("SELECT $1::int4[]", oids=[t.BY_OID[t.INT4].array_oid]), bind(["{1,2"])], "22P02"),
        ([parse("SELECT $1::numeric", oids=[t.NUMERIC]), bind(["1.2.3"])], "22P02"),
        ([parse("SELECT $1::uuid", oids=[t.UUID]), bind([b"short"], formats=[1])], "22P03"),
    ],
)
def test_an_extended_message_that_does_not_decode_is_an_error(client, messages, sqlstate):
    """The error is answered, what follows is skipped until Sync (no BindComplete, no
    rows), and Sync answers ReadyForQuery."""
    replies = client.exchange(*messages, bind([]), execute(), SYNC)
    kinds = [r.kind for r in replies]
    assert kinds[-2:] == [b"E", b"Z"] and b"D" not in kinds, kinds
    assert _one_error(replies)["C"] == sqlstate


def test_a_sync_with_a_body_is_an_error_and_still_a_sync(client):
    replies = client.exchange(message(b"S", b"xx"))
    assert [r.kind for r in replies] == [b"E", b"Z"]
    assert _one_error(replies)["C"] == "08P01"


def test_an_execute_that_does_not_decode_after_a_describe(client):
    """A portal's Describe waits for the next message; one that does not decode answers it
    first, then fails on its own."""
    replies = client.exchange(
        parse("SELECT 1"), bind([]), message(b"D", b"P\0"), message(b"E", b"\xff\0\0\0\0\0"),
        SYNC,
    )  # fmt: skip
    assert [r.kind for r in replies] == [b"1", b"2", b"T", b"E", b"Z"]
    assert _one_error(replies)["C"] == "22021"


# -- array parameters ----------------------------------------------------------------------

TEXT_ARRAY = t.BY_OID[t.TEXT].array_oid
FLOAT4_ARRAY = t.BY_OID[t.FLOAT4].array_oid
INT4_ARRAY = t.BY_OID[t.INT4].array_oid


def _array(element: int, dims: list[int], payload: bytes, ndim: int | None = None) -> bytes:
    head = struct.pack("!iiI", len(dims) if ndim is None else ndim, 0, element)
    return head + b"".join(struct.pack("!ii", d, 1) for d in dims) + payload


def _items(*values: bytes | None) -> bytes:
    return b"".join(
        struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v for v in values
    )


def _run(client: Client, sql: str, array_oid: int, raw: bytes) -> list[Reply]:
    """`sql` with one binary array parameter."""
    return client.exchange(parse(sql, oids=[array_oid]), bind([raw], formats=[1]), execute(), SYNC)


def _cardinality(client: Client, array_oid: int, raw: bytes) -> list[Reply]:
    return _run(client, "SELECT cardinality($1)", array_oid, raw)


@pytest.mark.parametrize(
    ("raw", "sqlstate"),
    [
        # The 24 bytes: 2^31-1 elements, the first of length -4 (Postgres: 54000).
        (_array(t.TEXT, [2**31 - 1], struct.pack("!i", -4)), "54000"),
        (_array(t.TEXT, [1000], struct.pack("!i", -4)), "08P01"),  # 1,000 in 24 bytes
        (_array(t.TEXT, [1000], _items(None)), "08P01"),
        (_array(t.TEXT, [2], _items(b"a", None, b"c")), "22P03"),  # more than declared
        (_array(t.TEXT, [1], struct.pack("!i", 100) + b"ab"), "22P03"),
        (_array(t.TEXT, [1], struct.pack("!i", -2)), "22P03"),
        (_array(t.TEXT, [1] * 7, b""), "54000"),  # Postgres's MAXDIM is 6
        (_array(t.TEXT, [], b"", ndim=-1), "22P03"),
        (_array(t.TEXT, [-5], b""), "54000"),
        (_array(t.TEXT, [65536, 65536], b""), "54000"),
        (_array(t.INT4, [1], _items(struct.pack("!i", 5))), "42804"),  # not text elements
        (_array(t.TEXT, [2], b"", ndim=1)[:18], "08P01"),  # cut inside the dimensions
        (b"\0\0\0\1\0", "08P01"),
        (struct.pack("!iiI", 1, 2, t.TEXT) + struct.pack("!ii", 0, 1), "22P03"),  # flags
    ],
)
def test_a_binary_array_is_checked_against_its_bytes(client, raw, sqlstate):
    replies = _cardinality(client, TEXT_ARRAY, raw)
    assert [r.kind for r in replies] == [b"1", b"E", b"Z"]
    assert _one_error(replies)["C"] == sqlstate


@pytest.mark.parametrize(
    ("raw", "sqlstate"),
    [
        (_array(t.FLOAT4, [3], _items(struct.pack("!f", 1.0), struct.pack("!f", 2.0))), "08P01"),
        (_array(t.FLOAT4, [1], _items(struct.pack("!d", 1.0))), "22P03"),  # 8-byte element
        (_array(t.FLOAT4, [2], _items(struct.pack("!f", 1.0), b"\0\0\0")), "22P03"),
    ],
)
def test_a_binary_vector_is_checked_against_its_bytes(client, raw, sqlstate):
    replies = _cardinality(client, FLOAT4_ARRAY, raw)
    assert _one_error(replies)["C"] == sqlstate


def _single_value(replies) -> bytes:
    rows = [r.body for r in replies if r.kind == b"D"]
    assert len(rows) == 1, replies
    (length,) = struct.unpack_from("!i", rows[0], 2)
    return rows[0][6 : 6 + length]


@pytest.mark.parametrize(
    ("array_oid", "raw", "expected"),
    [
        (TEXT_ARRAY, _array(t.TEXT, [3], _items(b"a", None, b"c")), b"3"),
        (TEXT_ARRAY, _array(t.TEXT, [], b""), None),  # empty: cardinality 0 in Postgres
        (FLOAT4_ARRAY, _array(t.FLOAT4, [3], _items(*[struct.pack("!f", 0.5)] * 3)), b"3"),
        (FLOAT4_ARRAY, _array(t.FLOAT4, [2], _items(struct.pack("!f", 0.5), None)), b"2"),
    ],
)
def test_well_formed_binary_arrays_still_read(client, array_oid, raw, expected):
    replies = _cardinality(client, array_oid, raw)
    assert not errors(replies)
    assert _single_value(replies) in ((expected,) if expected else (b"0", b""))


def test_a_two_dimensional_binary_array_reads_as_nested_lists(client):
    raw = _array(t.INT4, [2, 3], _items(*[struct.pack("!i", i) for i in range(6)]))
    replies = _run(client, "SELECT $1::text", INT4_ARRAY, raw)
    assert _single_value(replies) == b"[[0, 1, 2], [3, 4, 5]]"


@pytest.mark.parametrize(
    ("text", "sqlstate"),
    [
        ("{" * 7 + "1" + "}" * 7, "54000"),  # Postgres's MAXDIM is 6
        ("{" * 100_000, "54000"),  # no recursion error
        ('{"unterminated', "22P02"),
        ("{1,2} junk", "22P02"),
        ("no braces", "22P02"),
        ("{1,x}", "22P02"),
    ],
)
def test_a_text_array_is_checked(client, text, sqlstate):
    replies = client.exchange(
        parse("SELECT cardinality($1)", oids=[INT4_ARRAY]), bind([text]), execute(), SYNC
    )
    assert _one_error(replies)["C"] == sqlstate


def test_binary_numerics_keep_every_digit(client):
    """More than Decimal's default 28 digits: built from the digits, never rounded."""
    value = "1234567890123456789012345.678901"
    groups = [1, 2345, 6789, 123, 4567, 8901, 2345, 6789, 100]  # base 10000, 9 digits
    raw = struct.pack(f"!hhHh{len(groups)}h", len(groups), 6, 0, 6, *groups)
    replies = client.exchange(
        parse("SELECT $1::text", oids=[t.NUMERIC]), bind([raw], formats=[1]), execute(), SYNC
    )
    assert Decimal(_single_value(replies).decode()) == Decimal(value)


def test_psycopg_binary_arrays_with_nulls_and_dimensions(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT cardinality(%b), %b::INTEGER[][] = [[1, 2], [3, 4]]",
            [["a", None, "c"], [[1, 2], [3, 4]]],
        ).fetchone()
        assert row == (3, True)


# -- syntax errors -------------------------------------------------------------------------


def test_a_syntax_error_tells_its_position(client):
    """Postgres's P field: 1-based, in characters of the Query's whole text."""
    fields = _one_error(client.exchange(query("SELECT 1;\nSELEC 2")))
    assert (fields["C"], fields["P"]) == ("42601", "11")
    assert "D" not in fields  # no second drawing of the place beside psql's own


def test_psycopg_sees_the_position_of_a_syntax_error(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.SyntaxError) as failed:
            conn.execute("SELECT 'üü' FRM x")
        assert failed.value.diag.statement_position == "17"  # as PostgreSQL 15 says
        assert conn.execute("SELECT 1").fetchone() == (1,)

"""Column types over the wire (issue 8 item 5): psycopg in text and binary, asyncpg
(binary), enum types, array literals as node `pg` sends them; and, when PostgreSQL 15 is
reachable on 127.0.0.1:5432, the exact bytes of every field against it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
from decimal import Decimal

import asyncpg
import psycopg
import pytest
from psycopg.adapt import Loader
from psycopg.types.json import Jsonb

DDL = (
    "CREATE TABLE wt (id BIGINT PRIMARY KEY, n NUMERIC(10,2), n2 NUMERIC(20,6), s SMALLINT,"
    " r REAL, tz TIMESTAMPTZ, tm TIME, iv INTERVAL, iv2 INTERVAL, b BYTEA, j JSON,"
    " na NUMERIC(5,1)[], ta TEXT[], ts TIMESTAMP, d DATE)"
)
VALUES = r"""(1, -12345678.91, 0.000123, -7, 1.5, '2024-01-02 03:04:05.123456+02', '13:14:15.5',
 '1 year 2 months -3 days 04:05:06.7', '-00:00:01', '\x00ff', '{"b":1}', '{1.5,NULL}',
 '{"a b",c,NULL,"\"q"}', '1999-12-31 23:59:59.5', '1970-01-01')"""
# Postgres's type OIDs for the columns above.
OIDS = [20, 1700, 1700, 21, 700, 1184, 1083, 1186, 1186, 17, 114, 1231, 1009, 1114, 1082]
PG15 = "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres"
TZ = dt.UTC


class _RawText(Loader):
    def load(self, data: bytes) -> bytes:
        return bytes(data)


class _RawBinary(_RawText):
    format = psycopg.pq.Format.BINARY


@pytest.fixture(scope="module")
def typed(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(DDL)
        con.execute("INSERT INTO wt VALUES " + VALUES)
    return dsn


def _fields(dsn: str, setup: bool) -> dict[tuple[str, bool], tuple[int, bytes]]:
    """Every field of wt's row as the server sends it: (type OID, raw bytes), per format."""
    out = {}
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        if setup:
            con.execute("DROP TABLE IF EXISTS wt")
            con.execute(DDL)
            con.execute("INSERT INTO wt VALUES " + VALUES)
        for binary in (False, True):
            cur = con.cursor(binary=binary)
            for oid in OIDS:
                cur.adapters.register_loader(oid, _RawBinary if binary else _RawText)
            row = cur.execute("SELECT * FROM wt WHERE id = 1").fetchone()
            assert cur.description is not None and row is not None
            for col, value in zip(cur.description, row, strict=True):
                out[(col.name, binary)] = (col.type_code, value)
    return out


def test_type_oids_and_values_in_text_and_binary(typed: str) -> None:
    expected = (
        1,
        Decimal("-12345678.91"),
        Decimal("0.000123"),
        -7,
        1.5,
        dt.datetime(2024, 1, 2, 1, 4, 5, 123456, tzinfo=TZ),
        dt.time(13, 14, 15, 500000),
        dt.timedelta(days=422, seconds=14706, microseconds=700000),  # months as 30 days
        dt.timedelta(seconds=-1),
        b"\x00\xff",
        {"b": 1},
        [Decimal("1.5"), None],
        ["a b", "c", None, '"q'],
        dt.datetime(1999, 12, 31, 23, 59, 59, 500000),
        dt.date(1970, 1, 1),
    )
    with psycopg.connect(typed, autocommit=True) as con:
        for binary in (False, True):
            cur = con.cursor(binary=binary)
            row = cur.execute("SELECT * FROM wt WHERE id = 1").fetchone()
            assert [c.type_code for c in cur.description] == OIDS
            assert row == expected, binary


def test_binary_parameters(typed: str) -> None:
    ts = dt.datetime(2024, 1, 2, 1, 4, 5, 123456, tzinfo=TZ)
    with psycopg.connect(typed, autocommit=True) as con:
        cur = con.cursor(binary=True)
        cur.execute(
            "SELECT id FROM wt WHERE n = %b AND n2 = %b AND s = %b AND tz = %b AND tm = %b"
            " AND iv2 = %b AND b = %b",
            (
                Decimal("-12345678.91"),
                Decimal("0.000123"),
                -7,
                ts,
                dt.time(13, 14, 15, 500000),
                dt.timedelta(seconds=-1),
                b"\x00\xff",
            ),
        )
        assert cur.fetchall() == [(1,)]
        cur.execute("SELECT %b::jsonb, %b::smallint", (Jsonb({"a": [1, None]}), 3))
        assert cur.fetchone() == ({"a": [1, None]}, 3)
        # A bare ::numeric keeps the digits (DuckDB's own NUMERIC would round to 3).
        cur.execute("SELECT %b::numeric, %s::numeric", (Decimal("-0.000123"), "12.3456789"))
        assert cur.fetchone() == (Decimal("-0.000123"), Decimal("12.3456789"))


def test_asyncpg_round_trips_every_type(typed: str, wire) -> None:
    row = (
        2,
        Decimal("0.05"),
        Decimal("-0.000001"),
        32767,
        -2.5,
        dt.datetime(1999, 1, 1, 0, 0, tzinfo=TZ),
        dt.time(0, 0, 0, 1),
        dt.timedelta(days=-3, seconds=5, microseconds=7),
        dt.timedelta(0),
        b"\x00\x01\xfe",
        '{"k": "v"}',
        [None, Decimal("-2.5")],
        ["", "NULL", None, "a,b"],
        dt.datetime(2030, 6, 1, 12, 0),
        dt.date(1900, 2, 28),
    )

    async def run() -> list:
        con = await asyncpg.connect(host="127.0.0.1", port=wire[0], user="t", database="e")
        try:
            await con.execute(
                "INSERT INTO wt VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)",
                *row,
            )
            return list(await con.fetchrow("SELECT * FROM wt WHERE id = $1 AND n = $2", 2, row[1]))
        finally:
            await con.close()

    assert tuple(asyncio.run(run())) == row


def test_enum_type_over_the_wire(typed: str, wire) -> None:
    with psycopg.connect(typed, autocommit=True) as con:
        con.execute("CREATE TYPE feeling AS ENUM ('sad', 'ok')")
        con.execute("CREATE TABLE fe (id BIGINT PRIMARY KEY, f feeling)")
        con.execute("INSERT INTO fe VALUES (%s, %s)", (1, "ok"))
        oid = con.execute("SELECT oid FROM pg_type WHERE typname = 'feeling'").fetchone()[0]
        cur = con.execute("SELECT f FROM fe WHERE f = %s", ("ok",))
        assert cur.description[0].type_code == oid and cur.fetchall() == [("ok",)]
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            con.execute("INSERT INTO fe VALUES (2, 'angry')")

    async def run() -> list:  # asyncpg introspects the unknown OID through pg_type
        con = await asyncpg.connect(host="127.0.0.1", port=wire[0], user="t", database="e")
        try:
            return [tuple(r) for r in await con.fetch("SELECT id, f FROM fe WHERE f = $1", "ok")]
        finally:
            await con.close()

    assert asyncio.run(run()) == [(1, "ok")]


def test_array_literals_as_node_pg_sends_them(typed: str) -> None:
    with psycopg.connect(typed, autocommit=True) as con:
        con.execute("CREATE TABLE vecs (id BIGINT PRIMARY KEY, tags TEXT[], v FLOAT[3])")
        # str parameters travel untyped (OID 0), as node `pg` sends arrays.
        con.execute(
            "INSERT INTO vecs VALUES (%s, %s, %s)", (1, '{"a b","c,d",NULL}', '{"0.4","0.5","0.6"}')
        )
        con.execute("INSERT INTO vecs VALUES (2, '{x}', '{1,2,3}')")
        con.execute("UPDATE vecs SET tags = %s WHERE id = %s", ('{"q\\"r"}', 2))
        rows = con.execute("SELECT id, tags, v FROM vecs ORDER BY id").fetchall()
        assert rows == [
            (1, ["a b", "c,d", None], pytest.approx([0.4, 0.5, 0.6])),
            (2, ['q"r'], [1.0, 2.0, 3.0]),
        ]
        found = con.execute("SELECT id FROM vector_search('vecs', %s, 1)", ('{"0.4","0.5","0.6"}',))
        assert found.fetchall() == [(1,)]


def _postgres_reachable() -> bool:
    try:
        psycopg.connect(PG15, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


@pytest.mark.skipif(not _postgres_reachable(), reason="PostgreSQL 15 not on 127.0.0.1:5432")
def test_field_bytes_equal_postgres(typed: str) -> None:
    pg_db = "h_types_wire_test"
    with psycopg.connect(PG15, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {pg_db}")
        con.execute(f"CREATE DATABASE {pg_db}")
    try:
        theirs = _fields(PG15.replace("dbname=postgres", f"dbname={pg_db}"), setup=True)
    finally:
        with psycopg.connect(PG15, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {pg_db}")
    ours = _fields(typed, setup=False)
    assert ours == theirs


@pytest.mark.parametrize("fmt", ["text", "csv", "binary"])
def test_copy_round_trips_every_type(typed: str, fmt: str) -> None:
    """COPY TO then COPY FROM in each format: the rows come back equal (Postgres's text
    forms, such as '-3 days +04:05:06.7', are read as Postgres reads them)."""
    with psycopg.connect(typed, autocommit=True) as con:
        con.execute(DDL.replace("wt (", f"wt_{fmt} ("))
        data = bytearray()
        with con.cursor().copy(
            f"COPY (SELECT * FROM wt WHERE id = 1) TO STDOUT (FORMAT {fmt})"
        ) as cp:
            for chunk in cp:
                data += chunk
        with con.cursor().copy(f"COPY wt_{fmt} FROM STDIN (FORMAT {fmt})") as cp:
            cp.write(bytes(data))
        assert (
            con.execute(f"SELECT * FROM wt_{fmt}").fetchall()
            == con.execute("SELECT * FROM wt WHERE id = 1").fetchall()
        )


def test_postgres_interval_text_is_read(typed: str) -> None:
    with psycopg.connect(typed, autocommit=True) as con:
        row = con.execute(
            "SELECT '-1 years +2 days -00:00:01'::interval,"
            " CAST('1 year 2 mons -3 days +04:05:06.7' AS interval), 'P1Y2M3DT4H5M6S'::interval"
        ).fetchone()
        assert row == (  # psycopg reads a year as 365 days and a month as 30
            dt.timedelta(days=-365 + 2, seconds=-1),
            dt.timedelta(days=365 + 60 - 3, seconds=14706, microseconds=700000),
            dt.timedelta(days=365 + 60 + 3, seconds=14706),
        )


def test_sqlalchemy_table_of_every_type(wire) -> None:
    """A SQLAlchemy table with these types (its Enum creates the type), rows in and out,
    JSONB path filters, and reflection naming the types as on PostgreSQL 15."""
    import enum

    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql as pg

    class Mood(enum.Enum):
        sad = "sad"
        ok = "ok"

    md = sa.MetaData()
    things = sa.Table(
        "things", md,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("n", sa.Numeric(10, 2)), sa.Column("s", sa.SmallInteger),
        sa.Column("r", sa.REAL), sa.Column("tz", sa.DateTime(timezone=True)),
        sa.Column("tm", sa.Time), sa.Column("iv", sa.Interval), sa.Column("b", sa.LargeBinary),
        sa.Column("jb", pg.JSONB), sa.Column("m", sa.Enum(Mood, name="mood")),
        sa.Column("tags", pg.ARRAY(sa.Text)),
    )  # fmt: skip
    row = dict(id=1, n=Decimal("1.25"), s=3, r=1.5, tz=dt.datetime(2024, 1, 2, 3, tzinfo=TZ),
               tm=dt.time(1, 2, 3), iv=dt.timedelta(days=2, seconds=5), b=b"\x00\xff",
               jb={"a": [1, 2]}, m=Mood.ok, tags=["a b", "c"])  # fmt: skip
    engine = sa.create_engine(f"postgresql+psycopg://tester@127.0.0.1:{wire[0]}/elacsym")
    try:
        with engine.begin() as con:
            md.create_all(con)
            con.execute(things.insert(), [row])
        with engine.connect() as con:
            assert con.execute(sa.select(things)).mappings().one() == row
            found = sa.select(things.c.id).where(
                things.c.m == Mood.ok, things.c.jb["a"][0].as_integer() == 1
            )
            assert con.execute(found).fetchall() == [(1,)]
        insp = sa.inspect(engine)
        types = {c["name"]: str(c["type"]) for c in insp.get_columns("things")}
        assert types == {"id": "BIGINT", "n": "NUMERIC(10, 2)", "s": "SMALLINT", "r": "REAL",
                         "tz": "TIMESTAMP", "tm": "TIME", "iv": "INTERVAL", "b": "BYTEA",
                         "jb": "JSONB", "m": "VARCHAR(3)", "tags": "ARRAY"}  # fmt: skip
        mood = {"name": "mood", "schema": "public", "visible": True, "labels": ["sad", "ok"]}
        assert mood in insp.get_enums()
    finally:
        engine.dispose()


JDBC_JAR = "/usr/share/java/postgresql.jar"
JAVA = """
import java.sql.*;
public class Types {
  public static void main(String[] a) throws Exception {
    try (Connection c = DriverManager.getConnection(a[0]);
         PreparedStatement ps = c.prepareStatement(
             "SELECT n, s, r, tz, tm, iv, b, ta FROM wt WHERE id = ? AND n = ?")) {
      // pgJDBC prepares on the server and reads binary from the 5th execution on.
      for (int i = 0; i < 7; i++) {
        ps.setLong(1, 1);
        ps.setBigDecimal(2, new java.math.BigDecimal("-12345678.91"));
        try (ResultSet r = ps.executeQuery()) {
          r.next();
          System.out.println(r.getBigDecimal(1) + "|" + r.getShort(2) + "|" + r.getFloat(3)
              + "|" + r.getTimestamp(4).getTime() + "|" + r.getString(5) + "|" + r.getString(6)
              + "|" + java.util.Arrays.toString(r.getBytes(7))
              + "|" + java.util.Arrays.toString((Object[]) r.getArray(8).getArray()));
        }
      }
    }
  }
}
"""


@pytest.mark.skipif(
    shutil.which("java") is None or not os.path.exists(JDBC_JAR),
    reason="needs java and the PostgreSQL JDBC driver (apt: libpostgresql-jdbc-java)",
)
def test_jdbc_reads_every_type_in_text_then_binary(typed: str, wire, tmp_path) -> None:
    source = tmp_path / "Types.java"
    source.write_text(JAVA)
    url = f"jdbc:postgresql://127.0.0.1:{wire[0]}/elacsym?user=tester&sslmode=disable"
    out = subprocess.run(["java", "-cp", JDBC_JAR, str(source), url],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    # What pgJDBC reads from PostgreSQL 15 for the same row, in both formats.
    expected = (
        "-12345678.91|-7|1.5|1704157445123|13:14:15.5|1 year 2 mons -3 days +04:05:06.7"
        '|[0, -1]|[a b, c, null, "q]'
    )
    assert out.stdout.splitlines() == [expected] * 7


NODE = """
const { Client } = require('pg');
(async () => {
  const c = new Client({ host: '127.0.0.1', port: parseInt(process.argv[2]), user: 'tester',
                         database: 'elacsym' });
  await c.connect();
  await c.query('CREATE TABLE node_t (id BIGINT PRIMARY KEY, v REAL[], tags TEXT[],'
                + ' n NUMERIC(10,2), b BYTEA, iv INTERVAL, tz TIMESTAMPTZ)');
  // node pg sends arrays as text with every element quoted: {"0.4","0.5","0.6"}
  await c.query('INSERT INTO node_t VALUES ($1, $2, $3, $4, $5, $6, $7)',
                [1, [0.4, 0.5, 0.6], ['a b', 'c,d', null], '12.50', Buffer.from([0, 255]),
                 '1 day 02:00:00', new Date(Date.UTC(2024, 0, 2, 3, 4, 5))]);
  const r = await c.query('SELECT * FROM node_t WHERE id = $1', [1]);
  console.log(JSON.stringify(r.rows[0]));
  console.log(r.fields.map(f => f.dataTypeID).join(','));
  await c.end();
})().catch(e => { console.error(e.message); process.exit(1); });
"""


def _node_pg(tmp: str) -> str | None:
    """A directory with node's `pg` installed, or None (no npm, or no registry)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "pg@8"], cwd=tmp,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    return tmp if done.returncode == 0 else None


def test_node_pg_round_trips_arrays_and_types(typed: str, wire, tmp_path) -> None:
    where = _node_pg(str(tmp_path))
    if where is None:
        pytest.skip("node and npm (with a reachable registry) are needed to install pg")
    (tmp_path / "t.js").write_text(NODE)
    out = subprocess.run(["node", "t.js", str(wire[0])], cwd=where,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    row, oids = out.stdout.splitlines()
    # What node pg prints against PostgreSQL 15 for the same statements.
    assert row == (
        '{"id":"1","v":[0.4,0.5,0.6],"tags":["a b","c,d",null],"n":"12.50",'
        '"b":{"type":"Buffer","data":[0,255]},"iv":{"days":1,"hours":2},'
        '"tz":"2024-01-02T03:04:05.000Z"}'
    )
    assert oids == "20,1021,1009,1700,17,1186,1184"

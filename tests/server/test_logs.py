"""The server log: one line per connection, error (with SQLSTATE) and slow statement;
client SQL only at DEBUG; text or JSON lines from `elacsym serve --log-format`."""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Iterator

import psycopg
import pytest

import elacsym_sql
from elacsym_sql.server import BackgroundServer
from elacsym_sql.server.logs import JsonFormatter, TextFormatter, event
from elacsym_sql.server.options import ServerOptions
from elacsym_sql.testing.served import serve

SECRET = "s3cr3t-marker-in-client-sql"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    root = tmp_path_factory.mktemp("logs")
    con = elacsym_sql.connect(str(root / "data"), cache_dir=str(root / "cache"), indexer=False)
    options = ServerOptions(log_min_duration_statement="0")  # every statement is "slow"
    try:
        with BackgroundServer(con.database, options=options) as started:
            yield started
    finally:
        con.close()


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == name]


def run_session(port: int) -> None:
    dsn = f"host=127.0.0.1 port={port} user=logger dbname=e application_name=logtest"
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute(f"SELECT '{SECRET}' AS s").fetchone() == (SECRET,)
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute(f"SELECT * FROM no_such_table_{SECRET.replace('-', '_')}")


def test_connection_error_and_duration_lines_without_client_sql(server, caplog):
    caplog.set_level(logging.INFO, logger="elacsym.server")
    run_session(server.port)
    closed = [r for r in events(caplog, "connection") if r.fields.get("user") == "logger"]
    for _ in range(50):  # the session logs its line as it ends, just after the client left
        if closed:
            break
        time.sleep(0.1)
        closed = [r for r in events(caplog, "connection") if r.fields.get("user") == "logger"]
    assert len(closed) == 1
    fields = closed[0].fields
    assert fields["address"] == "127.0.0.1" and fields["application"] == "logtest"
    assert fields["ended"] == "client closed" and fields["seconds"] >= 0
    failed = events(caplog, "error")
    assert [r.fields["sqlstate"] for r in failed] == ["42P01"]
    assert events(caplog, "duration")  # log_min_duration_statement = 0: every statement
    assert all("duration_ms" in r.fields for r in events(caplog, "duration"))
    text = "\n".join(TextFormatter().format(r) for r in caplog.records)
    assert SECRET not in text.replace(SECRET.replace("-", "_"), "")  # no client SQL at INFO
    assert not [r for r in caplog.records if r.exc_info]


def test_client_sql_is_logged_at_debug(server, caplog):
    caplog.set_level(logging.DEBUG, logger="elacsym.server")
    run_session(server.port)
    statements = [r.getMessage() for r in events(caplog, "statement")]
    assert any(SECRET in m for m in statements)


def test_json_and_text_formatters_keep_the_fields():
    logger = logging.getLogger("elacsym.server")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    logger.addHandler(keep)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        event(logging.INFO, "error", 'relation "x" does not exist', pid=7, sqlstate="42P01")
    finally:
        logger.removeHandler(keep)
        logger.setLevel(old)
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["event"] == "error" and line["sqlstate"] == "42P01" and line["pid"] == 7
    assert line["level"] == "INFO" and line["message"] == 'relation "x" does not exist'
    text = TextFormatter().format(records[0])
    assert "INFO error: relation" in text and "sqlstate=42P01" in text and "pid=7" in text


def test_serve_writes_json_lines(tmp_path):
    with serve(tmp_path, "--log-format", "json", "--log-min-duration-statement", "0") as srv:
        dsn = f"host=127.0.0.1 port={srv.port} user=j dbname=e"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT 1")
    lines = [json.loads(line) for line in srv.log_text().splitlines() if line.strip()]
    names = {line["event"] for line in lines}
    assert {"connection", "duration"} <= names, names
    assert all("time" in line and "level" in line for line in lines)


def test_serve_says_listening_and_shutting_down_as_json_lines(tmp_path):
    with serve(tmp_path, "--log-format", "json") as srv:
        ready = json.loads(srv.ready)
        srv.process.send_signal(signal.SIGTERM)
        assert srv.process.wait(60) == 0
        assert srv.process.stdout is not None
        rest = [json.loads(line) for line in srv.process.stdout.read().decode().splitlines()]
    assert ready["event"] == "listening" and ready["port"] == srv.port, ready
    assert ready["level"] == "INFO" and "listening on 127.0.0.1:" in ready["message"]
    assert [line["event"] for line in rest] == ["shutting_down"], rest

"""Settings as the command reads them: the TOML file (our names and the original elacsym's
keys), the environment (ours and the original's spellings), flags; precedence, sizes, and
errors that name what is wrong. `elacsym config` prints each value with its source."""

from __future__ import annotations

import dataclasses

import pytest

from elacsym_sql import connect
from elacsym_sql.cli import main
from elacsym_sql.config import Settings
from elacsym_sql.config_sources import resolve
from elacsym_sql.config_values import parse_size, show_size
from elacsym_sql.errors import InvalidParameterValue


@pytest.fixture
def env(clean_env, tmp_path):
    monkeypatch = clean_env
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def config_rows(capsys, *args: str) -> dict[str, tuple[str, str]]:
    """`elacsym config` as {setting: (value, source)}."""
    assert main([*args, "config"]) == 0
    rows = {}
    for line in capsys.readouterr().out.splitlines()[3:]:
        cells = [c.strip() for c in line.split("|")]
        if len(cells) == 3:
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_sizes_take_si_and_iec_units():
    assert parse_size("4GB") == 4 * 10**9
    assert parse_size("512MiB") == 512 * 2**20
    assert parse_size("1.5 GiB") == 3 * 2**29
    assert parse_size("4096") == 4096
    assert parse_size("10kb") == 10_000
    for bad in ("4XB", "lots", "-1GB", "GB", ""):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert show_size(4 << 30) == "4GiB" and show_size(4 * 10**9) == "4GB"
    assert show_size(1000 * 2**20 + 1) == str(1000 * 2**20 + 1)


def test_defaults_then_file_then_env_then_flags(env, capsys, tmp_path):
    (tmp_path / "settings.toml").write_text(
        'cache_bytes = "1GB"\nmemory_cache_bytes = "100MiB"\nfold_min_rows = 7\n'
        "max_connections = 5\n"
    )
    env.setenv("ELACSYM_CONFIG", str(tmp_path / "settings.toml"))
    env.setenv("ELACSYM_MEMORY_CACHE_BYTES", "200MiB")
    env.setenv("ELACSYM_FOLD_MIN_ROWS", "8")
    rows = config_rows(capsys, "--fold-min-rows", "9")
    file = f"{tmp_path / 'settings.toml'}: "
    assert rows["cache_bytes"] == ("1GB", file + "cache_bytes")
    assert rows["memory_cache_bytes"] == ("200MiB", "env ELACSYM_MEMORY_CACHE_BYTES")
    assert rows["fold_min_rows"] == ("9", "--fold-min-rows")
    assert rows["max_connections"] == ("5", file + "max_connections")
    assert rows["small_segment_rows"] == ("250000", "default")
    assert rows["s3_secret_access_key"] == ("(none)", "default")


def test_the_original_keys_and_environment_spellings(env, capsys, tmp_path):
    (tmp_path / "config.toml").write_text(
        """
[storage]
backend = "s3"
[storage.s3]
bucket = "my-bucket"
region = "eu-west-1"
endpoint = "http://127.0.0.1:9000"
[storage.local]
root_path = "./unused-with-s3"
[cache]
memory_size = 536870912
disk_size = "10GB"
disk_path = "/var/cache/elacsym"
[compaction]
enabled = false
interval_secs = 30
max_segments = 8
[logging]
level = "warn"
format = "json"
[distributed]
enabled = false
node_id = "node-a"
[server]
host = "0.0.0.0"
port = 3001
"""
    )  # ./config.toml is read without being named, as the original read it
    env.setenv("ELACSYM_LOG", "elacsym=debug,tower=warn")
    env.delenv("ELACSYM_CACHE_DIR")  # `config` only prints: nothing is opened
    env.delenv("ELACSYM_INDEXER")
    rows = config_rows(capsys)
    src = "config.toml: "
    assert rows["data"] == ("s3://my-bucket", src + "storage.s3.bucket")
    assert rows["s3_region"] == ("eu-west-1", src + "storage.s3.region")
    assert rows["s3_endpoint"] == ("http://127.0.0.1:9000", src + "storage.s3.endpoint")
    assert rows["memory_cache_bytes"] == ("512MiB", src + "cache.memory_size")
    assert rows["cache_bytes"] == ("10GB", src + "cache.disk_size")
    assert rows["cache_dir"] == ("/var/cache/elacsym", src + "cache.disk_path")
    assert rows["indexer"] == ("false", src + "compaction.enabled")
    assert rows["fold_interval_seconds"] == ("30.0", src + "compaction.interval_secs")
    assert rows["compact_min_segments"] == ("8", src + "compaction.max_segments")
    assert rows["log_format"] == ("json", src + "logging.format")
    assert rows["log_level"] == ("debug", "env ELACSYM_LOG")  # env over the file
    assert rows["node_id"] == ("node-a", src + "distributed.node_id")
    assert rows["http"] == ("3001", src + "server.port")  # a TOML number
    assert rows["http_host"] == ("0.0.0.0", src + "server.host")


def test_original_environment_spellings(env, capsys):
    env.setenv("ELACSYM_STORAGE_PATH", "/srv/one")
    env.setenv("ELACSYM_STORAGE_S3_REGION", "ap-south-1")
    env.setenv("ELACSYM_NODE_ID", "n7")
    env.setenv("ELACSYM_NODE_INDEX", "0")
    env.setenv("ELACSYM_TOTAL_NODES", "1")
    rows = config_rows(capsys)
    assert rows["data"] == ("/srv/one", "env ELACSYM_STORAGE_PATH")
    assert rows["s3_region"] == ("ap-south-1", "env ELACSYM_STORAGE_S3_REGION")
    assert rows["node_id"] == ("n7", "env ELACSYM_NODE_ID")
    env.setenv("ELACSYM_DATA", "/srv/two")  # our own name wins over the original's
    env.setenv("ELACSYM_S3_BUCKET", "b")
    assert config_rows(capsys)["data"] == ("/srv/two", "env ELACSYM_DATA")


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("bogus = 1\n[cache]\ndisk_sise = 3\n", "unknown key(s): bogus, cache.disk_sise"),
        ('cache_bytes = "4XB"\n', "cache_bytes = '4XB' is not a valid size"),
        ('[cache]\ndisk_size = "lots"\n', "cache.disk_size = 'lots' is not a valid size"),
        ("[compaction]\nenabled = 3\n", "compaction.enabled = 3 is not a valid bool"),
        ('[storage]\nbackend = "gcs"\n', "storage.backend = 'gcs'"),
        ('[storage]\nbackend = "s3"\n', "wants storage.s3.bucket"),
        ('[distributed]\nrole = "writer"\n', "distributed.role = 'writer': one of indexer, query"),
        ('[logging]\nformat = "xml"\n', "--log-format is text or json, not 'xml' (set by"),
        ("max_connections = 0\n", "--max-connections is at least 1 (set by"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_file_stops_start_up_naming_the_key(env, capsys, tmp_path, toml, named):
    (tmp_path / "bad.toml").write_text(toml)
    assert main(["--config", str(tmp_path / "bad.toml"), "ls"]) == 2
    err = capsys.readouterr().err
    assert named in err, err


@pytest.mark.parametrize(
    ("var", "value", "named"),
    [
        ("ELACSYM_CACHE_BYTES", "4XB", "env ELACSYM_CACHE_BYTES = '4XB' is not a valid size"),
        ("ELACSYM_INDEXER", "maybe", "env ELACSYM_INDEXER = 'maybe' is not a valid bool"),
        ("ELACSYM_NODE_TYPE", "reader", "env ELACSYM_NODE_TYPE = 'reader': one of indexer"),
        ("ELACSYM_TOTAL_NODES", "three", "env ELACSYM_TOTAL_NODES = 'three' is not a valid int"),
        ("ELACSYM_NODE_INDEX", "-1", "env ELACSYM_NODE_INDEX = '-1' is not a valid int"),
        ("ELACSYM_HEARTBEAT_TTL_SECONDS", "1", "at least 3 x heartbeat_seconds"),
        ("ELACSYM_CONFIG", "/nonexistent.toml", "config file /nonexistent.toml does not exist"),
    ],
)
def test_bad_environment_stops_start_up_naming_it(env, capsys, var, value, named):
    env.setenv(var, value)
    assert main(["ls"]) == 2
    assert named in capsys.readouterr().err


def test_the_original_cluster_settings_join_a_cluster(env, capsys, tmp_path):
    (tmp_path / "config.toml").write_text(
        '[distributed]\nenabled = true\nnode_id = "idx-1"\nrole = "indexer"\n'
        '[distributed.indexer_cluster]\nnodes = ["idx-1", "idx-2"]\n'
    )
    rows = config_rows(capsys)
    src = "config.toml: distributed."
    assert rows["cluster"] == ("true", src + "enabled")
    assert rows["node_id"] == ("idx-1", src + "node_id")
    assert rows["node_role"] == ("indexer", src + "role")
    assert rows["peers"] == ("idx-1,idx-2", src + "indexer_cluster.nodes")
    # The original's guide: query nodes by ELACSYM_NODE_TYPE, indexers by ELACSYM_TOTAL_NODES
    env.setenv("ELACSYM_NODE_TYPE", "query")
    env.setenv("ELACSYM_TOTAL_NODES", "3")
    env.setenv("ELACSYM_NODE_INDEX", "2")
    (tmp_path / "config.toml").unlink()
    rows = config_rows(capsys)
    assert rows["node_role"] == ("query", "env ELACSYM_NODE_TYPE")
    assert rows["cluster"] == ("true", "env ELACSYM_TOTAL_NODES")
    env.setenv("ELACSYM_TOTAL_NODES", "1")
    assert config_rows(capsys)["cluster"] == ("false", "env ELACSYM_TOTAL_NODES")
    env.setenv("ELACSYM_CLUSTER", "true")  # our own name wins
    assert config_rows(capsys)["cluster"] == ("true", "env ELACSYM_CLUSTER")


def test_bad_server_option_names_its_source(env, capsys):
    env.setenv("ELACSYM_HTTP", "nowhere")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "--http wants host:port, a port or off, not 'nowhere' (set by env ELACSYM_HTTP)" in err
    env.delenv("ELACSYM_HTTP")
    assert main(["serve", "--log-level", "loud"]) == 2
    assert capsys.readouterr().err.endswith("not 'loud'\n")  # the flag names itself


def test_bad_flag_value_names_the_flag(env, capsys):
    assert main(["ls", "--memory-cache-bytes", "2 bananas"]) == 2
    assert "--memory-cache-bytes = '2 bananas' is not a valid size" in capsys.readouterr().err


def test_unknown_environment_variables_are_listed_not_fatal(env, capsys):
    env.setenv("ELACSYM_CACHE_BYTE", "1GB")  # a typo
    assert main(["config"]) == 0
    assert "ignored: ELACSYM_CACHE_BYTE is not a setting" in capsys.readouterr().out


def test_connect_reads_sizes_and_original_env_but_no_file(env, tmp_path):
    (tmp_path / "config.toml").write_text("bogus = 1\n")  # the command's file, not connect's
    env.setenv("ELACSYM_STORAGE_PATH", str(tmp_path / "data"))
    with connect(cache_bytes="1GiB") as con:
        assert con.database.settings.cache_bytes == 1 << 30
        assert con.database.settings.data == str(tmp_path / "data")
    with connect(tmp_path / "other", cache_bytes=4e9, gc_grace_seconds=600) as con:
        assert con.database.settings.data == str(tmp_path / "other")  # a Path is fine
        assert con.database.settings.cache_bytes == 4 * 10**9
        assert con.database.settings.gc_grace_seconds == 600.0
    with pytest.raises(InvalidParameterValue, match=r"cache_bytes = 1\.5 is not a valid size"):
        connect(cache_bytes=1.5)
    with pytest.raises(InvalidParameterValue, match="unknown setting: cache_byte"):
        connect(cache_byte=1)


def test_resolve_records_every_source(env):
    fields = dataclasses.fields(Settings)
    found = resolve(fields, {"ELACSYM_FOLD_MIN_ROWS": "5"}, {"write_retries": 3})
    assert found.sources["fold_min_rows"] == "env ELACSYM_FOLD_MIN_ROWS"
    assert found.values["fold_min_rows"] == 5
    assert found.sources["write_retries"] == "write_retries" and found.values["write_retries"] == 3
    assert found.sources["gc_grace_seconds"] == "default"

"""/metrics under `serve --workers N` answers for every worker, each sample labelled with its
worker (decision 0079): the merge of expositions is valid Prometheus text, one block per
family, with every worker's samples."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from elacsym_sql.http.worker_metrics import merged


def _exposition(writes: int, conns: int) -> str:
    registry = CollectorRegistry()
    counter = Counter("demo_writes", "writes", ["door"], registry=registry)
    counter.labels("wire").inc(writes)
    Gauge("demo_connections", "open connections", registry=registry).set(conns)
    Histogram("demo_seconds", "latency", registry=registry, buckets=(0.1, 1.0)).observe(0.5)
    return generate_latest(registry).decode()


def test_every_worker_s_samples_under_one_family_each():
    one = _exposition(3, 1)
    text = merged([("db-w0", one), ("db-w1", _exposition(5, 2))])
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) == {f.name for f in text_string_to_metric_families(one)}
    writes = {s.labels["worker"]: s.value for s in families["demo_writes"].samples}
    assert writes == {"db-w0": 3.0, "db-w1": 5.0}
    assert all(s.labels["door"] == "wire" for s in families["demo_writes"].samples)
    gauges = {s.labels["worker"]: s.value for s in families["demo_connections"].samples}
    assert gauges == {"db-w0": 1.0, "db-w1": 2.0}
    buckets = [s for s in families["demo_seconds"].samples if s.name.endswith("_bucket")]
    assert len(buckets) == 6 and {s.labels["worker"] for s in buckets} == {"db-w0", "db-w1"}
    assert text.count("# TYPE demo_writes_total counter") == 1
    assert all(len(f.samples) == 2 for n, f in families.items() if n.endswith("_created"))

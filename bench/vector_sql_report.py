"""The text report of bench/vector_sql.py's results, and the targets it checks them against."""

from __future__ import annotations

from common import DIM, METRIC, K, format_loads, yes_no
from vector_sql_profile import LATERAL_REPEAT, PROFILE_TOP, UDF

from elacsym_sql.index import DEFAULT_EF_CONSTRUCTION, DEFAULT_M

TARGET_QPS = 1_000
TARGET_RECALL = 0.98


def render(result: dict) -> str:
    m, b = result["machine"], result["build"]
    v, code = m["versions"], m["code"]
    raw = {r["ef"]: r for r in result["raw"]}
    where = f"commit {code['commit']}" if code["commit"] else "not a git checkout"
    if code["modified"]:
        where += f" with changes to {', '.join(code['modified'])}"
    out = [
        f"machine: {m['cpus_usable']} cores, {m['platform']}, python {m['python']}; "
        f"load average {format_loads(m['load_average_at_start'])} at start, "
        f"{format_loads(m['load_average_at_end'])} at end",
        f"versions: duckdb {v['duckdb']}, hnswlib {v['hnswlib']}, sqlglot {v['sqlglot']}, "
        f"numpy {v['numpy']}, pyarrow {v['pyarrow']}",
        f"code: {code['package']} ({where})",
        f"data: {result['rows']:,} rows x {DIM}-d ({METRIC}), {result['queries']:,} held-out "
        f"queries (the last rows), k={K}; recall@10 against numpy exact search",
        "",
        f"ingest and build (M={DEFAULT_M}, ef_construction={DEFAULT_EF_CONSTRUCTION}, all cores)",
        f"  INSERT (one statement, Arrow) {b['insert_s']:.2f} s; engine.fold() {b['fold_s']:.2f} s"
        f", of which build_hnsw {b['fold_hnsw_s']:.2f} s; raw hnswlib build {b['raw_s']:.2f} s",
        f"  build_hnsw / raw {b['fold_hnsw_s'] / b['raw_s']:.2f}x, whole fold / raw "
        f"{b['fold_s'] / b['raw_s']:.2f}x; index {b['index_bytes'] / 2**20:.0f} MiB; first "
        f"query (loads the segment and its index) {b['first_query_s'] * 1e3:.0f} ms",
        "",
        "one statement per query, query vector as a list parameter, fetchall()",
        f"  {'ef':>4} | {'SELECT id, _distance':^29} | {'SELECT *':^29} | {'raw hnswlib':^14}",
        f"  {'':>4} | {'n':>5} {'q/s':>5} {'ms':>6} {'recall':>6} {'k':>3} |"
        f" {'n':>5} {'q/s':>5} {'ms':>6} {'recall':>6} {'k':>3} | {'q/s':>6} {'recall':>6}",
    ]
    for a, s in zip(result["single"], result["star"], strict=True):
        r = raw[a["ef"]]
        out.append(
            f"  {a['ef']:>4} | {a['queries']:>5} {a['qps']:>5.0f} {a['ms']:>6.2f}"
            f" {a['recall']:>6.4f} {yes_no(a['always_k']):>3} | {s['queries']:>5} {s['qps']:>5.0f}"
            f" {s['ms']:>6.2f} {s['recall']:>6.4f} {yes_no(s['always_k']):>3} |"
            f" {r['qps']:>6.0f} {r['recall']:>6.4f}"
        )
    general = result["general_path"]
    out += [
        "  n: queries run (the first n; recall over them); k: every query returned 10 rows",
        "  plain statements take the direct path (no DuckDB); the same at ef 64 wrapped in a "
        f"subquery, through DuckDB: {general['qps']:.0f} q/s",
        "",
        f"batch: {result['queries']:,} queries in a temp table, one statement "
        "SELECT q.qid, r.id FROM queries q, LATERAL vector_search('v', q.vec, 10, ef := n) r",
        f"  {'ef':>4} | {'q/s':>7} {'s':>6} {'recall':>6} {'k':>3} | {'raw batch q/s':>13}"
        f" {'recall':>6} | {'ours/raw':>8}",
    ]
    for r in result["lateral"]:
        w = raw[r["ef"]]
        out.append(
            f"  {r['ef']:>4} | {r['qps']:>7.0f} {r['seconds']:>6.2f} {r['recall']:>6.4f}"
            f" {yes_no(r['always_k']):>3} | {w['batch_qps']:>13.0f} {w['batch_recall']:>6.4f} |"
            f" {r['qps'] / w['batch_qps']:>8.2f}"
        )
    out += [
        "",
        f"filtered, ef {result['filter_ef']}, SELECT id, _distance, one statement per query"
        " (recall against exact search over the allowed rows)",
        f"  {'filter':>10} {'allowed':>7} {'rows':>7} | {'n':>5} {'q/s':>5} {'ms':>6}"
        f" {'recall':>6} {'10 rows':>7} {'allowed':>7}",
    ]
    for r in result["filtered"]:
        out.append(
            f"  {r['filter']:>10} {r['fraction']:>7.0%} {r['allowed_rows']:>7} |"
            f" {r['queries']:>5} {r['qps']:>5.0f} {r['ms']:>6.2f} {r['recall']:>6.4f}"
            f" {yes_no(r['always_k']):>7} {yes_no(r['all_allowed']):>7}"
        )
    out += ["", "floors (one statement or call at a time)"]
    for name, value in result["floors"].items():
        out.append(f"  {name:<50} {value:>7,.0f}/s {1e3 / value:>7.3f} ms")
    phases = result["phases"]
    cases = list(phases)
    out += [
        "",
        f"where a query's time goes, ef 64, ms per query: {result['profile_queries']} single"
        f" SELECT id, _distance statements, and {LATERAL_REPEAT} runs of the LATERAL statement"
        f" over {result['queries']:,} queries",
        "  by phase (timing wrappers, on a separate connection; indented rows are part of the"
        " row above them)",
        f"    {'':<62} {' '.join(f'{c:>10}' for c in cases)}",
    ]
    for label in phases[cases[0]]:
        values = " ".join(f"{phases[c].get(label, float('nan')):>10.3f}" for c in cases)
        out.append(f"    {_indent(label):<62} {values}")
    prof = result["profile"]
    out += [
        f"  cProfile, top {PROFILE_TOP} by cumulative time (UDF calls on a DuckDB worker thread: "
        f"{prof['udf_calls_off_main_thread']} of {prof['udf_calls']}, merged in)",
        "    (DuckDB's own methods are invisible to cProfile: their time counts as their"
        " caller's own time,",
        "    e.g. Database._query's is mostly cursor.execute; profiler overhead included)",
        f"    {'cum ms/q':>8} {'own ms/q':>8} {'calls':>6}  function",
    ]
    for r in prof["top"]:
        out.append(
            f"    {r['cum_ms_per_query']:>8.3f} {r['own_ms_per_query']:>8.3f}"
            f" {r['calls']:>6}  {r['function']}"
        )
    out += ["", "targets (issue 3)", *_targets(result, raw)]
    return "\n".join(out)


def _indent(label: str) -> str:
    """Phase labels nested as the calls are."""
    if label.startswith("engine:"):
        return "    " + label
    if label.startswith("UDF: ") and label != UDF:
        return "  " + label
    return label


def _targets(result: dict, raw: dict[int, dict]) -> list[str]:
    out = []
    best = max(
        (r for r in result["single"] if r["recall"] >= TARGET_RECALL),
        key=lambda r: r["qps"],
        default=None,
    )
    if best is None:
        ef_max = max(result["single"], key=lambda r: r["recall"])
        out.append(
            f"  single query, recall@10 >= {TARGET_RECALL} at >= {TARGET_QPS:,} q/s: NOT met "
            f"(no ef reaches recall {TARGET_RECALL}; best {ef_max['recall']:.4f} at ef "
            f"{ef_max['ef']}, {ef_max['qps']:.0f} q/s)"
        )
    else:
        met = best["qps"] >= TARGET_QPS
        out.append(
            f"  single query, recall@10 >= {TARGET_RECALL} at >= {TARGET_QPS:,} q/s: "
            f"{'met' if met else 'NOT met'} (ef {best['ef']}: {best['recall']:.4f} at "
            f"{best['qps']:.0f} q/s)"
        )
    for r in result["lateral"]:
        ratio = r["qps"] / raw[r["ef"]]["batch_qps"]
        out.append(
            f"  LATERAL >= 0.8x raw hnswlib batch q/s, ef {r['ef']}: "
            f"{'met' if ratio >= 0.8 else 'NOT met'} ({ratio:.2f}x)"
        )
    one_pct = next((r for r in result["filtered"] if r["fraction"] == 0.01), None)
    if one_pct is not None:
        met = one_pct["recall"] >= 0.95 and one_pct["always_k"] and one_pct["all_allowed"]
        out.append(
            f"  filtered 1%: recall@10 >= 0.95, always 10 rows: {'met' if met else 'NOT met'}"
            f" ({one_pct['recall']:.4f}, {yes_no(one_pct['always_k'])})"
        )
    b = result["build"]
    ratio = b["fold_hnsw_s"] / b["raw_s"]
    out.append(
        f"  index build <= 1.2x raw hnswlib: {'met' if ratio <= 1.2 else 'NOT met'}"
        f" (build_hnsw inside fold {ratio:.2f}x; the whole fold {b['fold_s'] / b['raw_s']:.2f}x)"
    )
    return out

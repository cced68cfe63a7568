"""The table and the plot of bench/index_kinds.py's results (its JSON): one row per sweep
point of every system, recall@10 against queries per CPU second on a log scale."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import DIM, RESULTS_DIR, format_loads

Point = dict[str, Any]


def number(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def build_cell(s: dict[str, Any]) -> str:
    """Wall seconds, with CPU seconds and the 1-minute load after it when measured."""
    if s.get("build_s") is None:
        return "-"
    cell = f"{s['build_s']:,.1f}"
    if "build_cpu_s" in s:
        cell += f" ({s['build_cpu_s']:,.0f} CPU s, load {s['build_load'][0]:.1f})"
    return cell


def table(systems: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| system | build s | B/vector memory | B/vector RSS | B/vector disk = bucket | point "
        "| recall@10 | q/s | q/s CPU | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in systems:
        head = (
            f"| {s['system']} | {build_cell(s)} | "
            f"{number(s.get('memory_bpv'))} | {number(s.get('rss_bpv'))} | "
            f"{number(s.get('disk_bpv'))} "
        )
        if not s["points"]:
            lines.append(f"{head}| {s.get('note', '')} | | | | |")
        for i, p in enumerate(s["points"]):
            lines.append(
                (head if i == 0 else "| | | | | ")
                + f"| {p['label']} | {p['recall']:.3f} | {p['qps']:,.0f} | {p['cpu_qps']:,.0f} "
                f"| {format_loads(p['load'][:1])} |"
            )
    return "\n".join(lines)


def curves(s: dict[str, Any]) -> dict[str, list[Point]]:
    """A system's sweep points (not its default point) by line of the plot: one line per
    refine_factor of LanceDB's IVF_PQ, one per system otherwise."""
    out: dict[str, list[Point]] = {}
    for p in s["points"]:
        if p["label"].startswith("default"):
            continue
        name = s["system"]
        if "refine_factor" in p:
            name += f", refine {p['refine_factor'] or 'none'}"
        out.setdefault(name, []).append(p)
    return out


def plot(systems: Sequence[dict[str, Any]], path: Path, title: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    for s in systems:
        for name, curve in curves(s).items():
            style = "o-" if len(curve) > 1 else "D"
            recall, qps = [p["recall"] for p in curve], [p["cpu_qps"] for p in curve]
            [line] = ax.plot(recall, qps, style, label=name, markersize=4)
        for p in s["points"]:
            if p["label"].startswith("default"):
                ax.scatter(
                    p["recall"], p["cpu_qps"], marker="*", s=150, color=line.get_color(), zorder=3
                )
    ax.set(
        xlabel="recall@10",
        ylabel="queries per CPU second, one at a time",
        yscale="log",
        title=title,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return str(path)


def report(out: dict[str, Any], rows: int) -> None:
    """The markdown table and the plot of a run's results."""
    systems = out["systems"]
    print(
        f"\n{out['data']}, {out['queries']} queries one at a time, embedded; load at the end "
        f"{format_loads(out.get('load_at_end') or os.getloadavg())}\n"
    )
    print(table(systems))
    picture = plot(
        systems,
        RESULTS_DIR / f"index_kinds-{rows}.png",
        f"{out['rows']:,} x {DIM}, cosine, {out['queries']} held-out queries",
    )
    print(f"\nplot: {picture or 'matplotlib is not installed'}")


def replot(rows: int) -> None:
    report(json.loads((RESULTS_DIR / f"index_kinds-{rows}.json").read_text()), rows)

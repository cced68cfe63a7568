"""The plot of `elacsym bench`: recall@k against queries/s (one point per ef, and exact
search), and nDCG@10 bars by search kind when judged queries were given. Needs matplotlib
(the `plot` extra); importing this module without it raises ImportError."""

from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt


def plot(result: dict[str, Any], out_dir: str) -> list[str]:
    """Draw `result` (run_bench's) into out_dir/bench.png and .svg; the paths written."""
    quality = result.get("ndcg10")
    fig, axes = plt.subplots(1, 2 if quality else 1, figsize=(11 if quality else 6, 4.5))
    left = axes[0] if quality else axes
    graph = [p for p in result["vector"] if p["ef"] is not None]
    left.plot(
        [p["qps"] for p in graph], [p["recall"] for p in graph], "o-", label="vector_search, ef"
    )
    for p in graph:
        left.annotate(f"ef {p['ef']}", (p["qps"], p["recall"]), textcoords="offset points",
                      xytext=(4, -10), fontsize=8)  # fmt: skip
    exact = [p for p in result["vector"] if p["ef"] is None]
    left.plot([p["qps"] for p in exact], [p["recall"] for p in exact], "s", label="exact := true")
    left.set_xlabel("queries/s (one statement each)")
    left.set_ylabel(f"recall@{result['k']}")
    left.set_title(f"{result['namespace']}: {result['rows']:,} rows, {result['queries']} queries")
    left.grid(alpha=0.3)
    left.legend()
    if quality:
        right = axes[1]
        names = list(quality)
        right.barh(names, [quality[n] for n in names])
        for i, n in enumerate(names):
            right.text(quality[n], i, f" {quality[n]:.3f}", va="center", fontsize=8)
        right.set_xlabel("nDCG@10")
        right.set_xlim(0, 1)
        right.invert_yaxis()
        right.set_title("ranking quality (judged queries)")
    fig.tight_layout()
    written = []
    for ext in ("png", "svg"):
        path = os.path.join(out_dir, f"bench.{ext}")
        fig.savefig(path, dpi=120)
        written.append(path)
    plt.close(fig)
    return written

"""/metrics of `elacsym serve --workers N`: whichever worker the shared port gives a scrape
to answers for all of them, each sample labelled with its worker's member id (decision 0079).

Each worker's counters live in its own process. Were a scrape answered by one worker alone,
successive scrapes of the same target would jump between processes' counters; so the worker
that takes it adds its siblings' own expositions (`/metrics?worker=self` at their private
HTTP ports), a family's samples kept together as the text format wants.
"""

from __future__ import annotations

import logging
import re
import urllib.request
from collections.abc import Sequence

from ..cluster import ClusterNode, host_of

log = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 5.0
_SAMPLE = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?(\s.*)")


def labelled(text: str, worker: str) -> list[tuple[str, list[str]]]:
    """The families of one exposition, in order: (name, lines), every sample given the label
    worker="<id>"; a family's lines are its HELP and TYPE comments, then its samples."""
    families: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            families.append((line.split()[2], [line]))
        elif line.startswith("#") or not line.strip():
            if families:
                families[-1][1].append(line)
        elif (sample := _SAMPLE.fullmatch(line)) is not None and families:
            name, labels, rest = sample.groups()
            inner = f"{labels[1:-1]}," if labels and labels != "{}" else ""
            families[-1][1].append(f'{name}{{{inner}worker="{worker}"}}{rest}')
    return families


def merged(expositions: Sequence[tuple[str, str]]) -> str:
    """One exposition of (worker id, its text) pairs: each family once, with the samples of
    every worker."""
    order: list[str] = []
    lines: dict[str, list[str]] = {}
    for worker, text in expositions:
        for name, family in labelled(text, worker):
            if name not in lines:
                order.append(name)
                lines[name] = [line for line in family if line.startswith("#")]
            lines[name] += [line for line in family if not line.startswith("#")]
    return "".join(line + "\n" for name in order for line in lines[name])


def fetch(address: str) -> str | None:
    """A sibling's own exposition from its private HTTP address; None (logged) when it does
    not answer: a worker being restarted is left out of one scrape."""
    url = f"http://{address}/metrics?worker=self"
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as answer:
            return answer.read().decode()
    except OSError as exc:
        log.warning("metrics of %s not read: %s", address, exc)
        return None


def all_workers(own: str, node: ClusterNode) -> str:
    """This worker's exposition merged with those of the live workers of the same host."""
    host = host_of(node.node_id)
    texts = [(node.node_id, own)]
    for m in node.members():
        if m.live and not m.is_self and host_of(m.node_id) == host and m.address is not None:
            text = fetch(m.address.http) if m.address.http else None
            if text is not None:
                texts.append((m.node_id, text))
    return merged(sorted(texts))

"""Explicit maintenance (fold the WAL tail, compact, collect garbage) of a namespace runs at
its owner, like the background work (decision 0090): `elacsym_compact(ns)` in SQL and
`elacsym compact NS` at another member, or at an embedded or command-line process on a
cluster's root, ask the owner over its HTTP API (`POST /v1/namespaces/{ns}/compact`), so a
non-owner never writes a namespace's segments or manifests.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

from ..errors import OwnerUnavailable
from .forward_login import FORWARDED_BY_HEADER
from .membership import Member
from .observer import ClusterObserver
from .routing import NotSent, Raise, View, next_owner, owner_elsewhere, owner_wait_deadline

TIMEOUT_SECONDS = 600.0  # compacting a large namespace takes a while


def compact_at_owner(view: View | None, namespace: str, error: Raise) -> dict[str, Any] | None:
    """The owner's statistics of `namespace` after it compacted it, or None when this
    process is to compact it (no cluster, no live owner, or this node owns it). The owner's
    refusal is raised as `error` makes it (same SQLSTATE); a member waits for a new owner
    when the owner is unreachable, as a forwarded write does; another process refuses
    with 57P03, naming the owner."""
    target: Member | None = owner_elsewhere(view, namespace)
    deadline: float | None = None  # from the first attempt turned away
    while target is not None:
        assert view is not None
        address = target.address
        if address is None or address.http_port is None:
            raise OwnerUnavailable(
                f'namespace "{namespace}" is owned by member {target.node_id}, which serves no '
                "HTTP API to compact it; nothing was compacted",
                hint=f"run elacsym_compact('{namespace}') at member {target.node_id}",
            )
        try:
            return _post(address.host, address.http_port, namespace, view.node_id, error)
        except NotSent as exc:
            if isinstance(view, ClusterObserver):  # no member: it does not wait for one
                raise OwnerUnavailable(
                    f'namespace "{namespace}" is owned by member {target.node_id}, which is '
                    f"unreachable ({exc}); nothing was compacted",
                    hint="retry when the member is back, or after another took it over",
                ) from None
            deadline = deadline or owner_wait_deadline(view)
            target = next_owner(view, namespace, target, deadline)
    return None


def _post(host: str, port: int, namespace: str, sender: str, error: Raise) -> dict[str, Any]:
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)
    path = f"/v1/namespaces/{urllib.parse.quote(namespace, safe='')}/compact"
    try:
        try:
            conn.request("POST", path, b"{}", {FORWARDED_BY_HEADER: sender})
        except OSError as exc:
            raise NotSent(str(exc)) from None
        try:
            answer = conn.getresponse()
            body = json.loads(answer.read() or b"{}")
        except (OSError, http.client.HTTPException) as exc:
            raise OwnerUnavailable(  # compacting again is harmless: retry
                f"the owner at {host}:{port} did not answer ({exc}); the namespace may or may "
                "not have been compacted",
                hint="retry",
            ) from None
    finally:
        conn.close()
    if answer.status != 200:
        raise error(
            body.get("code", "XX000"),
            body.get("error", f"the owner answered HTTP {answer.status}"),
            body.get("detail"),
            body.get("hint"),
        )
    return body

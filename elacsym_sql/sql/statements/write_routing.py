"""A write over the wire to a namespace another member owns is run by the owner and answered
with its command tag, row count or error (decision 0058).

Forwarded: INSERT, UPDATE and DELETE of one namespace, outside a transaction block, without
RETURNING, sent as a single statement. Everything else is written where it arrives, which
is always safe (conditional writes), only not where the namespace is indexed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlglot import exp

from ...cluster import ClusterNode
from ...cluster.pg_forward import FORWARDED_PREFIX, NotSent, PgPool
from ...cluster.routing import next_owner, owner_elsewhere
from ...errors import ElacsymError, OwnerUnavailable
from ...metrics import FORWARDED
from ..errors import error_class
from ..parse import Statement
from ..results import Outcome
from ..session.session_state import SessionState
from .dml import target_name

log = logging.getLogger(__name__)
FORWARD_USER = "elacsym"  # members trust each other (--auth trust); see decision 0058


class WireForwarding:
    def __init__(self, is_namespace: Callable[[str], bool]) -> None:
        self.is_namespace = is_namespace
        self.node: ClusterNode | None = None  # set when the server joins a cluster
        self._pool: PgPool | None = None

    def join(self, node: ClusterNode) -> None:
        self.node = node
        self._pool = PgPool(node.node_id, FORWARD_USER, _error)

    def close(self) -> None:
        """Close the pooled connections to other members."""
        if self._pool is not None:
            self._pool.close()

    def run(
        self, stmt: Statement, text: str | None, params: Sequence[Any], state: SessionState
    ) -> Outcome | None:
        """The owner's outcome of this statement, or None when it is to be run here.
        `text`: the statement as the client sent it (None when it came with others)."""
        node, pool, tree = self.node, self._pool, stmt.tree
        if node is None or pool is None or text is None:
            return None
        if not isinstance(tree, exp.Insert | exp.Update | exp.Delete) or tree.args.get("returning"):
            return None
        if state.transaction.active is not None:
            return None  # a block's writes commit together, here
        if (state.settings.values.get("application_name") or "").startswith(FORWARDED_PREFIX):
            return None  # forwarded to us: ours to write, whatever our view
        name = target_name(tree)
        if not self.is_namespace(name):
            return None
        target = owner_elsewhere(node, name)
        while target is not None:
            if target.address is None:
                raise OwnerUnavailable(
                    f'the owner of namespace "{name}", member {target.node_id}, has not said '
                    "where it listens; nothing was written",
                    hint="retry the write",
                )
            try:
                rows = pool.execute(target.address, text, params)
            except NotSent as exc:
                log.warning("owner %s of %s unreachable: %s", target.node_id, name, exc)
                target = next_owner(node, name, target)  # dead: wait for its successor
                continue
            except ElacsymError:
                FORWARDED.labels("wire").inc()  # the owner's refusal, answered as ours
                raise
            FORWARDED.labels("wire").inc()
            return Outcome("count", type(tree).__name__.upper(), rows)
        return None  # this node took the namespace over: write it here


def _error(sqlstate: str, message: str, detail: str | None, hint: str | None) -> ElacsymError:
    """The owner's error as ours: same SQLSTATE, message, detail and hint."""
    cls = error_class(sqlstate)
    if cls.sqlstate != sqlstate:  # one no class of ours has: keep it all the same
        cls = type(cls.__name__, (cls,), {"sqlstate": sqlstate})
    return cls(message, detail=detail, hint=hint)

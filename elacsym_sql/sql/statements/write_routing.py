"""A write over the wire to a namespace another member owns is run by the owner and answered
with its command tag, rows or error (decisions 0058, 0084, 0090).

Forwarded, outside a transaction block: INSERT, UPDATE and DELETE of one namespace (with
or without RETURNING), COPY FROM STDIN, and DDL that commits namespaces' manifests (CREATE,
DROP, ALTER and TRUNCATE TABLE, CREATE/DROP INDEX, COMMENT ON) when one member owns every
namespace it names (written.py). Everything else is written where it arrives, which is
always safe (conditional writes), only not where the namespace is indexed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlglot import exp

from ...cluster.forward_login import is_forwarded
from ...cluster.membership import Member
from ...cluster.observer import ClusterObserver
from ...cluster.pg_forward import Answer, PgPool
from ...cluster.routing import NotSent, View, next_owner, owner_elsewhere, owner_wait_deadline
from ...errors import ElacsymError, OwnerUnavailable
from ...metrics import FORWARDED
from ..errors import error_class
from ..parse import Statement
from ..relayed import RelayedRows
from ..results import Outcome
from ..session.session_state import SessionState
from .written import IndexTables, written_namespaces

log = logging.getLogger(__name__)
DEFAULT_USER = "elacsym"  # an embedded session's user (a server's sessions have their own)


class WireForwarding:
    def __init__(
        self,
        is_namespace: Callable[[str], bool],
        index_tables: IndexTables,
        changed: Callable[[list[str]], None],
    ) -> None:
        """`changed(names)`: the owner ran DDL on these namespaces (this node's views and
        catalog catch up)."""
        self.is_namespace = is_namespace
        self.index_tables = index_tables
        self.changed = changed
        self.node: View | None = None  # set when the server or connection joins a cluster
        self._pool: PgPool | None = None
        self._door = "wire"  # the label of elacsym_forwarded_writes_total

    def join(self, node: View, secret: str | None, door: str = "wire") -> None:
        """Forward to the members `node` sees (as one of them, or as an embedded
        connection: `door` "embedded"); `secret`: the cluster secret, when members check
        passwords (decision 0084)."""
        self.node, self._door = node, door
        self._pool = PgPool(node, secret, forwarded_error)

    def close(self) -> None:
        """Close the pooled connections to other members."""
        if self._pool is not None:
            self._pool.close()

    def run(
        self, stmt: Statement, text: str | None, params: Sequence[Any], state: SessionState
    ) -> Outcome | None:
        """The owner's outcome of this statement, or None when it is to be run here.
        `text`: the statement as the client sent it (None: not to be sent as it is)."""
        if text is None or not self._may_forward(state):
            return None
        functions = self._door != "embedded"  # an embedded caller's files are its own
        names = written_namespaces(stmt, self.is_namespace, self.index_tables, functions)
        if names is None or not self._owned_elsewhere(names):
            return None
        user = _user(state)
        answer = self._send(names[0], lambda pool, to: pool.execute(to, user, text, params))
        if answer is None:
            return None
        if not isinstance(stmt.tree, exp.Insert | exp.Update | exp.Delete):
            self.changed(names)
        if answer.fields:
            return Outcome("rows", answer.tag.split()[0], answer.count, RelayedRows(answer))
        if answer.count >= 0:  # INSERT 0 n, UPDATE n, DELETE n, SELECT n (CREATE TABLE AS)
            return Outcome("count", answer.tag.split()[0], answer.count)
        return Outcome("none", answer.tag)

    def copy(self, namespace: str, text: str, data: bytes, state: SessionState) -> int | None:
        """COPY FROM STDIN (`text`, as the client sent it, and its `data`) run by the
        namespace's owner: the rows it copied; None when it is to be run here."""
        if not self._may_forward(state) or not self.is_namespace(namespace):
            return None
        if not self._owned_elsewhere([namespace]):
            return None
        user = _user(state)
        answer = self._send(namespace, lambda pool, to: pool.copy_in(to, user, text, data))
        return None if answer is None else answer.count

    def _may_forward(self, state: SessionState) -> bool:
        """Whether this session's writes may go to other members at all."""
        if self.node is None or self._pool is None:
            return False
        if state.transaction.active is not None:
            return False  # a block's writes commit together, here (decision 0085)
        # Forwarded to us: ours to write, whatever our view.
        return not is_forwarded(state.settings.values.get("application_name"))

    def _owned_elsewhere(self, names: list[str]) -> bool:
        """Whether one other member owns every namespace of `names` (several owners: the
        statement runs here, decision 0090)."""
        node = self.node
        assert node is not None
        owners = {node.owner_of(name) for name in names}
        return len(owners) == 1 and owner_elsewhere(node, names[0]) is not None

    def _send(self, name: str, request: Callable[[PgPool, Member], Answer]) -> Answer | None:
        """`request` at the owner of `name`, waiting for a new owner when it is unreachable;
        None when this node took the namespace over meanwhile (then it writes here)."""
        node, pool = self.node, self._pool
        assert node is not None and pool is not None
        target: Member | None = owner_elsewhere(node, name)
        deadline: float | None = None  # from the first attempt turned away
        while target is not None:
            if target.address is None:
                raise OwnerUnavailable(
                    f'the owner of namespace "{name}", member {target.node_id}, has not said '
                    "where it listens; nothing was written",
                    hint="retry the write",
                )
            try:
                answer = request(pool, target)
            except NotSent as exc:
                log.warning("owner %s of %s unreachable: %s", target.node_id, name, exc)
                if isinstance(node, ClusterObserver):
                    return None  # an embedded writer writes it itself (safe), not waits
                deadline = deadline or owner_wait_deadline(node)
                target = next_owner(node, name, target, deadline)  # busy, or dead: its successor
                continue
            except ElacsymError:
                FORWARDED.labels(self._door).inc()  # the owner's refusal, answered as ours
                raise
            FORWARDED.labels(self._door).inc()
            return answer
        return None  # this node took the namespace over: write it here


def _user(state: SessionState) -> str:
    """Who the session is: the owner runs the write as the same user, with that user's
    rights and no others (decision 0084)."""
    return state.settings.values.get("session_authorization") or DEFAULT_USER


def forwarded_error(
    sqlstate: str, message: str, detail: str | None, hint: str | None
) -> ElacsymError:
    """The owner's error as ours: same SQLSTATE, message, detail and hint."""
    cls = error_class(sqlstate)
    if cls.sqlstate != sqlstate:  # one no class of ours has: keep it all the same
        cls = type(cls.__name__, (cls,), {"sqlstate": sqlstate})
    return cls(message, detail=detail, hint=hint)

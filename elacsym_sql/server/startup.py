"""A connection's start: SSL/GSS negotiation, CancelRequest, the StartupMessage and its
settings, admission (max_connections, failed-login limit) and authentication (auth.py).

Every refusal is FATAL with Postgres's SQLSTATE and is logged; none says whether a user
exists (decision 0024).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..cluster.forward_login import is_forwarded
from ..errors import ElacsymError, FrameError
from ..sql.session.client_settings import REPORTED
from . import frontend as f
from . import protocol as p
from .auth import ForwardedLogins, Users, authenticate
from .errors import fatal
from .logs import event

if TYPE_CHECKING:
    from .session import Session

# Startup parameters that are not settings.
_NOT_SETTINGS = frozenset(("user", "database", "options", "replication"))


async def start(session: Session) -> bool:
    """Negotiate, admit and authenticate; False: no session (the reason was sent)."""
    body = await _negotiate(session)
    if body is None:
        return False
    server = session.server
    if not server.admit(session):
        return await _refuse(session, "53300", "sorry, too many clients already")
    params = f.startup_parameters(body)
    session.user = params.get("user", "elacsym")
    settings = session.state.settings
    settings.configure(server.options.session_settings())
    given = {k: v for k, v in params.items() if k not in _NOT_SETTINGS}
    try:
        given.update(f.startup_options(params.get("options", "")))
        for name, value in given.items():
            if settings.is_client_setting(name):
                settings.set(name, value)
    except ElacsymError as exc:
        return await _refuse(session, exc.sqlstate, exc.message)
    if server.login_guard.refused(session.address):
        message = "too many failed authentication attempts from this address; try again later"
        return await _refuse(session, "28000", message)
    try:
        await authenticate(session, server.auth, _logins(session), session.user)
    except FrameError:
        raise  # the byte stream broke: the session ends (FATAL), no login failure counted
    except ElacsymError as exc:  # AuthFailed, or a message that did not decode
        sqlstate, message = exc.sqlstate, exc.message
        failures = server.login_guard.failed(session.address)
        event(logging.WARNING, "auth_failed", "authentication failed", pid=session.pid,
              address=session.address, user=session.user, sqlstate=sqlstate,
              failures=failures)  # fmt: skip
        return await _refuse(session, sqlstate, message)
    session.authenticated = True
    if is_forwarded(settings.values.get("application_name")):
        session.pool = server.forwarded_pool  # never behind the clients' (listener.py)
    settings.values["session_authorization"] = session.user
    session.state.database = params.get("database") or session.user  # Postgres's default
    read_dirs = session.server.user_read_dirs.get(session.user, ())
    session.state.access = session.db.file_access.reading(read_dirs)  # sql/session/sandbox.py
    settings.changed.clear()
    # Logged in: said at once, as Postgres does before its backend starts. The session's
    # start below may wait for a busy server's threads; a forwarding member can tell that
    # from a server that never answers (cluster/pg_forward.py).
    session.send(p.AUTH_OK)
    await session.flush()
    await session.run_sync(session.state.sync_variables, session.cur)
    pid = f"SET VARIABLE elacsym_backend_pid = {int(session.pid)}"  # pg_backend_pid()
    await session.run_sync(session.cur.execute, pid)
    for name in REPORTED:
        session.send(p.parameter_status(name, settings.values[name]))
    session.send(p.backend_key_data(session.pid, session.secret))
    session.ready()
    await session.flush()
    return True


def _logins(session: Session) -> Users | ForwardedLogins | None:
    """What a login is checked against: the users file, or for a member forwarding a
    client's write (its application_name says so) the cluster secret (decision 0084)."""
    server = session.server
    if server.forwarded_logins is not None and is_forwarded(
        session.state.settings.values.get("application_name")
    ):
        return server.forwarded_logins
    return server.users


async def _negotiate(session: Session) -> bytes | None:
    """TLS or not, until a StartupMessage (its body) or a CancelRequest (None)."""
    while True:
        code, body = await f.read_startup(session.reader)
        if code == f.SSL_REQUEST and session.server.tls is not None and not session.tls:
            session.writer.write(b"S")
            await session.writer.drain()
            await session.writer.start_tls(session.server.tls)
            session.tls = True
            continue
        if code in (f.SSL_REQUEST, f.GSSENC_REQUEST):
            session.writer.write(b"N")  # no TLS here: the client may go on in plain text
            await session.writer.drain()
            continue
        if code == f.CANCEL_REQUEST:
            pid, secret = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            await session.server.cancel_request(pid, secret)
            session.ended = "cancel request"
            return None
        if code >> 16 != 3:
            version = f"{code >> 16}.{code & 0xFFFF}"
            await _refuse(session, "0A000", f"unsupported frontend protocol {version}")
            return None
        return body


async def _refuse(session: Session, sqlstate: str, message: str) -> bool:
    session.send(fatal(sqlstate, message))
    await session.flush()
    session.ended = f"refused {sqlstate}"
    return False

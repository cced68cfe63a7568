"""Client authentication: trust, cleartext password, or SCRAM-SHA-256 (RFC 5802 / 7677, as
Postgres speaks it over SASL), against users read from a TOML file:

    [users]
    alice = "a password"                       # kept in memory as a SCRAM verifier
    bob = "SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>"   # Postgres's verifier form

A wrong password and an unknown user fail alike (FATAL 28P01), with the same message and
the same work: an unknown user is checked against a made-up verifier with the same
iterations, through the whole exchange, in every mode (decision 0024).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..cluster.forward_login import forward_password
from ..errors import AuthFailed
from . import frontend as f
from . import protocol as p

if TYPE_CHECKING:
    from .session import Session

AuthMode = Literal["trust", "password", "scram"]
ITERATIONS = 4096
_MECHANISM = "SCRAM-SHA-256"


@dataclass(frozen=True)
class Verifier:
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def from_password(cls, password: str, salt: bytes | None = None) -> Verifier:
        salt = salt if salt is not None else secrets.token_bytes(16)
        salted = _salted(password, salt, ITERATIONS)
        client_key = _hmac(salted, b"Client Key")
        return cls(salt, ITERATIONS, _h(client_key), _hmac(salted, b"Server Key"))

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64 parts."""
        try:
            mech, rest = text.split("$", 1)
            head, keys = rest.split("$", 1)
            iterations, salt = head.split(":", 1)
            stored, server = keys.split(":", 1)
            if mech != _MECHANISM:
                raise ValueError(mech)
            b64 = base64.b64decode
            return cls(b64(salt), int(iterations), b64(stored), b64(server))
        except ValueError as exc:
            raise ValueError(f"not a SCRAM-SHA-256 verifier: {exc}") from None

    def text(self) -> str:
        b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
        return (
            f"{_MECHANISM}${self.iterations}:{b64(self.salt)}$"
            f"{b64(self.stored_key)}:{b64(self.server_key)}"
        )

    def accepts(self, password: str) -> bool:
        salted = _salted(password, self.salt, self.iterations)
        return hmac.compare_digest(_h(_hmac(salted, b"Client Key")), self.stored_key)


class Users:
    def __init__(self, verifiers: dict[str, Verifier]) -> None:
        self._verifiers = verifiers
        self._decoy_salt = secrets.token_bytes(16)
        # Decoys cost what most real checks cost (Postgres verifiers may use other counts).
        counts = Counter(v.iterations for v in verifiers.values())
        self._decoy_iterations = counts.most_common(1)[0][0] if counts else ITERATIONS

    @classmethod
    def load(cls, path: str | Path) -> Users:
        with open(path, "rb") as f:
            data = tomllib.load(f)
        users = data.get("users")
        if not isinstance(users, dict) or not all(isinstance(v, str) for v in users.values()):
            raise ValueError(f'{path}: wants a [users] table of name = "password" entries')
        return cls(
            {
                name: Verifier.parse(v)
                if v.startswith(_MECHANISM + "$")
                else (Verifier.from_password(v))
                for name, v in users.items()
            }
        )

    def checked(self, user: str) -> Verifier:
        """The verifier a login as `user` is checked against: theirs, or a decoy."""
        return self._verifiers.get(user) or self.decoy(user)

    def decoy(self, user: str) -> Verifier:
        """A verifier no password matches, stable per user name (so retries look alike)."""
        salt = hashlib.sha256(self._decoy_salt + user.encode()).digest()[:16]
        iterations = self._decoy_iterations
        return Verifier(salt, iterations, secrets.token_bytes(32), secrets.token_bytes(32))


class ForwardedLogins:
    """Logins of cluster members forwarding a client's write (decision 0084): the client's
    user name, checked against the password the cluster secret makes for that name."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._verifiers: dict[str, Verifier] = {}

    def checked(self, user: str) -> Verifier:
        verifier = self._verifiers.get(user)
        if verifier is None:
            salt = hashlib.sha256(b"elacsym-forward-salt\x00" + user.encode()).digest()[:16]
            verifier = Verifier.from_password(forward_password(self._secret, user), salt)
            self._verifiers[user] = verifier
        return verifier


async def authenticate(
    session: Session, mode: AuthMode, users: Users | ForwardedLogins | None, user: str
) -> None:
    """Run the exchange; raises AuthFailed. Trust asks nothing."""
    if mode == "trust":
        return
    assert users is not None
    if mode == "password":
        session.send(p.message(b"R", struct.pack("!i", 3)))  # AuthenticationCleartextPassword
        await session.flush()
        body = await _password_message(session)
        password = body.rstrip(b"\x00").decode("utf-8", "replace")
        if not users.checked(user).accepts(password):
            raise AuthFailed(f'password authentication failed for user "{user}"')
        return
    await _scram(session, users.checked(user), user)


async def _password_message(session: Session) -> bytes:
    """The body of the next message: the session reads only password messages yet."""
    return (await session.read_message()).body


async def _scram(session: Session, verifier: Verifier, user: str) -> None:
    session.send(p.message(b"R", struct.pack("!i", 10) + p.cstr(_MECHANISM) + b"\x00"))
    await session.flush()
    r = f.Reader(await _password_message(session))  # SASLInitialResponse
    if r.cstring() != _MECHANISM:
        raise AuthFailed("client selected an invalid SASL authentication mechanism", "08P01")
    length = r.int32()
    client_first = f.utf8(r.raw(length)) if length >= 0 else ""
    gs2, bare = _split_gs2(client_first)
    client_nonce = _attributes(bare).get("r", "")
    if not client_nonce:
        raise AuthFailed("malformed SCRAM message (no nonce)", "08P01")
    nonce = client_nonce + base64.b64encode(secrets.token_bytes(18)).decode()
    salt = base64.b64encode(verifier.salt).decode()
    server_first = f"r={nonce},s={salt},i={verifier.iterations}"
    session.send(p.message(b"R", struct.pack("!i", 11) + server_first.encode()))
    await session.flush()
    client_final = f.utf8(await _password_message(session))  # SASLResponse
    attrs = _attributes(client_final)
    without_proof, _, _ = client_final.rpartition(",p=")
    if attrs.get("r") != nonce or attrs.get("c") != base64.b64encode(gs2.encode()).decode():
        raise AuthFailed("malformed SCRAM message (nonce or channel binding mismatch)", "08P01")
    try:
        proof = base64.b64decode(attrs.get("p", ""), validate=True)
    except ValueError:
        raise AuthFailed("malformed SCRAM message (invalid proof)", "08P01") from None
    auth_message = f"{bare},{server_first},{without_proof}".encode()
    signature = _hmac(verifier.stored_key, auth_message)
    if len(proof) != len(signature) or not hmac.compare_digest(
        _h(bytes(a ^ b for a, b in zip(proof, signature, strict=True))), verifier.stored_key
    ):
        raise AuthFailed(f'password authentication failed for user "{user}"')
    server_signature = base64.b64encode(_hmac(verifier.server_key, auth_message)).decode()
    session.send(p.message(b"R", struct.pack("!i", 12) + f"v={server_signature}".encode()))


def _split_gs2(message: str) -> tuple[str, str]:
    """('n,,', 'n=,r=...') from a client-first message; no channel binding is offered."""
    parts = message.split(",", 2)
    if len(parts) != 3 or parts[0] not in ("n", "y"):
        raise AuthFailed("malformed SCRAM message (channel binding flag)", "08P01")
    return f"{parts[0]},{parts[1]},", parts[2]


def _attributes(message: str) -> dict[str, str]:
    out = {}
    for item in message.split(","):
        key, sep, value = item.partition("=")
        if sep:
            out.setdefault(key, value)
    return out


def _salted(password: str, salt: bytes, iterations: int) -> bytes:
    # SASLprep is skipped: for ASCII passwords it is the identity (as in Postgres, which
    # also uses the raw bytes when SASLprep fails).
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()

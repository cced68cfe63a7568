"""How a member logs in to another to forward a client's write when the servers check
passwords (decision 0084): as the client's own user, with a password derived from the
cluster secret and that user name. Only a holder of the secret can make it, it proves
nothing about any other user, and the session it opens has that user's rights only."""

from __future__ import annotations

import hashlib
import hmac

#: The application_name of a forwarding connection: its statements are written where they
#: arrive (no ping-pong between two members whose views differ for a moment), and with a
#: cluster secret its login is checked against forward_password().
FORWARDED_PREFIX = "elacsym-forwarded-by-"
#: The HTTP header of a request another member forwarded (its node id): run where it arrives.
FORWARDED_BY_HEADER = "x-elacsym-forwarded-by"


def forward_password(secret: str, user: str) -> str:
    """The password a forwarding member gives for `user`."""
    digest = hmac.new(secret.encode(), b"elacsym-forward\x00" + user.encode(), hashlib.sha256)
    return digest.hexdigest()


def is_forwarded(application_name: str | None) -> bool:
    return (application_name or "").startswith(FORWARDED_PREFIX)

"""The identity provider's own credential: a long random bearer token, issued by an admin.

Only its SHA-256 is stored (``ScimCredential``); a presented token is hashed and compared in
constant time. It opens /scim/v2 and nothing else (the Cognito guard refuses it as a JWT), and
a Cognito token opens nothing here. Every refusal has the same text, and no token is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from chalicelib.core.errors import Unauthorized
from chalicelib.core.ports import ScimCredential

TOKEN_PREFIX = "fgscim_"  # so a leaked token is recognisable (secret scanners, logs)
TOKEN_BYTES = 32  # 256 bits of randomness
MAX_PRESENTED = 512  # longer is no token we issued: refused before hashing
REFUSED = "invalid or missing SCIM token"


def new_token() -> str:
    """A fresh token: the prefix and 43 URL-safe characters."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check(authorization: str | None, credential: ScimCredential) -> None:
    """Pass an ``Authorization: Bearer <token>`` with the current token; ``Unauthorized`` else."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_PRESENTED:
        raise Unauthorized(REFUSED)
    stored = credential.digest()
    # compare_digest: the time taken says nothing of how much of the digest matched
    if stored is None or not hmac.compare_digest(digest(token).encode(), stored.encode()):
        raise Unauthorized(REFUSED)

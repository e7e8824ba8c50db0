"""Bearer tokens from the Cognito user pool, verified here, and the groups they grant.

Deployed stages put a Cognito authorizer in front of the API as well; verifying the
token in our own code too means one path offline and online: signature against the
pool's published keys, issuer, expiry, token use and app client.

A signature never shows that the user signed out, was disabled or left a group since the
token was issued (it stays valid for an hour). So every access token is also checked against
the pool, at most ``recheck_seconds`` apart per token and container; id tokens cannot be
checked that way and are refused.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.core.config import AuthSettings
from chalicelib.core.errors import Forbidden, KeysUnavailable, TokenRevoked, Unauthorized
from chalicelib.core.ports import UserPool

log = logging.getLogger(__name__)

ADMINS = "admins"
SECURITY = "security"
CLOCK_SKEW_SECONDS = 30


MAX_CHECKED_TOKENS = 1024  # a container serves a few people; bound the memory all the same


@dataclass(frozen=True)
class Principal:
    username: str
    groups: frozenset[str]


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        raise Unauthorized("missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()


def require(principal: Principal, *groups: str) -> None:
    """Raise ``Forbidden`` unless the principal is in one of ``groups``."""
    if not principal.groups.intersection(groups):
        raise Forbidden(f"this needs membership of: {' or '.join(groups)}")


@dataclass(frozen=True)
class _Check:
    at: float
    groups: frozenset[str] = frozenset()
    refusal: str = ""  # why the pool refused the token, if it did


class TokenVerifier:
    """Verifies Cognito access tokens against the pool's JWKS (cached) and the pool itself."""

    def __init__(
        self, settings: AuthSettings, pool: UserPool, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._clock = clock
        self._keys: Any = None
        self._checked: dict[bytes, _Check] = {}
        self._lock = threading.Lock()

    def principal(self, token: str) -> Principal:
        """Who presents ``token``; raises ``Unauthorized`` for anything not quite right."""
        claimed = self._claimed(token)
        # Groups both in the token and in the pool now: a group left since is not kept,
        # and one joined since waits for the next token.
        return Principal(claimed.username, claimed.groups & self._current_groups(token))

    def _claimed(self, token: str) -> Principal:
        import jwt

        if not self._settings.user_pool_id:
            raise Unauthorized("no user pool is configured for this API")
        if not self._settings.client_id:  # else a token of any app client of the pool would pass
            raise Unauthorized("no app client is configured for this API")
        try:
            header = jwt.get_unverified_header(token)
            key = self._signing_key(str(header.get("kid", "")))
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self._settings.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "iss", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except (jwt.PyJWTError, UnicodeError) as error:  # a lone surrogate cannot even be encoded
            # The library's text quotes the token's own bytes back ("can't decode byte 0xb7 …"):
            # the caller hears only that it is invalid, the log says which check refused it.
            log.info("token refused: %s", type(error).__name__)
            raise Unauthorized("invalid token") from None
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        token_use = claims.get("token_use")
        if token_use == "id":
            raise Unauthorized("send the access token: an id token cannot be checked for sign-out")
        if token_use != "access":
            raise Unauthorized("token is not an access token")
        if claims.get("client_id") != self._settings.client_id:
            raise Unauthorized("token was issued to another app client")
        username = claims.get("username") or claims.get("cognito:username") or claims.get("sub")
        groups = claims.get("cognito:groups") or []
        if not isinstance(username, str) or not isinstance(groups, list):
            raise Unauthorized("token claims are malformed")
        return Principal(username, frozenset(str(group) for group in groups))

    def _current_groups(self, token: str) -> frozenset[str]:
        """The pool's answer for ``token``, asked again once it is ``recheck_seconds`` old."""
        key = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        with self._lock:
            check = self._checked.get(key)
        if check is None or now - check.at >= self._settings.recheck_seconds:
            try:
                check = _Check(now, groups=self._pool.current_groups(token))
            except TokenRevoked as refused:  # remembered too: a revoked token stays revoked
                check = _Check(now, refusal=str(refused))
            self._remember(key, check)
        if check.refusal:
            raise TokenRevoked(check.refusal)
        return check.groups

    def _remember(self, key: bytes, check: _Check) -> None:
        with self._lock:
            if len(self._checked) >= MAX_CHECKED_TOKENS:
                fresh = check.at - self._settings.recheck_seconds
                self._checked = {k: c for k, c in self._checked.items() if c.at > fresh}
                if len(self._checked) >= MAX_CHECKED_TOKENS:
                    self._checked.clear()
            self._checked[key] = check

    def _signing_key(self, kid: str) -> Any:
        import jwt

        with self._lock:
            if self._keys is None:
                self._keys = jwt.PyJWKClient(
                    self._settings.keys_url, cache_keys=True, lifespan=3600, timeout=5
                )
        try:
            return self._keys.get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError as error:
            raise KeysUnavailable(f"could not fetch the user pool's keys: {error}") from None
        except jwt.PyJWKClientError:
            raise Unauthorized("token signed with an unknown key") from None

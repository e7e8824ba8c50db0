"""Bearer tokens from the Cognito user pool, verified here, and the groups they grant.

Deployed stages put a Cognito authorizer in front of the API as well; verifying the
token in our own code too means one path offline and online: signature against the
pool's published keys, issuer, expiry, token use and app client.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from chalicelib.config import AuthSettings

ADMINS = "admins"
SECURITY = "security"
CLOCK_SKEW_SECONDS = 30


class Unauthorized(Exception):
    """No usable token: 401."""


class Forbidden(Exception):
    """A valid token without the group the action needs: 403."""


class KeysUnavailable(Exception):
    """The pool's public keys could not be fetched: 503 (never a pass)."""


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


class TokenVerifier:
    """Verifies Cognito JWTs against the pool's JWKS (fetched once, then cached)."""

    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings
        self._keys: Any = None
        self._lock = threading.Lock()

    def principal(self, token: str) -> Principal:
        """Who presents ``token``; raises ``Unauthorized`` for anything not quite right."""
        import jwt

        if not self._settings.user_pool_id:
            raise Unauthorized("no user pool is configured for this API")
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
        except jwt.PyJWTError as error:
            raise Unauthorized(f"invalid token: {error}") from None
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        token_use = claims.get("token_use")
        if token_use == "access":
            client = claims.get("client_id")
        elif token_use == "id":
            client = claims.get("aud")
        else:
            raise Unauthorized("token is neither an access nor an id token")
        if self._settings.client_id and client != self._settings.client_id:
            raise Unauthorized("token was issued to another app client")
        username = claims.get("username") or claims.get("cognito:username") or claims.get("sub")
        groups = claims.get("cognito:groups") or []
        if not isinstance(username, str) or not isinstance(groups, list):
            raise Unauthorized("token claims are malformed")
        return Principal(username, frozenset(str(group) for group in groups))

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

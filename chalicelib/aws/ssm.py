"""An SSM parameter as a ``ScimCredential``: the SHA-256 of the identity provider's SCIM token.

Only the digest is kept (a SecureString all the same: whoever reads it learns nothing to
present, but need not learn when it changed). A parameter that does not exist yet means no
token was ever issued: every SCIM request is refused until an admin issues one.
"""

from __future__ import annotations

from typing import Any


class SsmScimCredential:
    """``GetParameter`` (decrypted) and ``PutParameter`` (overwrite) of one parameter."""

    def __init__(self, client: Any, name: str) -> None:
        self._ssm = client
        self._name = name

    def digest(self) -> str | None:
        try:
            answer = self._ssm.get_parameter(Name=self._name, WithDecryption=True)
        except self._ssm.exceptions.ParameterNotFound:
            return None
        value = answer.get("Parameter", {}).get("Value")
        return value if isinstance(value, str) and value else None

    def store(self, digest: str) -> None:
        self._ssm.put_parameter(
            Name=self._name,
            Value=digest,
            Type="SecureString",
            Overwrite=True,
            Description="SHA-256 of the SCIM token of facegate's identity provider (never the token)",
        )

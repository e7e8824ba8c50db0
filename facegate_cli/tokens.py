"""Cognito tokens for the CLI: log in with SRP, keep them in a user-only file, refresh them.

The file is ``$FACEGATE_TOKEN_FILE``, else ``tokens-<stage>.json`` in ``$XDG_CONFIG_HOME/facegate``
(``~/.config/facegate``): mode 0600 in a 0700 folder, replaced whole on every write so a
reader never sees half a file. The password never reaches the disk, nor Cognito (SRP).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facegate_cli.errors import CliError
from facegate_cli.stages import Stage

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

REFRESH_MARGIN_SECONDS = 60  # refresh first when the access token expires sooner than this
SANDBOX_CREDENTIALS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
# Cognito's answers to a wrong password, an unknown user (without user-existence hiding) and
# a disabled user: all the same to the person typing.
REFUSALS = ("NotAuthorizedException", "UserNotFoundException")


class NotLoggedIn(CliError):
    """No tokens for the stage, or Cognito refused the refresh token."""

    def __init__(self, stage: str, why: str = "") -> None:
        suffix = f" ({why})" if why else ""
        super().__init__(f"not logged in to {stage}{suffix}: run facegate login")


class LoginFailed(CliError):
    """Cognito refused the sign-in; the message says why, in Cognito's words where useful."""

    exit_code = 1


class NewPasswordRequired(LoginFailed):
    """A user made with a temporary password must choose a new one first."""


def token_file(stage_name: str, environ: Mapping[str, str] = os.environ) -> Path:
    if environ.get("FACEGATE_TOKEN_FILE"):
        return Path(environ["FACEGATE_TOKEN_FILE"])
    config = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "facegate" / f"tokens-{stage_name}.json"


def cognito(stage: Stage) -> CognitoIdentityProviderClient:
    """A Cognito client for the stage's pool: local AWS for the sandbox, else unsigned.

    Sign-in, refresh and revocation are public calls of a pool's app client: they need no AWS
    credentials, so an admin without any can still log in.
    """
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=10, read_timeout=30)
    if stage.cognito_endpoint:
        return boto3.client(
            "cognito-idp",
            endpoint_url=stage.cognito_endpoint,
            region_name="us-east-1",
            config=config,
            aws_access_key_id=SANDBOX_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=SANDBOX_CREDENTIALS["aws_secret_access_key"],
        )
    from botocore import UNSIGNED

    return boto3.client(
        "cognito-idp", region_name=stage.region, config=config.merge(Config(signature_version=UNSIGNED))
    )


def log_in(
    stage: Stage,
    username: str,
    password: str,
    new_password: Callable[[], str] | None = None,
    mfa_code: Callable[[], str] | None = None,
    path: Path | None = None,
) -> dict[str, Any]:
    """Sign in with SRP (choosing ``new_password()`` if Cognito asks, answering a TOTP
    challenge with ``mfa_code()``) and store the tokens."""
    from botocore.exceptions import BotoCoreError, ClientError
    from pycognito.aws_srp import AWSSRP
    from pycognito.exceptions import (
        ForceChangePasswordException,
        SoftwareTokenMFAChallengeException,
        WarrantException,
    )

    client = cognito(stage)
    srp = AWSSRP(username, password, stage.user_pool_id, stage.client_id, client=client)
    try:
        try:
            answer = srp.authenticate_user()
        except ForceChangePasswordException:
            if new_password is None:
                raise NewPasswordRequired(
                    f"{username} has a temporary password: choose a new one (--new-password-stdin)"
                ) from None
            answer = srp.set_new_password_challenge(new_password())
        except SoftwareTokenMFAChallengeException as challenge:  # MFA on, as admins should have
            if mfa_code is None:
                raise LoginFailed(
                    f"{username} has MFA: give the authenticator's code (--mfa-code-stdin)"
                ) from None
            answer = client.respond_to_auth_challenge(
                ClientId=stage.client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                Session=challenge.get_tokens()["Session"],
                ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": mfa_code()},
            )
    except ClientError as error:
        raise LoginFailed(_refusal(error)) from None
    except BotoCoreError as error:  # no network, no such endpoint
        raise LoginFailed(f"cannot reach Cognito: {error}") from None
    except (WarrantException, NotImplementedError) as error:  # SMS MFA, device challenges
        raise LoginFailed(f"Cognito asks for a step facegate cannot answer: {error}") from None
    if "AuthenticationResult" not in answer:  # MFA and the like: not for this CLI
        raise LoginFailed(f"Cognito asks for {answer.get('ChallengeName')}, which facegate cannot answer")
    result = answer["AuthenticationResult"]
    stored = {
        "stage": stage.name,
        "api_url": stage.api_url,  # the one API these tokens are ever sent to
        "client_id": stage.client_id,
        "username": username,
        "access_token": result["AccessToken"],
        "id_token": result.get("IdToken"),
        "refresh_token": result["RefreshToken"],
    }
    write_private(path or token_file(stage.name), stored)
    return stored


def log_out(stage: Stage, path: Path | None = None) -> bool:
    """Revoke the refresh token if Cognito will, delete the file; False if there was none."""
    path = path or token_file(stage.name)
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return False
    except ValueError:
        stored = {}
    # moto has no RevokeToken (it would log a traceback on the sandbox's console).
    if stored.get("refresh_token") and not stage.cognito_endpoint:
        # Best effort: offline, or a pool without revocation, must not keep the file around.
        with contextlib.suppress(Exception):
            cognito(stage).revoke_token(Token=stored["refresh_token"], ClientId=stage.client_id)
    path.unlink(missing_ok=True)
    return True


class StoredTokens:
    """The stage's stored tokens as a ``facegate_cli.client.TokenSource``; safe across threads."""

    def __init__(self, stage: Stage, path: Path | None = None) -> None:
        self.stage = stage
        self.path = path or token_file(stage.name)
        self._lock = threading.Lock()

    def access_token(self) -> str:
        with self._lock:
            stored = self._load()
            if expires_within(stored["access_token"], REFRESH_MARGIN_SECONDS):
                stored = self._refresh(stored)
            return str(stored["access_token"])

    def refreshed(self) -> str:
        with self._lock:
            return str(self._refresh(self._load())["access_token"])

    def claims(self) -> dict[str, Any]:
        """The stored access token's claims (unverified: for showing, not for trusting)."""
        return claims_of(self.access_token())

    def _load(self) -> dict[str, Any]:
        try:
            stored: dict[str, Any] = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise NotLoggedIn(self.stage.name) from None
        except ValueError:
            raise NotLoggedIn(self.stage.name, f"{self.path} is not a token file") from None
        if not stored.get("access_token") or not stored.get("refresh_token"):
            raise NotLoggedIn(self.stage.name, f"{self.path} holds no tokens")
        if stored.get("client_id") != self.stage.client_id:  # a new sandbox, a rebuilt pool
            raise NotLoggedIn(self.stage.name, "the stored tokens are for another user pool")
        if stored.get("api_url") != self.stage.api_url:  # FACEGATE_API_URL pointing elsewhere
            raise NotLoggedIn(
                self.stage.name,
                f"the stored tokens were issued for {stored.get('api_url')}, not {self.stage.api_url}",
            )
        return stored

    def _refresh(self, stored: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = cognito(self.stage).initiate_auth(
                ClientId=self.stage.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": stored["refresh_token"]},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in REFUSALS:
                raise NotLoggedIn(self.stage.name, "the session has expired or was revoked") from None
            why = _refusal(error)
            raise CliError(f"the stage's user pool refused to refresh the session: {why}") from None
        except BotoCoreError as error:  # no network, no such endpoint: no traceback for that
            pool = self.stage.user_pool_id
            raise CliError(f"cannot reach the stage's user pool ({pool}): {error}") from None
        result = answer["AuthenticationResult"]
        stored = {
            **stored,
            "access_token": result["AccessToken"],
            "id_token": result.get("IdToken", stored.get("id_token")),
            # Cognito returns a new refresh token only when rotation is on.
            "refresh_token": result.get("RefreshToken") or stored["refresh_token"],
        }
        write_private(self.path, stored)
        return stored


def write_private(path: Path, value: object) -> None:
    """``value`` as JSON at ``path``, readable by this user only, replaced in one step.

    A new folder is made 0700; a folder others may write in is refused unless it is sticky
    (as ``/tmp``): whoever can write there could swap the file. Nothing is ever chmod'ed,
    so pointing ``FACEGATE_TOKEN_FILE`` at the home folder leaves the home folder alone.
    The partial file gets a fresh name, 0600 from its creation (``mkstemp``), so a link
    planted in advance is not followed.
    """
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = folder.stat().st_mode
    if stat.S_IMODE(mode) & 0o022 and not mode & stat.S_ISVTX:
        raise CliError(
            f"{folder} can be written by other users: keep the token file in a folder only you can write"
        )
    descriptor, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(descriptor, "w") as out:
            json.dump(value, out, indent=2)
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's payload, not verified (the API verifies; this only reads ``exp``)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def expires_within(token: str, seconds: float, now: float | None = None) -> bool:
    """True when ``token`` expires within ``seconds`` (or its expiry cannot be read)."""
    exp = claims_of(token).get("exp")
    if not isinstance(exp, int | float):
        return True
    return exp - (time.time() if now is None else now) < seconds


def _refusal(error: Any) -> str:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    if code in REFUSALS:
        return f"login refused: {message or 'incorrect username or password'}"
    return f"login failed: {code}: {message}"

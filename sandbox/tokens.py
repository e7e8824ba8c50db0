"""Bearer tokens for the sandbox API: real JWTs issued by the local Cognito user pool."""

from __future__ import annotations

import contextlib
import secrets
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

GROUPS = ("admins", "security")


def issue_token(
    cognito: CognitoIdentityProviderClient,
    pool_id: str,
    client_id: str,
    group: str,
    username: str | None = None,
) -> str:
    """Create (or reuse) a user in ``group``, sign in as them, return their access token."""
    return str(sign_in(cognito, pool_id, client_id, group, username)["AccessToken"])


def create_user(cognito: CognitoIdentityProviderClient, pool_id: str, username: str, group: str) -> str:
    """Create (or reuse) a confirmed user in ``group`` with a new random password; the password."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}")
    password = "Sandbox-" + secrets.token_urlsafe(12) + "1!"
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):  # reuse the user
        cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    return password


def sign_in(
    cognito: CognitoIdentityProviderClient,
    pool_id: str,
    client_id: str,
    group: str,
    username: str | None = None,
) -> dict[str, Any]:
    """Create (or reuse) a user in ``group``, sign in as them: access, id and refresh tokens."""
    username = username or f"sandbox-{group}"
    password = create_user(cognito, pool_id, username, group)
    answer = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return dict(answer["AuthenticationResult"])

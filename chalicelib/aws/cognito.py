"""The Cognito user pool as a ``UserPool``: does an access token still hold, and with which groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import PoolUnavailable, TokenRevoked

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

# GetUser's answers for a token the pool no longer honours; anything else is the pool's trouble.
REFUSALS = {
    "NotAuthorizedException",  # signed out ("Access Token has been revoked"), disabled, expired
    "UserNotFoundException",  # deleted
    "UserNotConfirmedException",
    "PasswordResetRequiredException",
}


class CognitoUserPool:
    """Asks the pool: ``GetUser`` with the token itself, then ``AdminListGroupsForUser``.

    ``GetUser`` is authorised by the access token (no IAM permission): Cognito refuses it for a
    globally signed-out token and a disabled or deleted user. Groups need the admin call
    (IAM: cognito-idp:AdminListGroupsForUser on the pool).
    """

    def __init__(self, client: CognitoIdentityProviderClient, user_pool_id: str) -> None:
        self._cognito = client
        self._pool_id = user_pool_id

    def current_groups(self, access_token: str) -> frozenset[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            username = str(self._cognito.get_user(AccessToken=access_token)["Username"])
            groups: set[str] = set()
            params: dict[str, Any] = {"UserPoolId": self._pool_id, "Username": username, "Limit": 60}
            while True:
                page = self._cognito.admin_list_groups_for_user(**params)
                groups.update(str(group["GroupName"]) for group in page.get("Groups", []))
                if not page.get("NextToken"):
                    return frozenset(groups)
                params["NextToken"] = page["NextToken"]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in REFUSALS:
                raise TokenRevoked("token revoked: the user signed out, or was disabled or removed") from None
            raise PoolUnavailable(f"could not check the token with the user pool: {code}") from None
        except BotoCoreError as error:
            raise PoolUnavailable(f"could not reach the user pool: {type(error).__name__}") from None

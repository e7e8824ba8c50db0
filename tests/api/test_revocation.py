"""A user signed out, disabled, deleted or taken out of their group loses access within 30 s.

Against the sandbox's Cognito (moto): its GetUser refuses a signed-out token and a disabled
user as Cognito does. The verifier's clock is injected, so the window is tested without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from botocore.stub import Stubber

from chalicelib import wiring
from chalicelib.auth.tokens import ADMINS, TokenVerifier, require
from chalicelib.aws.cognito import CognitoUserPool
from chalicelib.core.errors import ConfigError, Forbidden, PoolUnavailable, TokenRevoked
from sandbox.stack import Stack
from tests.api.conftest import Api

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

USER = "riley"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(
    stack: Stack, clock: Clock, cognito: CognitoIdentityProviderClient | None = None
) -> TokenVerifier:
    pool = CognitoUserPool(cognito or stack.cognito, stack.names["user_pool_id"])
    return TokenVerifier(stack.settings.auth, pool, clock)


def _sign_out(stack: Stack) -> None:
    stack.cognito.admin_user_global_sign_out(UserPoolId=stack.names["user_pool_id"], Username=USER)


def _disable(stack: Stack) -> None:
    stack.cognito.admin_disable_user(UserPoolId=stack.names["user_pool_id"], Username=USER)


def _delete(stack: Stack) -> None:
    stack.cognito.admin_delete_user(UserPoolId=stack.names["user_pool_id"], Username=USER)


def _leave_admins(stack: Stack) -> None:
    stack.cognito.admin_remove_user_from_group(
        UserPoolId=stack.names["user_pool_id"], Username=USER, GroupName="admins"
    )


REVOCATIONS: dict[str, Callable[[Stack], None]] = {
    "global-sign-out": _sign_out,
    "disabled": _disable,
    "deleted": _delete,
}


@pytest.mark.parametrize("revoke", REVOCATIONS.values(), ids=REVOCATIONS.keys())
def test_a_revoked_token_is_refused_once_its_check_is_30_s_old(
    stack: Stack, revoke: Callable[[Stack], None]
) -> None:
    clock = Clock()
    check = verifier(stack, clock)
    token = stack.token("admins", username=USER)
    assert check.principal(token).groups == {ADMINS}
    revoke(stack)
    clock.now += 29.9  # the answer of 29.9 s ago still holds …
    assert check.principal(token).groups == {ADMINS}
    clock.now += 0.1  # … and at 30 s the pool is asked again
    with pytest.raises(TokenRevoked):
        check.principal(token)
    clock.now += 5  # a refusal is remembered: no second call for the same token
    with pytest.raises(TokenRevoked):
        check.principal(token)


def test_a_user_taken_out_of_their_group_is_forbidden_once_the_check_is_30_s_old(stack: Stack) -> None:
    clock = Clock()
    check = verifier(stack, clock)
    token = stack.token("admins", username=USER)
    require(check.principal(token), ADMINS)
    _leave_admins(stack)
    require(check.principal(token), ADMINS)  # the answer of 0 s ago: still an admin for now
    clock.now += 30
    principal = check.principal(token)
    assert principal.groups == frozenset()  # the token still says admins; the pool does not
    with pytest.raises(Forbidden):
        require(principal, ADMINS)


def test_a_new_token_is_checked_at_once(stack: Stack) -> None:
    """The window is per token: a fresh token never rides on another's answer."""
    clock = Clock()
    check = verifier(stack, clock)
    check.principal(stack.token("admins", username=USER))
    second = stack.token("admins", username=USER)
    _disable(stack)
    with pytest.raises(TokenRevoked):
        check.principal(second)


@pytest.mark.parametrize(
    ("failing_call", "code"),
    [("get_user", "TooManyRequestsException"), ("admin_list_groups_for_user", "AccessDeniedException")],
)
def test_a_pool_that_cannot_answer_fails_closed(stack: Stack, failing_call: str, code: str) -> None:
    token = stack.token("admins", username=USER)
    cognito = stack.session.client("cognito-idp")
    with Stubber(cognito) as stub:
        if failing_call == "admin_list_groups_for_user":
            stub.add_response("get_user", {"Username": USER, "UserAttributes": []}, {"AccessToken": token})
        stub.add_client_error(failing_call, code)
        with pytest.raises(PoolUnavailable):
            verifier(stack, Clock(), cognito).principal(token)


# Over HTTP, through the app's own verifier (built by wiring), with a window of 0 s.


@pytest.fixture
def no_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEGATE_AUTH_RECHECK_SECONDS", "0")


@pytest.mark.parametrize(
    ("revoke", "status"),
    [(_sign_out, 401), (_disable, 401), (_delete, 401), (_leave_admins, 403)],
    ids=["global-sign-out", "disabled", "deleted", "left-admins"],
)
def test_every_write_route_refuses_a_revoked_user(
    api: Api, no_window: None, revoke: Callable[[Stack], None], status: int
) -> None:
    token = api.stack.token("admins", username=USER)
    assert api.call("POST", "/employees", {"employee_id": "E1", "name": "A"}, token=token).status == 201
    revoke(api.stack)
    writes = [
        ("POST", "/employees", {"employee_id": "E2", "name": "B"}),
        ("PATCH", "/employees/E1", {"name": "C"}),
        ("POST", "/employees/E1/faces", {"image": "aGVsbG8="}),
        ("DELETE", "/employees/E1/faces/abc", None),
        ("DELETE", "/employees/E1", None),
        ("GET", "/employees", None),
    ]
    for method, path, body in writes:
        reply = api.call(method, path, body, token=token)
        assert reply.status == status, (method, path, reply.json)
    assert api.call("GET", "/employees/E1", token="admins").json["name"] == "A"  # nothing changed


def test_the_default_window_is_30_s() -> None:
    from chalicelib.core.config import Settings

    assert Settings.from_env({}).auth.recheck_seconds == 30
    with pytest.raises(ConfigError):
        Settings.from_env({"FACEGATE_AUTH_RECHECK_SECONDS": "31"})


def test_an_unreachable_pool_is_503_not_a_pass(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.stack.token("admins", username=USER)
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:9")  # nothing listens
    wiring.reset()
    reply = api.call("POST", "/employees", {"employee_id": "E1", "name": "A"}, token=token)
    assert reply.status == 503 and "user pool" in reply.json["message"]


class CountingPool:
    """A pool that honours every token, counting how often it is asked."""

    def __init__(self) -> None:
        self.asked = 0

    def current_groups(self, access_token: str) -> frozenset[str]:
        self.asked += 1
        return frozenset({ADMINS})


def test_the_pool_is_asked_once_per_token_per_window_and_the_memory_is_bounded(api: Api) -> None:
    from chalicelib.auth.tokens import MAX_CHECKED_TOKENS
    from tests.api.test_auth import moto_signing_key, token_with

    key = moto_signing_key()  # parsed once: it is slow
    clock, pool = Clock(), CountingPool()
    check = TokenVerifier(api.stack.settings.auth, pool, clock)
    first = token_with(api, key)
    for _ in range(3):
        check.principal(first)
    assert pool.asked == 1
    clock.now += 30
    check.principal(first)
    assert pool.asked == 2
    for n in range(MAX_CHECKED_TOKENS + 1):  # as many other tokens within the same window
        check.principal(token_with(api, key, sub=f"user-{n}", username=f"user-{n}"))
    asked = pool.asked
    check.principal(first)  # its answer was dropped to bound the memory: asked again
    assert pool.asked == asked + 1

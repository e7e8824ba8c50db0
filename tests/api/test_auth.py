"""Who may call what: real Cognito JWTs, verified against the pool's keys; groups checked."""

from __future__ import annotations

import gzip
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import wiring
from tests.api.conftest import Api


def moto_signing_key() -> Any:
    """The private key local Cognito signs with (moto ships it), to forge claims we choose."""
    import moto.cognitoidp

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    return jwt.PyJWK.from_dict(json.loads(gzip.decompress(path.read_bytes()))).key


def token_with(api: Api, key: Any = None, **overrides: Any) -> str:
    names = api.stack.names
    now = int(time.time())
    claims = {
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{names['user_pool_id']}",
        "sub": "user-1",
        "client_id": names["user_pool_client_id"],
        "token_use": "access",
        "username": "mallory",
        "cognito:groups": ["admins"],
        "iat": now,
        "exp": now + 600,
        **overrides,
    }
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key or moto_signing_key(), algorithm="RS256", headers={"kid": "dummy"})


def test_health_is_open(api: Api) -> None:
    reply = api.call("GET", "/health", token=None)
    assert reply.status == 200
    assert reply.json == {"status": "ok", "stage": "sandbox", "engine": "local"}


def test_a_missing_token_is_401_with_a_json_message(api: Api) -> None:
    reply = api.call("GET", "/employees", token=None)
    assert reply.status == 401
    assert reply.json == {"message": "missing bearer token"}
    assert reply.headers.get("WWW-Authenticate") == "Bearer"


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", ""])
def test_malformed_tokens_are_401(api: Api, token: str) -> None:
    assert api.call("GET", "/employees", token=token).status == 401


@pytest.mark.parametrize("token", ["\u00b7\u00b7\u00b7.e30.x", "eyJhbGciOiJSUzI1NiJ9\udcb7.e30.x", "a.b.c"])
def test_a_refused_token_is_not_quoted_back(api: Api, token: str) -> None:
    reply = api.call("GET", "/employees", token=token)
    assert (reply.status, reply.json["message"]) == (401, "invalid token")


def test_a_scheme_other_than_bearer_is_401(api: Api) -> None:
    response = api.client.http.get("/employees", headers={"Authorization": f"Basic {api.tokens['admins']}"})
    assert response.status_code == 401


def test_a_token_signed_with_another_key_is_401(api: Api) -> None:
    forged = token_with(api, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    reply = api.call("GET", "/employees", token=forged)
    assert reply.status == 401 and "invalid token" in reply.json["message"]


def test_an_expired_token_is_401(api: Api) -> None:
    expired = token_with(api, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    reply = api.call("GET", "/employees", token=expired)
    assert reply.status == 401 and reply.json["message"] == "token expired"


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"}, "invalid token"),
        ({"client_id": "another-app"}, "another app client"),
        ({"token_use": "refresh"}, "not an access token"),
        ({"token_use": "id", "client_id": None, "aud": "the-client"}, "send the access token"),
        ({"exp": None}, "invalid token"),
    ],
)
def test_tokens_for_another_pool_client_or_use_are_401(
    api: Api, claims: dict[str, Any], message: str
) -> None:
    reply = api.call("GET", "/employees", token=token_with(api, **claims))
    assert reply.status == 401 and message in reply.json["message"]


def test_a_correctly_signed_token_the_pool_never_issued_is_401(api: Api) -> None:
    """Signed with the pool's own key and every claim right, but the pool does not know it."""
    reply = api.call("GET", "/employees", token=token_with(api))
    assert reply.status == 401 and "revoked" in reply.json["message"]


def test_the_pools_own_id_tokens_are_refused(api: Api) -> None:
    """An id token cannot be checked for sign-out (GetUser takes access tokens only)."""
    from sandbox.tokens import sign_in

    names = api.stack.names
    signed_in = sign_in(api.stack.cognito, names["user_pool_id"], names["user_pool_client_id"], "admins")
    assert api.call("GET", "/employees", token=signed_in["AccessToken"]).status == 200
    reply = api.call("GET", "/employees", token=signed_in["IdToken"])
    assert reply.status == 401 and "send the access token" in reply.json["message"]


def test_a_stage_without_an_app_client_refuses_every_token(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Else the client check is skipped, and a token of any app client of the pool passes."""
    monkeypatch.setenv("FACEGATE_USER_POOL_CLIENT_ID", "")
    for token in ("admins", token_with(api, client_id="another-app")):
        reply = api.call("GET", "/employees", token=token)
        assert reply.status == 401 and reply.json["message"] == "no app client is configured for this API"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/employees", {"employee_id": "E1", "name": "A"}),
        ("PATCH", "/employees/E1", {"name": "B"}),
        ("DELETE", "/employees/E1", None),
        ("POST", "/employees/E1/faces", {"image": "aGVsbG8="}),
        ("DELETE", "/employees/E1/faces/abc", None),
    ],
)
def test_security_may_not_change_anything(api: Api, method: str, path: str, body: Any) -> None:
    reply = api.call(method, path, body, token="security")
    assert reply.status == 403
    assert "admins" in reply.json["message"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/employees", 200),
        ("/employees/E1", 200),
        ("/employees/E1/faces", 200),
        ("/employees/E1/scans", 200),
        ("/scans", 200),
        ("/scans/" + "0" * 32, 404),  # past the auth check: the lookup finds no such scan
    ],
)
def test_security_may_read(api: Api, path: str, status: int) -> None:
    api.create("E1")
    reply = api.call("GET", path, token="security")
    assert reply.status == status, reply.json
    if status == 404:
        assert reply.json == {"message": "no scan " + "0" * 32}


def test_a_user_in_no_group_is_403(api: Api) -> None:
    stack = api.stack
    token = stack.token("security", username="nobody")
    stack.cognito.admin_remove_user_from_group(
        UserPoolId=stack.names["user_pool_id"], Username="nobody", GroupName="security"
    )
    reply = api.call("GET", "/scans", token=token)
    assert reply.status == 403


@pytest.fixture
def keys_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The pool's keys at a loopback port nobody listens on; yields the URL they really are at.

    The port stays bound (never listening) for the whole test, so no other test worker's
    server can take it meanwhile: a connection to it is refused."""
    reachable = os.environ["FACEGATE_JWKS_URL"]
    with socket.socket() as unanswered:
        unanswered.bind(("127.0.0.1", 0))
        port = unanswered.getsockname()[1]
        monkeypatch.setenv("FACEGATE_JWKS_URL", f"http://127.0.0.1:{port}/.well-known/jwks.json")
        wiring.reset()  # the verifier caches its key client per container
        yield reachable
        wiring.reset()


def test_unreachable_keys_are_503_and_never_a_pass(api: Api, keys_down: str) -> None:
    admin = api.tokens["admins"]
    writes = {"employee_id": "E9", "name": "A"}
    for method, path, body in [("GET", "/employees", None), ("POST", "/employees", writes)]:
        reply = api.call(method, path, body, token=admin)
        assert reply.status == 503, reply.json
        assert reply.json["message"].startswith("could not fetch the user pool's keys")
    assert api.call("GET", "/health", token=None).status == 200  # only what needs a token is down


def test_the_write_refused_for_want_of_keys_did_not_happen(
    api: Api, keys_down: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.create("E9").status == 503
    monkeypatch.setenv("FACEGATE_JWKS_URL", keys_down)  # the keys are back
    wiring.reset()
    assert api.call("GET", "/employees/E9").status == 404

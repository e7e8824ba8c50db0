"""``facegate login`` / ``logout`` / ``whoami`` against the sandbox's Cognito pool and API.

moto answers SRP's PASSWORD_VERIFIER whatever the signature: a wrong password is only
refused by real Cognito, so here the refusals are an unknown and a disabled user.
"""

from __future__ import annotations

import base64
import json
import stat

import pytest

from facegate_cli.stages import resolve
from facegate_cli.tokens import REFRESH_MARGIN_SECONDS, StoredTokens, expires_within
from tests.cli.conftest import RunCli, ServedSandbox


def test_login_stores_tokens_in_a_user_only_file_and_the_api_accepts_them(
    served_sandbox: ServedSandbox, run_cli: RunCli
) -> None:
    code, out, err = run_cli(
        "login", "--username", "admin", "--password-stdin", stdin=served_sandbox.password + "\n"
    )
    assert (code, err) == (0, ""), err
    assert "logged in to sandbox as admin (groups: admins)" in out
    path = served_sandbox.token_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert {"access_token", "refresh_token", "id_token"} <= set(stored)
    assert served_sandbox.password not in path.read_text()
    assert run_cli("employees", "list") == (0, "EMPLOYEE_ID  NAME  EMAIL  DEPARTMENT  ACTIVE  GROUPS\n", "")


def test_an_unknown_or_disabled_user_is_refused_clearly_and_nothing_is_stored(
    served_sandbox: ServedSandbox, run_cli: RunCli
) -> None:
    code, _, err = run_cli("login", "--username", "nobody", "--password-stdin", stdin="whatever\n")
    assert code == 1 and "login refused" in err, err
    pool = served_sandbox.stack.names["user_pool_id"]
    served_sandbox.stack.cognito.admin_disable_user(UserPoolId=pool, Username="admin")
    code, _out, err = run_cli(
        "login", "--username", "admin", "--password-stdin", stdin=served_sandbox.password + "\n"
    )
    assert (code, err.strip()) == (1, "facegate: login refused: User is disabled."), err
    assert not served_sandbox.token_file.exists()


def test_without_a_login_a_command_says_to_log_in(served_sandbox: ServedSandbox, run_cli: RunCli) -> None:
    code, out, err = run_cli("employees", "list")
    assert (code, out) == (2, "")
    assert err.strip() == "facegate: not logged in to sandbox: run facegate login"


def test_an_expiring_access_token_is_refreshed_before_the_call(
    logged_in: ServedSandbox, run_cli: RunCli
) -> None:
    path = logged_in.token_file
    stored = json.loads(path.read_text())
    stored["access_token"] = _with_exp(stored["access_token"], 30)  # inside the 60 s margin
    path.write_text(json.dumps(stored))
    source = StoredTokens(resolve("sandbox"))
    fresh = source.access_token()  # no API call yet: the expiry alone makes it refresh
    assert fresh != stored["access_token"] and not expires_within(fresh, REFRESH_MARGIN_SECONDS)
    assert source.access_token() == fresh  # and then it keeps the new one
    assert run_cli("employees", "list")[0] == 0
    refreshed = json.loads(path.read_text())
    assert refreshed["access_token"] == fresh
    assert refreshed["refresh_token"] == stored["refresh_token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_token_the_api_refuses_is_refreshed_once(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    """The stored token looks fresh but its signature is broken: a 401, then the refresh."""
    path = logged_in.token_file
    stored = json.loads(path.read_text())
    header, payload, signature = stored["access_token"].split(".")
    stored["access_token"] = f"{header}.{payload}.{signature[::-1]}"
    path.write_text(json.dumps(stored))
    assert run_cli("employees", "list")[0] == 0
    assert json.loads(path.read_text())["access_token"].split(".")[2] != signature[::-1]


def test_a_revoked_session_says_to_log_in_again(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    pool = logged_in.stack.names["user_pool_id"]
    logged_in.stack.cognito.admin_user_global_sign_out(UserPoolId=pool, Username="admin")
    path = logged_in.token_file
    stored = json.loads(path.read_text())
    stored["access_token"] = _with_exp(stored["access_token"], 0)
    path.write_text(json.dumps(stored))
    code, _out, err = run_cli("employees", "list")
    assert code == 2
    assert "the session has expired or was revoked" in err and "run facegate login" in err


def test_tokens_are_sent_only_to_the_api_they_were_issued_for(
    logged_in: ServedSandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stray FACEGATE_API_URL (an .envrc, a CI variable) must not receive the admin's token."""
    import http.server
    import threading

    seen: list[str | None] = []

    class Listener(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"items": []}')

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("FACEGATE_API_URL", f"http://127.0.0.1:{server.server_port}")
        code, out, err = run_cli("employees", "list")
    finally:
        server.shutdown()
        server.server_close()
    assert (code, out, seen) == (2, "", [])
    assert "the stored tokens were issued for http://127.0.0.1:" in err and "run facegate login" in err


def test_tokens_of_another_pool_are_not_sent(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    """A restarted sandbox has a new pool: its API must not get the old pool's tokens."""
    path = logged_in.token_file
    path.write_text(json.dumps({**json.loads(path.read_text()), "client_id": "an-older-pool-client"}))
    code, out, err = run_cli("employees", "list")
    assert (code, out) == (2, "")
    assert "the stored tokens are for another user pool" in err and "run facegate login" in err


def test_a_first_login_with_a_temporary_password_sets_a_new_one(
    served_sandbox: ServedSandbox, run_cli: RunCli
) -> None:
    cognito, pool = served_sandbox.stack.cognito, served_sandbox.stack.names["user_pool_id"]
    cognito.admin_create_user(
        UserPoolId=pool, Username="newcomer", TemporaryPassword="Temp-Pass-123!", MessageAction="SUPPRESS"
    )
    cognito.admin_add_user_to_group(UserPoolId=pool, Username="newcomer", GroupName="admins")
    code, _, err = run_cli("login", "--username", "newcomer", "--password-stdin", stdin="Temp-Pass-123!\n")
    assert code == 1 and "--new-password-stdin" in err, err
    code, _out, err = run_cli(
        "login",
        "--username",
        "newcomer",
        "--password-stdin",
        "--new-password-stdin",
        stdin="Temp-Pass-123!\nChosen-Pass-456!\n",
    )
    assert code == 0, err
    user = cognito.admin_get_user(UserPoolId=pool, Username="newcomer")
    assert user["UserStatus"] == "CONFIRMED"
    assert run_cli("whoami")[1].split("\n")[1].split()[:3] == ["sandbox", "newcomer", "admins"]


def test_an_admin_with_mfa_logs_in_with_the_authenticator_s_code(
    served_sandbox: ServedSandbox, run_cli: RunCli
) -> None:
    # The threat model asks sites to turn MFA on for admins: the CLI must answer its challenge.
    # (moto takes any code unless told to check TOTP; real Cognito checks it.)
    cognito, pool = served_sandbox.stack.cognito, served_sandbox.stack.names["user_pool_id"]
    password = served_sandbox.add_user("guarded")
    signed_in = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=served_sandbox.stack.names["user_pool_client_id"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "guarded", "PASSWORD": password},
    )
    access = signed_in["AuthenticationResult"]["AccessToken"]
    cognito.associate_software_token(AccessToken=access)
    cognito.verify_software_token(AccessToken=access, UserCode="123456")
    cognito.admin_set_user_mfa_preference(
        UserPoolId=pool, Username="guarded", SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    code, _, err = run_cli("login", "--username", "guarded", "--password-stdin", stdin=password + "\n")
    assert code == 1 and "--mfa-code-stdin" in err and "Traceback" not in err, err
    code, out, err = run_cli(
        "login",
        "--username",
        "guarded",
        "--password-stdin",
        "--mfa-code-stdin",
        stdin=f"{password}\n123456\n",
    )
    assert code == 0, err
    assert "logged in to sandbox as guarded" in out
    assert run_cli("whoami")[1].split("\n")[1].split()[:2] == ["sandbox", "guarded"]


def test_logout_deletes_the_file_and_says_so_twice_over(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    assert run_cli("logout") == (0, "logged out of sandbox\n", "")
    assert not logged_in.token_file.exists()
    assert run_cli("logout") == (0, "not logged in to sandbox\n", "")
    assert run_cli("employees", "list")[0] == 2


def _with_exp(token: str, seconds_from_now: int) -> str:
    """``token`` with its ``exp`` moved (its signature no longer matches: it is never sent)."""
    import time

    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(time.time()) + seconds_from_now
    moved = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{moved}.{signature}"


def test_sandbox_up_prints_a_cli_login_for_its_admin(served_sandbox: ServedSandbox, run_cli: RunCli) -> None:
    from sandbox.serve import _admin_password, _instructions

    password = _admin_password(served_sandbox.stack)
    printed = _instructions(json.loads(served_sandbox.state_file.read_text()), password)
    [line] = [line for line in printed.splitlines() if "facegate login" in line]
    assert line.split(":", 1)[1].split() == [
        ".venv/bin/facegate",
        "login",
        "--username",
        "admin",
        "(password:",
        f"{password})",
    ]
    code, out, err = run_cli("login", "--username", "admin", "--password-stdin", stdin=password + "\n")
    assert code == 0 and "(groups: admins)" in out, err

"""``facegate login``, ``logout`` and ``whoami``: the admin's session with the stage's pool."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import Any

from facegate_cli import tokens
from facegate_cli.context import Context


def register(subcommands: Any) -> None:
    login = subcommands.add_parser("login", help="sign in to the stage's user pool (SRP)")
    login.add_argument("--username", help="asked for when not given")
    login.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    login.add_argument(
        "--new-password-stdin",
        action="store_true",
        help="a first login with a temporary password: read the new one from stdin (after the password)",
    )
    login.add_argument(
        "--mfa-code-stdin",
        action="store_true",
        help="with MFA on: read the authenticator's code from stdin (after the passwords)",
    )
    login.set_defaults(run=run_login)
    logout = subcommands.add_parser("logout", help="forget (and revoke) the stored tokens")
    logout.set_defaults(run=run_logout)
    whoami = subcommands.add_parser("whoami", help="who the stored tokens are for")
    whoami.set_defaults(run=run_whoami)


def run_login(args: argparse.Namespace, context: Context) -> int:
    stage = context.stage
    username = args.username or input("Username: ").strip()
    password = _stdin_line() if args.password_stdin else getpass.getpass("Password: ")
    if not username or not password:
        print("facegate: a username and a password are needed", file=sys.stderr)
        return 2
    # A script (--password-stdin) is told to pass --new-password-stdin rather than prompted.
    new_password = (
        _stdin_line if args.new_password_stdin else None if args.password_stdin else _ask_new_password
    )
    mfa_code = _stdin_line if args.mfa_code_stdin else None if args.password_stdin else _ask_mfa_code
    stored = tokens.log_in(stage, username, password, new_password, mfa_code)
    claims = tokens.claims_of(stored["access_token"])
    groups = ", ".join(claims.get("cognito:groups") or []) or "none"
    print(f"logged in to {stage.name} as {username} (groups: {groups})")
    return 0


def run_logout(args: argparse.Namespace, context: Context) -> int:
    stage = context.stage
    if tokens.log_out(stage):
        print(f"logged out of {stage.name}")
    else:
        print(f"not logged in to {stage.name}")
    return 0


def run_whoami(args: argparse.Namespace, context: Context) -> int:
    stored = tokens.StoredTokens(context.stage)
    claims = stored.claims()
    row = {
        "stage": context.stage.name,
        "username": claims.get("username") or claims.get("cognito:username"),
        "groups": ", ".join(claims.get("cognito:groups") or []),
        "expires_in": f"{int(claims.get('exp', 0) - time.time())}s",
    }
    context.show(row, ["stage", "username", "groups", "expires_in"])
    return 0


def _stdin_line() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def _ask_mfa_code() -> str:
    return input("MFA code from your authenticator: ").strip()


def _ask_new_password() -> str:
    print("This user has a temporary password: choose a new one.", file=sys.stderr)
    while True:
        first = getpass.getpass("New password: ")
        if first and first == getpass.getpass("New password again: "):
            return first
        print("The two did not match (or were empty); try again.", file=sys.stderr)

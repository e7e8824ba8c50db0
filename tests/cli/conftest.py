"""The CLI against a real sandbox API over HTTP: ``served_sandbox``, ``run_cli``, ``logged_in``.

``run_cli("employees", "list", stdin="…")`` calls ``facegate_cli.__main__.main`` in this process
and answers ``(exit code, stdout, stderr)``; the token file and the sandbox state file are in
the test's ``tmp_path``, so a test never touches the developer's own login.
"""

from __future__ import annotations

import io
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from sandbox.stack import Stack

RunCli = Callable[..., tuple[int, str, str]]
# The sandbox API's own request log, written to this process's stderr by its server thread.
ACCESS_LOG = re.compile(r'^127\.0\.0\.1 - - \[.*\] ".*" \d+ .*\n', re.M)


@dataclass(frozen=True)
class ServedSandbox:
    """The sandbox's API on a free port, its state file, and an admin who can log in."""

    stack: Stack
    url: str
    state_file: Path
    token_file: Path
    username: str
    password: str

    def add_user(self, username: str, group: str = "admins") -> str:
        """A confirmed user of ``group`` with a random password (as ``sandbox up``'s admin); the password."""
        from sandbox.tokens import create_user

        return create_user(self.stack.cognito, self.stack.names["user_pool_id"], username, group)


@pytest.fixture
def served_sandbox(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedSandbox]:
    from sandbox.api_server import LocalApi
    from sandbox.serve import write_state

    api = LocalApi(port=0)
    state_file = tmp_path / "sandbox.json"
    token_file = tmp_path / "config" / "tokens.json"
    write_state(stack, api, state_file)
    monkeypatch.setenv("FACEGATE_SANDBOX_STATE", str(state_file))
    monkeypatch.setenv("FACEGATE_TOKEN_FILE", str(token_file))
    served = ServedSandbox(stack, api.url, state_file, token_file, "admin", "")
    served = replace(served, password=served.add_user("admin", "admins"))
    stop = threading.Event()  # the gallery health worker runs meanwhile, as under `sandbox up`
    worker = threading.Thread(target=_health_worker, args=(stack, stop), daemon=True)
    worker.start()
    try:
        yield served
    finally:
        stop.set()
        worker.join(timeout=30)
        api.stop()


def _health_worker(stack: Stack, stop: threading.Event) -> None:
    while not stop.is_set():
        stack.run_health_jobs(timeout=0.0)
        stop.wait(0.5)  # a poll of local SQS twice a second: an idle worker costs the suite little


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """``run_cli(*args, stdin="")``: ``facegate *args`` in-process → (code, stdout, stderr).

    An employee added (``employees add``) also gets their consent (``consent give``, on paper),
    as a site records it before any photo: the stages require it. ``consent=False`` skips it."""
    from facegate_cli.__main__ import main

    def run(*args: str, stdin: str = "", consent: bool = True) -> tuple[int, str, str]:
        capsys.readouterr()  # drop what came before
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse: --help, usage errors
            code = exit_.code if isinstance(exit_.code, int) else 2
        captured = capsys.readouterr()
        verb = [arg for arg in args if arg != "--json"][:3]
        if consent and code == 0 and verb[:2] == ["employees", "add"]:
            assert main(["consent", "give", verb[2], "--method", "paper", "--reference", "F-cli"]) == 0
            capsys.readouterr()
        return code, captured.out, ACCESS_LOG.sub("", captured.err)

    return run


@pytest.fixture
def logged_in(served_sandbox: ServedSandbox, run_cli: RunCli) -> ServedSandbox:
    """``served_sandbox`` after ``facegate login`` as its admin."""
    code, out, err = run_cli(
        "login",
        "--username",
        served_sandbox.username,
        "--password-stdin",
        stdin=served_sandbox.password + "\n",
    )
    assert code == 0, out + err
    return served_sandbox

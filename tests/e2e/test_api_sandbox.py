"""The API over real HTTP from the sandbox: schemathesis finds no 5xx; the docs' curl works."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.api_server import LocalApi
from sandbox.stack import PROJECT_DIR, Stack


@pytest.fixture
def served(stack: Stack) -> Iterator[LocalApi]:
    api = LocalApi(port=0)
    yield api
    api.stop()


@pytest.mark.slow(reason="schemathesis tries every operation of openapi.yaml over real HTTP")
def test_schemathesis_finds_no_server_error(stack: Stack, served: LocalApi) -> None:
    token = stack.token("admins")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(PROJECT_DIR / "openapi.yaml"),
            "--url",
            served.url,
            "--checks",
            "not_a_server_error",
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            "6",  # about 90 operations: six each keeps the run near a minute on two shared cores
            "--workers",
            "1",
            "--seed",
            "20261123",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_DIR,
    )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert re.search(r"\d+ generated, \d+ passed", summary), summary
    # Every documented operation was called (a new route is in the run once it is in openapi.yaml).
    operations = _documented_operations()
    assert f"Selected: {operations}/{operations}" in summary and f"Tested: {operations}\n" in summary, summary


def _documented_operations() -> int:
    import yaml

    paths = yaml.safe_load((PROJECT_DIR / "openapi.yaml").read_text())["paths"]
    return sum(1 for operations in paths.values() for method in operations if method != "parameters")


def readme_api_script(port: int) -> str:
    """The shell blocks of the API page (docs/api.md), pointed at this test's server."""
    section = (PROJECT_DIR / "docs" / "api.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    script = "\n".join(blocks).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    return "set -euo pipefail\n" + script.replace(".venv/bin/python", sys.executable)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_curl_examples_work(stack: Stack, served: LocalApi, tmp_path: Path) -> None:
    from sandbox.serve import write_state

    state = tmp_path / "sandbox.json"
    write_state(stack, served, state)
    env = {
        **os.environ,
        "FACEGATE_SANDBOX_STATE": str(state),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    result = subprocess.run(
        ["bash", "-c", readme_api_script(served.port)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_DIR,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"status":"AUTHORIZED"' in result.stdout.replace(" ", "")
    assert '"employee_id":"EMP001"' in result.stdout.replace(" ", "")
    # the access example: the site built (no 4xx on the way), then its two answers
    assert '"message"' not in result.stdout, result.stdout
    assert '"verdict":"GRANTED","reason":"agrantrulecoversthisdoornow","door_id":"front"' in (
        result.stdout.replace(" ", "")
    )
    assert '"verdict":"HOLIDAY_CLOSED"' in result.stdout.replace(" ", "")


def test_hostile_input_over_real_http_is_400(stack: Stack, served: LocalApi) -> None:
    """What schemathesis does not generate (openapi.yaml says limit is an integer), over the wire."""
    import urllib.error
    import urllib.parse
    import urllib.request

    headers = {"Authorization": f"Bearer {stack.token('admins')}", "Content-Type": "application/json"}
    requests = [
        ("GET", f"/employees?limit={urllib.parse.quote(limit)}", None)
        for limit in ("²", "١٠", "５", "1" * 5000)
    ] + [
        ("POST", "/employees", b"[" * 100_000),
        ("POST", "/recognize", b'{"image":' * 100_000),
        ("GET", "/scans?next_token=" + "W1tb" * 500, None),  # base64 of [[[… 1,500 deep
    ]
    for method, path, body in requests:
        request = urllib.request.Request(served.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        assert status == 400, (method, path[:40], status)

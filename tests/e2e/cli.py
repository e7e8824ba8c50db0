"""Running ``python -m sandbox …`` as a user would: a fresh process, no inherited settings."""

from __future__ import annotations

import os
import subprocess
import sys

from sandbox.stack import PROJECT_DIR


def run_sandbox(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FACEGATE_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=PROJECT_DIR,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


DEMO_OUTCOMES = [
    ("enrolled person, new photo", "AUTHORIZED"),
    ("stranger", "UNKNOWN"),
    ("no face", "NO_FACE"),
    ("group", "MULTIPLE_FACES"),
    ("corrupt file", "REJECTED"),
    ("not in IT, server room", "DENIED"),  # EMP001 at server-room-cam: only IT may enter
]


def assert_demo_outcomes(lines: list[str]) -> None:
    """The demo's table shows each upload once, with its expected decision."""
    for label, status in DEMO_OUTCOMES:
        [row] = [line for line in lines if line.startswith(label + " ")]
        assert status in row, row


# The demo's roster through `facegate import`: four employees, three photos enrolled, the
# group photo and a second id for EMP001's face refused (the duplicate guard).
DEMO_IMPORT = {
    "employees created": "4",
    "faces added": "3",
    "refused: N faces in the photo": "1",
    "refused: this face matches employee N": "1",
    "failed transiently (rerun)": "0",
}


def assert_demo_import(lines: list[str]) -> None:
    """The demo's import summary, as `facegate import` printed it."""
    for result, count in DEMO_IMPORT.items():
        [row] = [line for line in lines if line.strip().startswith(result + " ")]
        assert row.split()[-1] == count, row

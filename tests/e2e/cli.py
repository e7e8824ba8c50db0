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

"""``python -m tests.coverage_summary``: the suite's branch coverage, the modules under 80 %, the floor.

``make test`` runs it after pytest (which measured with ``--cov``): it prints the total, lists
every module under ``WATCH_BELOW`` percent (lowest first) so a reader sees where the untested
code is, and exits 1 when the total falls under ``fail_under`` in ``pyproject.toml`` — the floor
set at the figure the suite had when coverage was first measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

WATCH_BELOW = 80.0


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "coverage.json"
        # `coverage json` applies pyproject's [tool.coverage] settings, fail_under included.
        written = subprocess.run(
            [sys.executable, "-m", "coverage", "json", "-q", "-o", str(report)], check=False
        )
        if not report.exists():
            print("no coverage data: run pytest with --cov first", file=sys.stderr)
            return 2
        data = json.loads(report.read_text())
    total = float(data["totals"]["percent_covered"])
    low = sorted(
        (float(entry["summary"]["percent_covered"]), name)
        for name, entry in data["files"].items()
        if float(entry["summary"]["percent_covered"]) < WATCH_BELOW
    )
    print(f"coverage (statements and branches): {total:.1f} %")
    if low:
        print(f"modules under {WATCH_BELOW:g} %:")
        for percent, name in low:
            print(f"  {percent:5.1f} %  {name}")
    if written.returncode != 0:
        print("coverage fell under the floor (pyproject.toml [tool.coverage.report] fail_under)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

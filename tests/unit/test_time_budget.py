"""The suite's own time budget (tests/time_budget.py): a slow test must say why, or the run fails."""

from __future__ import annotations

import pytest

SLOW_AND_SILENT = """
import time
def test_takes_its_time():
    time.sleep(0.3)
def test_quick():
    pass
"""


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makeini("[pytest]\ntime_budget_seconds = 0.2\n")
    pytester.makepyfile(source)
    return pytester.runpytest_inprocess("-p", "tests.time_budget")


def test_an_unmarked_test_over_the_budget_fails_the_run_and_is_named(pytester: pytest.Pytester) -> None:
    result = run(pytester, SLOW_AND_SILENT)
    result.assert_outcomes(passed=2)  # the tests pass; the run does not
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*tests over the 0.2 s budget*", "*test_takes_its_time*NOT MARKED*"])
    assert "test_quick" not in result.stdout.str().split("budget", 1)[1]


def test_a_test_marked_slow_with_a_reason_is_listed_and_allowed(pytester: pytest.Pytester) -> None:
    mark = "import pytest\n@pytest.mark.slow(reason='waits on purpose')\n"
    marked = SLOW_AND_SILENT.replace("def test_takes_its_time", mark + "def test_takes_its_time")
    result = run(pytester, marked)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*test_takes_its_time*slow: waits on purpose*"])


def test_a_slow_mark_without_a_reason_is_refused(pytester: pytest.Pytester) -> None:
    result = run(pytester, "import pytest\n@pytest.mark.slow\ndef test_x():\n    pass\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "says why the test is slow" in result.stderr.str() + result.stdout.str()


def test_slow_tests_run_first_so_parallel_workers_start_them_early(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "import pytest\n"
        "def test_quick():\n    pass\n"
        "@pytest.mark.slow(reason='waits')\n"
        "def test_slow():\n    pass\n"
    )
    result = pytester.runpytest_inprocess("-p", "tests.time_budget", "-p", "no:randomly", "-v")
    ran = [line.split("::")[1].split()[0] for line in result.stdout.lines if " PASSED" in line]
    assert ran == ["test_slow", "test_quick"]

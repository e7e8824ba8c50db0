"""The per-test time budget: a test over 20 s must say why, or the run fails.

A test that takes longer than ``time_budget_seconds`` (setup, call and teardown together,
wall clock) fails the session unless it is marked ``@pytest.mark.slow(reason="…")``; a
``slow`` mark without a reason is refused when the tests are collected. The summary lists
every test over the budget, marked or not, so the suite cannot drift back to half an hour
one slow test at a time. Marked tests are what ``make test-fast`` leaves out.

Under pytest-xdist the workers attach each test's mark to its reports and the controller,
which sees every report, keeps the account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

SLOW_REASON = "slow_reason"  # the report property that carries a marked test's reason


@dataclass
class Account:
    budget: float
    seconds: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def over(self) -> list[tuple[str, float]]:
        """The tests over budget, slowest first."""
        over = [(nodeid, seconds) for nodeid, seconds in self.seconds.items() if seconds > self.budget]
        return sorted(over, key=lambda item: -item[1])

    def unexplained(self) -> list[tuple[str, float]]:
        return [(nodeid, seconds) for nodeid, seconds in self.over() if nodeid not in self.reasons]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "time_budget_seconds", "a test slower than this must be marked slow(reason=…)", default="20"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow(reason): over the per-test time budget for the reason given (test-fast skips it)"
    )
    config.pluginmanager.register(TimeBudget(Account(float(config.getini("time_budget_seconds")))))


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a slow mark without a reason; put the slow tests first, so that parallel workers
    start them early and the rest fills in around them instead of waiting on one at the end."""
    for item in items:
        marker = item.get_closest_marker("slow")
        if marker is not None and not str(marker.kwargs.get("reason", "")).strip():
            raise pytest.UsageError(f"{item.nodeid}: mark slow(reason='…') says why the test is slow")
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept within


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    marker = item.get_closest_marker("slow")
    if marker is not None:
        report.user_properties.append((SLOW_REASON, str(marker.kwargs["reason"])))  # type: ignore[attr-defined]
    return report


class TimeBudget:
    """Keeps the account where every report arrives (the controller, under xdist)."""

    def __init__(self, account: Account) -> None:
        self.account = account

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        seconds = self.account.seconds
        seconds[report.nodeid] = seconds.get(report.nodeid, 0.0) + report.duration
        for name, value in report.user_properties:
            if name == SLOW_REASON:
                self.account.reasons[report.nodeid] = str(value)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.account.unexplained() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        over = self.account.over()
        if not over:
            return
        terminalreporter.section(f"tests over the {self.account.budget:g} s budget")
        for nodeid, seconds in over:
            reason = self.account.reasons.get(nodeid)
            said = f"slow: {reason}" if reason else "NOT MARKED: mark it slow(reason='…') or make it faster"
            terminalreporter.write_line(f"{seconds:7.1f} s  {nodeid}  ({said})")

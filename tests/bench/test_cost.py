"""The memory/cost curve's arithmetic, one row worked by hand."""

from __future__ import annotations

import pytest

from bench.cost import cost_per_1000_usd, cpu_share, curve_row, latency_s, memory_cost_curve


def test_a_row_below_one_vcpu_worked_by_hand() -> None:
    # 1,024 MB is 1024/1769 of a vCPU: 0.1 s of CPU takes 0.1 × 1769/1024 = 0.17275 s, plus
    # 0.05 s of waiting = 0.22275 s, billed as 223 ms. 1 GB × 0.223 s × $0.0000166667 =
    # $0.00000371667, plus $0.0000002 a request: $0.00000391667 a scan, $0.00392 per 1,000.
    # The init's 0.8 s of CPU stretches to 0.8 × 1769/1024 = 1.38 s.
    row = curve_row(1024, {"640": (0.1, 0.05)}, init_cpu_s=0.8)
    assert row == {
        "memory_mb": 1024,
        "vcpu_share": 0.579,
        "latency_640_s": 0.223,
        "cost_per_1000_scans_640_usd": 0.00392,
        "init_s": 1.38,
    }


def test_above_one_vcpu_a_single_thread_gets_no_faster_and_costs_more() -> None:
    # 3,538 MB = two vCPUs' worth, but one thread uses one: 0.1 + 0.05 = 0.15 s.
    # 3538/1024 GB × 0.15 s × $0.0000166667 + $0.0000002 = $0.0000088377 a scan.
    assert cpu_share(3538) == 1.0 and latency_s(3538, 0.1, 0.05) == pytest.approx(0.15)
    assert cost_per_1000_usd(3538, 0.15) == pytest.approx(0.0088377, abs=1e-7)
    rows = memory_cost_curve({"640": (0.1, 0.05)}, 0.8, sizes=(1769, 3538))
    assert rows[0]["latency_640_s"] == rows[1]["latency_640_s"] == 0.15
    # twice the GB-seconds for the same time; the request price is not doubled
    assert rows[1]["cost_per_1000_scans_640_usd"] == pytest.approx(
        2 * rows[0]["cost_per_1000_scans_640_usd"] - 0.0002
    )


def test_duration_is_billed_by_the_millisecond_rounded_up() -> None:
    assert cost_per_1000_usd(1024, 0.2001) == cost_per_1000_usd(1024, 0.201)
    assert cost_per_1000_usd(1024, 0.2) < cost_per_1000_usd(1024, 0.2001)
    # arm64: the same 223 ms at $0.0000133334 per GB-second
    assert cost_per_1000_usd(1024, 0.223, "arm64") == pytest.approx(1000 * (0.223 * 0.0000133334 + 0.0000002))

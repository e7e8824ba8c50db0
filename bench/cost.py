"""Lambda memory size against a scan's expected latency and cost, from measured CPU time.

Lambda gives a function CPU in proportion to its memory, the equivalent of one vCPU at
1,769 MB (docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). A scan is one
thread's work (dlib's networks run one inference at a time, under one lock), so below
1,769 MB its CPU time stretches by 1,769 / memory and above it nothing gets faster: the
extra share only pays for idle vCPU. The waiting on AWS calls does not depend on memory.

Prices: US East (N. Virginia), first tier, aws.amazon.com/lambda/pricing/ (read 2026-11).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

FULL_VCPU_MB = 1769
PRICE_PER_GB_SECOND_USD = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_PER_REQUEST_USD = 0.20 / 1_000_000
MEMORY_SIZES_MB = (512, 1024, 1769, 2048, 3008, 4096, 10240)


def cpu_share(memory_mb: int) -> float:
    """The fraction of one vCPU a single-threaded scan can use at ``memory_mb``."""
    return min(1.0, memory_mb / FULL_VCPU_MB)


def latency_s(memory_mb: int, cpu_s: float, wait_s: float) -> float:
    """One scan's duration: its CPU time at this share of a vCPU, plus the waiting on AWS."""
    return cpu_s / cpu_share(memory_mb) + wait_s


def cost_per_1000_usd(memory_mb: int, duration_s: float, architecture: str = "x86_64") -> float:
    """1,000 invocations of ``duration_s`` each: GB-seconds billed by the millisecond, plus requests."""
    billed_s = math.ceil(round(duration_s * 1000, 6)) / 1000
    per_scan = memory_mb / 1024 * billed_s * PRICE_PER_GB_SECOND_USD[architecture] + PRICE_PER_REQUEST_USD
    return 1000 * per_scan


def curve_row(memory_mb: int, scans: Mapping[str, tuple[float, float]], init_cpu_s: float) -> dict[str, Any]:
    """One memory size: for each frame size its latency and cost per 1,000 scans (x86_64), and
    the init's CPU at this share (a cold start's extra wait, billed like the rest since 2025-08)."""
    row: dict[str, Any] = {"memory_mb": memory_mb, "vcpu_share": round(cpu_share(memory_mb), 3)}
    for size, (cpu_s, wait_s) in scans.items():
        duration = latency_s(memory_mb, cpu_s, wait_s)
        row[f"latency_{size}_s"] = round(duration, 3)
        row[f"cost_per_1000_scans_{size}_usd"] = round(cost_per_1000_usd(memory_mb, duration), 5)
    row["init_s"] = round(init_cpu_s / cpu_share(memory_mb), 2)
    return row


def memory_cost_curve(
    scans: Mapping[str, tuple[float, float]],
    init_cpu_s: float,
    sizes: Sequence[int] = MEMORY_SIZES_MB,
) -> list[dict[str, Any]]:
    """The table of docs/PERFORMANCE.md: ``scans`` maps a frame size to (CPU s, waiting s) per scan."""
    return [curve_row(memory_mb, scans, init_cpu_s) for memory_mb in sizes]

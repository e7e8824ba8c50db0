"""Door latency in the sandbox: every upload's AUTHORIZED reaches the door's queue, traced.

No timing is asserted (a shared, noisy machine): the figures' shape and the deliveries are.
"""

from __future__ import annotations

from pathlib import Path

from bench import latency
from sandbox.stack import LocalAws


def test_each_upload_of_an_enrolled_employee_reaches_the_door_queue_and_is_traced(
    photos: Path, local_aws: LocalAws
) -> None:
    # moto's backends are one per process: the suite's stack would be in the bench's too.
    local_aws.reset()
    results = latency.run(photos, rounds={1: 2})
    detail = results["door_latency_detail"]
    assert set(results["door_latency_p50_ms"]) == set(results["door_latency_p95_ms"]) == {"1"}
    # Through the door's own subscription, and the controller opened the door for each.
    assert detail["uploads"] == detail["authorized_arrived"] == detail["door_unlocked"] == {"1": 2}
    assert list(detail["hops_ms"]["1"]) == [name for name, _, _ in latency.HOPS]
    stages = detail["stages_ms"]["1"]
    pipeline = ["read image", "decode+normalise", "detect", "embed", "search", "access policy"]
    calls = ["s3 GetObject", "dynamodb TransactWriteItems", "kms GenerateMac", "sns Publish"]
    assert set(pipeline + calls) <= set(stages), stages
    assert all(set(figures) == {"p50_ms", "p95_ms"} for figures in stages.values())

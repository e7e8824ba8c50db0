"""The door-agent bench on a tiny run: real agents on a video reach their relays, traced hop by hop.

No timing is asserted (a shared, noisy machine): the figures' shape and the unlocks are.
"""

from __future__ import annotations

from pathlib import Path

from bench import door_agents
from sandbox.stack import LocalAws


def test_each_door_agent_unlocks_and_every_hop_is_measured(photos: Path, local_aws: LocalAws) -> None:
    local_aws.reset()  # moto's backends are one per process: the bench builds its own stage
    results = door_agents.run(photos, levels={2: 1})
    detail = results["door_agent_latency_detail"]
    assert detail["samples"] == detail["unlocked"] == {"2": 2}
    assert list(detail["hops_ms"]["2"]) == [name for name, _, _ in door_agents.HOPS]
    hops = detail["hops_ms"]["2"].values()
    assert all(figures["p50_ms"] >= 0 for figures in hops)
    assert sum(detail["hop_share_of_p50"]["2"].values()) <= 1.5  # shares of one end-to-end p50
    assert results["door_agent_latency_p50_ms"]["2"] <= results["door_agent_latency_p95_ms"]["2"]

"""observability.timed: stages reach a listener while one listens, and cost nothing otherwise."""

from __future__ import annotations

import pytest

from chalicelib.core.observability import listen_to_stages, timed


def test_without_a_listener_every_stage_is_the_same_do_nothing_context() -> None:
    assert timed("detect") is timed("embed")


def test_a_listener_hears_each_stage_until_it_stops_listening() -> None:
    heard: list[tuple[str, float, float]] = []
    stop = listen_to_stages(lambda stage, started, ended: heard.append((stage, started, ended)))
    with timed("detect"):
        pass
    with pytest.raises(ValueError), timed("decode+normalise"):  # a refused photo still took its time
        raise ValueError("not an image")
    stop()
    with timed("embed"):
        pass
    assert [stage for stage, _, _ in heard] == ["detect", "decode+normalise"]
    assert all(started <= ended for _, started, ended in heard)

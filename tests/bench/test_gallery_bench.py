"""``make bench``'s gallery figures run end to end on a small gallery (the suite never times
them: it checks that the benchmark still works against moto, publish and all)."""

from __future__ import annotations

from bench import gallery


def test_the_gallery_benchmark_publishes_a_snapshot_and_loads_every_face_from_it() -> None:
    figures = gallery.run(faces=300, repeats=1)  # run() asserts the cold load holds every face
    assert figures["gallery_faces"] == 300
    assert figures["snapshot_float16_decisions_changed"] == 0
    assert figures["gallery_snapshot_mb"] > 0

"""``python -m bench.gallery_health`` runs on a tiny gallery (the suite never times it)."""

from __future__ import annotations

from bench import gallery_health


def test_the_health_benchmark_walks_slices_of_a_synthetic_gallery() -> None:
    figures = gallery_health.run(faces=300, slice_cells=300 * 100, max_slices=2)
    assert (figures["health_gallery_faces"], figures["health_slice_faces"]) == (300, 100)
    assert figures["health_s_per_1k_faces_walked"] > 0

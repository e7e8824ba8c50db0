"""``python -m bench``: every benchmark, a table on stdout and ``bench/results.json``.

Timings are medians of repeated runs on the machine at hand (shared, noisy); ratios are
measured side by side in the same run, which is what makes them comparable.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bytecode, coldstart, decode, door_agents, gallery, latency, models, speed, system
from sandbox.photos import ensure_photos

RESULTS = Path(__file__).resolve().parent / "results.json"
TARGETS = {
    "local_vs_face_recognition_ratio_640": ("≤", 0.25),
    "local_vs_face_recognition_ratio_1080": ("≤", 0.12),
    "search_100k_fraction_of_embed": ("<", 0.1),
    "cold_import_ratio_rekognition": ("≤", 1.3),
    "rekognition_calls_per_scan": ("≤", 1),
    "report_items_read_per_day_item": ("≤", 1.1),
    "decode_worst_cpu_s": ("≤", 2.0),
    "gallery_cold_load_100k_vs_full_scan": ("≤", 0.1),
    "gallery_refresh_one_change_100k_vs_full_scan": ("≤", 0.01),
}


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def run() -> dict[str, Any]:
    photos = ensure_photos()
    results: dict[str, Any] = {"machine": machine()}
    # First: its cold starts are the models' first loads in this process.
    results["models"] = models.run(photos)
    for key in ("old", "new"):
        gap = results["models"]["pairs"][key]["margin_over_median_gap"]
        results[f"model_{key}_margin_over_median_gap"] = gap
    comparison = speed.compare_with_face_recognition(photos)
    for size, figures in comparison.items():
        results[f"local_vs_face_recognition_ratio_{size}"] = figures["ratio"]
    results["local_vs_face_recognition"] = comparison
    results["local_stages_1080"] = {
        **speed.stage_timings(photos),
        "record+notify": system.record_and_notify(),
    }
    results.update(speed.search_scaling(photos))
    results.update(system.throughput(photos))
    results.update(system.cold_import())
    results.update(system.first_scan_and_memory(photos))
    results.update(coldstart.run(photos))  # init vs first invoke; memory_cost_curve
    results.update(bytecode.run())  # what shipping source only would cost a cold start
    results.update(system.rekognition_calls())
    results.update(system.report_reads())
    results.update(decode.run())
    results.update(gallery.run())
    results.update(latency.run(photos))
    results.update(door_agents.run(photos))  # first detectable frame → relay, 1 and 5 doors
    return results


def table(results: dict[str, Any]) -> str:
    rows = [("figure", "value", "target")]
    for key, value in results.items():
        if isinstance(value, dict | list) or key == "machine":
            continue
        relation = TARGETS.get(key)
        target = f"{relation[0]} {relation[1]}" if relation else ""
        met = "" if not relation else (" ✓" if _meets(value, *relation) else " ✗")
        rows.append((key, f"{value}", target + met))
    for stage, figures in results["local_stages_1080"].items():
        rows.append((f"stage {stage} (1080p)", f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms", ""))
    width = [max(len(str(row[column])) for row in rows) for column in range(3)]
    return "\n".join("  ".join(str(cell).ljust(width[n]) for n, cell in enumerate(row)) for row in rows)


def _meets(value: float, relation: str, bound: float) -> bool:
    return value <= bound if relation == "≤" else value < bound


def main() -> int:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # local AWS's request log
    results = run()
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(table(results))
    print(f"\nwritten to {RESULTS}")
    failed = [key for key, relation in TARGETS.items() if not _meets(results[key], *relation)]
    if failed:
        print(f"targets missed: {', '.join(failed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

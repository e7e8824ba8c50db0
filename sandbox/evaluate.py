"""``python -m sandbox evaluate``: try facegate on your own photos.

Each subfolder of the gallery is an employee (id = folder name) enrolled from all its
photos; each file of the probes folder goes through bucket → event → handler.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.core.errors import DuplicateFace, EnrollmentError
from chalicelib.core.models import Employee
from sandbox.enroll import enroll_employee
from sandbox.stack import running_stack

CAMERA = "evaluate"


def run_evaluation(gallery: Path, probes: Path, as_json: bool = False) -> list[dict[str, Any]]:
    """Enroll the gallery, scan every probe, print one line per probe; return the results."""
    with running_stack() as stack:
        for folder in sorted(p for p in gallery.iterdir() if p.is_dir()):
            for photo in sorted(p for p in folder.iterdir() if p.is_file()):
                try:
                    enroll_employee(stack, Employee(folder.name, folder.name), [photo])
                except (EnrollmentError, DuplicateFace, LookupError) as error:
                    print(f"not enrolled: {folder.name}/{photo.name}: {error}", file=sys.stderr)
        files = sorted(p for p in probes.iterdir() if p.is_file())
        keys = {stack.upload(CAMERA, probe.name, probe.read_bytes()): probe.name for probe in files}
        stack.pump(expected=len(keys))
        by_key = {n["body"]["object_key"]: n["body"] for n in stack.notifications()}
    results = []
    for key, name in keys.items():
        body = by_key.get(key, {})
        result = {
            "probe": name,
            "status": body.get("status", "ERROR"),
            "employee_id": body.get("employee_id"),
            "similarity": body.get("similarity"),
        }
        results.append(result)
        if as_json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            similarity = "" if result["similarity"] is None else f"{result['similarity']:.1f}"
            print(f"{name}\t{result['status']}\t{result['employee_id'] or '-'}\t{similarity}")
    return results

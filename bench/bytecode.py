"""What Lambda's read-only code costs at a cold start when it ships as source, and what the
bytecode ``make deploy`` now ships saves (infra/bytecode.py).

Fresh processes with ``PYTHONDONTWRITEBYTECODE=1`` (Lambda cannot write ``__pycache__``),
interleaved, medians: numpy as the layer ships it (its wheel unpacked, tests removed) from
source and with unchecked hash pycs; ``app.py`` with ``chalicelib/`` as Chalice zips them
(Rekognition stage) from source and with checked hash pycs; and the camera function's whole
init on the local engine (the warm-up: numpy, Pillow, dlib, the models) with numpy and our
code from source, then both precompiled. Pillow and Chalice's other dependencies are in this
machine's virtualenv, compiled by pip, in every variant.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from infra.bytecode import CHECKED, UNCHECKED, precompile
from sandbox.stack import PROJECT_DIR

_TIMED = (
    "import sys, time; sys.path[:0] = {path!r}; t = time.perf_counter(); {statement}; "
    "print(time.perf_counter() - t)"
)
CAMERA = {
    "FACEGATE_STAGE": "sandbox",
    "FACEGATE_ENGINE": "local",
    "AWS_LAMBDA_FUNCTION_NAME": "facegate-sandbox-on_camera_upload",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _numpy_as_the_layer_ships_it(into: Path) -> None:
    import numpy

    source = Path(numpy.__file__).parent
    ignore = shutil.ignore_patterns("__pycache__", "tests", "*.pyc")
    shutil.copytree(source, into / "numpy", ignore=ignore)
    libs = source.parent / "numpy.libs"
    if libs.is_dir():
        shutil.copytree(libs, into / "numpy.libs")


def app_as_shipped(into: Path, compiled: bool = True) -> Path:
    """``app.py`` and ``chalicelib/`` as ``make deploy`` has Chalice zip them: with their
    checked pycs, or (``compiled=False``) as source only, as before; ``into``."""
    shutil.copy(PROJECT_DIR / "app.py", into / "app.py")
    shutil.copytree(
        PROJECT_DIR / "chalicelib", into / "chalicelib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    if compiled:
        precompile(into / "chalicelib", CHECKED)
    return into


def _seconds(path: list[str], statement: str, env: dict[str, str]) -> float:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FACEGATE_", "AWS_LAMBDA_"))}
    result = subprocess.run(
        [sys.executable, "-c", _TIMED.format(path=path, statement=statement)],
        cwd=path[-1], env={**clean, "PYTHONDONTWRITEBYTECODE": "1", **env},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(result.stdout.strip().splitlines()[-1])


def run(runs: int = 7) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        trees = {name: root / name for name in ("source", "compiled")}
        for tree in trees.values():
            (tree / "layer").mkdir(parents=True)
            (tree / "code").mkdir()
            _numpy_as_the_layer_ships_it(tree / "layer")
            app_as_shipped(tree / "code", compiled=tree is trees["compiled"])
        numpy_pycs = precompile(trees["compiled"] / "layer", UNCHECKED)
        code_pycs = sum(1 for _ in (trees["compiled"] / "code").rglob("*.pyc"))
        figures: dict[str, list[float]] = {}
        for _ in range(runs):  # interleaved: the machine's load falls on every variant alike
            for name, tree in trees.items():
                layer, code = str(tree / "layer"), str(tree / "code")
                timings = {
                    "numpy": _seconds([layer, code], "import numpy", {}),
                    "app": _seconds([code], "import boto3, app", {"FACEGATE_ENGINE": "rekognition"}),
                    "camera_init": _seconds([layer, code], "import app", CAMERA),
                }
                for figure, seconds in timings.items():
                    figures.setdefault(f"{figure}_{name}", []).append(seconds)
    ms = {name: round(statistics.median(values) * 1000, 1) for name, values in figures.items()}
    both = {
        figure: {"source": ms[f"{figure}_source"], "compiled": ms[f"{figure}_compiled"]}
        for figure in ("numpy", "app", "camera_init")
    }
    return {
        "bytecode_numpy_import_ms": both["numpy"],
        "bytecode_app_import_ms": both["app"],
        "bytecode_camera_init_ms": both["camera_init"],
        "bytecode_camera_init_compiled_vs_source": round(
            both["camera_init"]["compiled"] / both["camera_init"]["source"], 3
        ),
        "bytecode_pycs": {"layer_numpy": numpy_pycs, "chalicelib": code_pycs},
        "bytecode_runs": runs,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))

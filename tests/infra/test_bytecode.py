"""The bytecode make deploy ships: hash-based pycs, checked for the code a developer edits (a
stale pyc never runs), unchecked for the layer built once in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.bytecode import CHECKED, UNCHECKED, precompile

HASH_BASED, CHECK_SOURCE = 0b01, 0b10  # the pyc header's flags (PEP 552)


def _package(root: Path, value: int) -> Path:
    package = root / "shipped"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(f"VALUE = {value}\n")
    return package


def _imported_value(root: Path) -> int:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # Lambda: read-only, no pyc written
    result = subprocess.run(
        [sys.executable, "-c", "import shipped.settings as s; print(s.VALUE)"],
        cwd=root, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(result.stdout)


def _flags(package: Path, module: str) -> int:
    pyc = package / "__pycache__" / f"{module}.{sys.implementation.cache_tag}.pyc"
    return int.from_bytes(pyc.read_bytes()[4:8], "little")


def test_every_module_gets_a_hash_based_pyc_for_the_running_python(tmp_path: Path) -> None:
    package = _package(tmp_path, 1)
    assert precompile(package, CHECKED) == 2
    assert _flags(package, "settings") == HASH_BASED | CHECK_SOURCE
    assert precompile(package, CHECKED) == 2  # again: the same pycs, none compiled from a cache


def test_a_timestamp_pyc_python_wrote_before_is_replaced_by_a_hash_based_one(tmp_path: Path) -> None:
    package = _package(tmp_path, 1)
    subprocess.run(
        [sys.executable, "-c", "import shipped.settings"],
        cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, check=True,
    )  # fmt: skip
    assert _flags(package, "settings") == 0  # a developer's run wrote a timestamp pyc
    precompile(package, CHECKED)
    assert _flags(package, "settings") == HASH_BASED | CHECK_SOURCE


def test_an_edit_after_precompiling_runs_the_new_source_with_checked_pycs(tmp_path: Path) -> None:
    package = _package(tmp_path, 1)
    precompile(package, CHECKED)
    _package(tmp_path, 2)  # a developer edits the module after a deploy
    assert _imported_value(tmp_path) == 2


def test_unchecked_pycs_are_trusted_as_they_are_so_only_code_nobody_edits_gets_them(tmp_path: Path) -> None:
    package = _package(tmp_path, 1)
    precompile(package, UNCHECKED)
    assert _flags(package, "settings") == HASH_BASED
    _package(tmp_path, 2)
    assert _imported_value(tmp_path) == 1  # why chalicelib's are checked


def test_a_module_that_does_not_compile_stops_the_deploy(tmp_path: Path) -> None:
    package = _package(tmp_path, 1)
    (package / "broken.py").write_text("def (:\n")
    with pytest.raises(SystemExit, match="compiling"):
        precompile(package, CHECKED)

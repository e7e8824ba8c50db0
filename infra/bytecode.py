"""Compiled bytecode shipped with the code, so that Lambda does not compile it at every cold start.

Lambda's code and layers are read-only: Python cannot write ``__pycache__`` there, so a
package shipped as source is compiled again by every new environment (numpy's 237 modules
alone take about 0.2 s more to import from source than from bytecode here:
docs/PERFORMANCE.md, "Bytecode"). pip compiles what it installs; Chalice and our layer
unpack wheels and copy source, so neither ships bytecode unless we compile it first.

Hash-based pycs (PEP 552), never timestamp ones: a zip keeps times to 2 s and Lambda's
extraction sets its own, so a timestamp pyc could be taken for stale, or worse, for fresh.
The layer is built in a temporary folder and never edited, so its pycs are *unchecked*
(never compared with the source). ``chalicelib/`` is the working tree a developer edits, so
its pycs are *checked*: Python hashes the source at import and recompiles if it changed, so
a stale pyc is never run (a hash costs far less than a compile).
"""

from __future__ import annotations

import compileall
import py_compile
import re
import sys
from pathlib import Path

CHECKED = py_compile.PycInvalidationMode.CHECKED_HASH
UNCHECKED = py_compile.PycInvalidationMode.UNCHECKED_HASH


def precompile(folder: Path, mode: py_compile.PycInvalidationMode) -> int:
    """Compile every module under ``folder`` for the running Python; the number of pycs."""
    in_a_cache = re.compile(r"[\\/]__pycache__[\\/]")  # never compile what a cache holds
    # force: a timestamp pyc that Python wrote during a developer's run would otherwise be kept
    compiled = compileall.compile_dir(
        str(folder), quiet=1, workers=0, invalidation_mode=mode, rx=in_a_cache, force=True
    )
    if not compiled:
        raise SystemExit(f"compiling {folder} failed")
    tag = sys.implementation.cache_tag
    return sum(1 for _ in folder.rglob(f"__pycache__/*.{tag}.pyc"))

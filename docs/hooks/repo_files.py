"""MkDocs hook: the repository files the pages link to from outside ``docs/``.

The pages are read on GitHub too, where ``../bench/accuracy.png`` or ``../openapi.yaml`` is the
file itself. MkDocs only knows files under ``docs/`` and would report such a link as broken, so
this hook adds each of them to the site under ``repo/`` and lets MkDocs resolve the link as
written: one link works in both places, and a file renamed or removed still fails the strict build.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files, InclusionLevel

# Paths from the project root. A page may link to these (as ../<path>, relative to docs/).
SHARED = (
    "openapi.yaml",
    "infra/template.yaml",
    "bench/results.json",
    "bench/accuracy.json",
    "bench/templates.json",
    "bench/accuracy.png",
)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add each shared file as ``../<path>`` (how pages link to it), written to ``repo/<path>``."""
    root = Path(config.config_file_path).parent
    for path in SHARED:
        source = root / path
        # Explicitly included: MkDocs's default exclusion of dotfiles would otherwise catch "../".
        file = File.generated(
            config, f"../{path}", abs_src_path=str(source), inclusion=InclusionLevel.NOT_IN_NAV
        )
        file.dest_uri = f"repo/{path}"
        files.append(file)
    return files

"""The error tree drawn in ``core/errors.py``'s docstring is the module's: every error class is
drawn under its real base, with its builtin second base, and named in docs/ARCHITECTURE.md."""

from __future__ import annotations

import inspect
import re

from chalicelib.core import errors
from sandbox.stack import PROJECT_DIR

# "    │   ├── BadPageToken           a next_token …  (also ValueError)"
DRAWN = re.compile(r"^(?P<indent>[ │├└─]*)(?P<name>[A-Z]\w+)\b(?P<rest>.*)$")
ALSO = re.compile(r"\(also (\w+)\)")


def drawn_tree(docstring: str) -> dict[str, tuple[str | None, str | None]]:
    """``name -> (parent, builtin second base)`` for each class drawn in ``docstring``."""
    tree: dict[str, tuple[str | None, str | None]] = {}
    lines = docstring.split("::", 1)[1].split("\n\n")[1].splitlines()
    ancestors: list[tuple[int, str]] = []  # (column of the name, name), innermost last
    for line in lines:
        match = DRAWN.match(line)
        if match is None:
            continue  # a description carried on to the next line
        column = len(match.group("indent"))
        while ancestors and ancestors[-1][0] >= column:
            ancestors.pop()
        also = ALSO.search(match.group("rest"))
        tree[match.group("name")] = (ancestors[-1][1] if ancestors else None, also and also.group(1))
        ancestors.append((column, match.group("name")))
    return tree


def defined_tree() -> dict[str, tuple[str | None, str | None]]:
    tree: dict[str, tuple[str | None, str | None]] = {}
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if not issubclass(cls, errors.FacegateError) or cls.__module__ != errors.__name__:
            continue
        ours = [base.__name__ for base in cls.__bases__ if issubclass(base, errors.FacegateError)]
        builtin = [base.__name__ for base in cls.__bases__ if not issubclass(base, errors.FacegateError)]
        parent = None if cls is errors.FacegateError else ours[0]
        tree[name] = (parent, builtin[0] if builtin and parent else None)
    return tree


def test_the_docstring_draws_every_error_under_its_base() -> None:
    assert drawn_tree(errors.__doc__ or "") == defined_tree()


def test_the_architecture_page_names_every_error() -> None:
    page = (PROJECT_DIR / "docs" / "ARCHITECTURE.md").read_text()
    errors_section = page.split("## Errors", 1)[1].split("\n## ", 1)[0]
    assert [name for name in sorted(defined_tree()) if f"`{name}`" not in errors_section] == []


def test_a_misplaced_error_is_caught() -> None:
    drawn = drawn_tree(
        "Errors::\n\n    FacegateError\n    ├── NotFound   404\n"
        "    │   └── ObjectUnreadable  (also ValueError)\n    └── Forbidden  403\n\nafter\n"
    )
    assert drawn == {
        "FacegateError": (None, None),
        "NotFound": ("FacegateError", None),
        "ObjectUnreadable": ("NotFound", "ValueError"),
        "Forbidden": ("FacegateError", None),
    }
    assert drawn["ObjectUnreadable"] != defined_tree()["ObjectUnreadable"]

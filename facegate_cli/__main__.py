"""facegate: the admin command line of a facegate stage (the sandbox or a deployed one)."""

from __future__ import annotations

import argparse
import sys
import urllib.error
from importlib import import_module

from facegate_cli.client import ApiError
from facegate_cli.context import Context
from facegate_cli.errors import CliError
from facegate_cli.stages import StageNotFound, default_stage

# Each module adds its sub-commands with ``register(subcommands)``; a parser's ``run``
# default is the function the command calls with (args, Context).
COMMAND_MODULES: tuple[str, ...] = (
    "facegate_cli.commands.session",
    "facegate_cli.commands.employees",
    "facegate_cli.commands.consent",
    "facegate_cli.commands.scans",
    "facegate_cli.commands.report",
    "facegate_cli.commands.gallery",
    "facegate_cli.commands.importer",
    "facegate_cli.commands.access",
    "facegate_cli.commands.rules",
    "facegate_cli.commands.dlq",
    "facegate_cli.commands.scim",
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="facegate", description=__doc__)
    root.add_argument(
        "--stage",
        default=default_stage(),
        help="sandbox (default: the running `sandbox up`) or a deployed stage",
    )
    root.add_argument("--json", action="store_true", help="print JSON instead of tables")
    subcommands = root.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        import_module(name).register(subcommands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    context = Context(stage_name=args.stage, json=args.json)
    try:
        return int(args.run(args, context))
    except StageNotFound as error:
        print(f"facegate: {error}", file=sys.stderr)
        return 2
    except CliError as error:
        print(f"facegate: {error}", file=sys.stderr)
        return error.exit_code
    except ApiError as error:
        print(f"facegate: the API answered {error.status}: {error.message}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:  # the API is not there (a stopped sandbox, say)
        print(f"facegate: cannot reach the API: {error.reason}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

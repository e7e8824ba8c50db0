"""What a command can fail with besides the API's answers; ``main`` prints it and exits."""

from __future__ import annotations


class CliError(Exception):
    """A failure the message explains; ``exit_code`` 2 is usage or setup, 1 a refusal."""

    exit_code = 2


class UsageError(CliError):
    """The command line asks for something impossible (a missing photo, no confirmation)."""

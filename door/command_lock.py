"""A command hook as the door's lock (``driver = "command"``): a site's own program releases
and locks the door; its exit status says whether it did.

The hook runs without a shell, ``{seconds}`` replaced in its arguments, under a deadline;
its stdout is thrown away and only the end of its stderr is kept (a hook that floods it costs
no memory), and the wait is on the hook itself, not on its pipes (a child it left behind
holding stderr does not make it a failure).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import select
import signal
import subprocess
import time
from collections.abc import Sequence

from door.locks import check_seconds, describe, one_line, seconds_text
from door.ports import HardwareFailed

log = logging.getLogger(__name__)

# How much of a hook's stderr is kept (its end): enough for its last words, whatever it floods.
STDERR_TAIL = 4096
# How often a hook whose stderr is held open by a child it left behind is checked for its exit.
HOOK_POLL_SECONDS = 0.02


class CommandLock:
    """A command hook: ``unlock_argv`` to release, ``lock_argv`` to lock, run without a shell.

    ``{seconds}`` in an argument becomes the unlock time (``5``, ``2.5``); the unlock command
    is expected to lock again by itself. A command that exits non-zero, does not finish within
    ``timeout`` (it is killed, with whatever it started) or cannot be run is ``HardwareFailed``,
    with the end of what it wrote to stderr. A hook is done when it exits, even if a daemon it
    started still holds its stderr; whatever it writes there costs a few KB of memory at most.
    """

    def __init__(self, unlock_argv: Sequence[str], lock_argv: Sequence[str], timeout: float = 5.0) -> None:
        self._unlock_argv = _checked_argv(unlock_argv, "unlock")
        self._lock_argv = _checked_argv(lock_argv, "lock")
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self._timeout = timeout

    def unlock(self, seconds: float) -> None:
        """Run the unlock command with ``{seconds}`` filled in."""
        check_seconds(seconds)
        text = seconds_text(seconds)
        self._run([argument.replace("{seconds}", text) for argument in self._unlock_argv])

    def lock(self) -> None:
        """Run the lock command."""
        self._run(list(self._lock_argv))

    def _run(self, argv: list[str]) -> None:
        # Only the program's name goes into messages: its arguments may hold a token.
        name = f"lock command {argv[0]!r}"
        try:
            # A session of its own, so that a timeout kills what the hook started too.
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as error:  # missing, not executable
            raise HardwareFailed(f"{name} could not be run: {describe(error)}") from None
        with process:
            assert process.stderr is not None
            returncode, said = _wait_keeping_tail(process, process.stderr.fileno(), self._timeout)
            if returncode is None:
                _kill_session(process)
                raise HardwareFailed(f"{name} did not finish within {self._timeout:g} s")
        if returncode != 0:
            last_words = one_line(said.decode("utf-8", errors="replace"))
            raise HardwareFailed(f"{name} exited {returncode}" + (f": {last_words}" if last_words else ""))


def _wait_keeping_tail(
    process: subprocess.Popen[bytes], stderr: int, timeout: float
) -> tuple[int | None, bytes]:
    """Wait up to ``timeout`` for the hook itself to exit (None if it did not), draining its
    stderr meanwhile and keeping its last ``STDERR_TAIL`` bytes.

    Drained, so that a chatty hook never blocks on a full pipe; only the tail kept, so that a
    hook flooding it (``yes >&2``) costs no memory; not into a file, which the same flood would
    fill by gigabytes. The exit is what counts, not the pipe's end: a child the hook left
    behind (a daemon it started) may hold the pipe open for ever.
    """
    deadline = time.monotonic() + timeout
    # poll, not select: select cannot watch a descriptor numbered past 1023.
    pipe = select.poll()
    pipe.register(stderr, select.POLLIN)
    tail = b""
    pipe_open = True
    while (returncode := process.poll()) is None:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, tail
        if not pipe_open:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(left)
            continue
        if pipe.poll(min(left, HOOK_POLL_SECONDS) * 1000):
            chunk = os.read(stderr, 65536)
            pipe_open = bool(chunk)
            tail = (tail + chunk)[-STDERR_TAIL:]
    # What the hook wrote just before it exited is still in the pipe: read what is there now,
    # a bounded amount (a child left behind may keep writing).
    for _ in range(16):
        if not pipe_open or not pipe.poll(0):
            break
        chunk = os.read(stderr, 65536)
        pipe_open = bool(chunk)
        tail = (tail + chunk)[-STDERR_TAIL:]
    return returncode, tail


def _checked_argv(argv: Sequence[str], what: str) -> tuple[str, ...]:
    # A plain string is a sequence too: "unlock.sh 5" would run a program named "u".
    if isinstance(argv, str) or not argv or not all(isinstance(argument, str) for argument in argv):
        # (Not echoed: an argument may hold a token.)
        raise ValueError(f"the {what} command must be a non-empty list of arguments (strings)")
    return tuple(argv)


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended just now
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()

"""What every command returns, so the CLI stays a thin printer.

Each library command (``archiver.package.package``, ``archiver.validate.validate``,
...) returns an object with this shape; the CLI prints it as text or JSON and
exits with its code.  Exit codes: 0 ok, 1 invalid or failed, 2 usage.
"""

from __future__ import annotations

from typing import Iterable, Protocol, runtime_checkable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


@runtime_checkable
class Outcome(Protocol):
    @property
    def exit_code(self) -> int: ...

    def to_json(self) -> dict: ...

    def lines(self) -> Iterable[tuple[str, str]]:
        """Human output as (stream, text) pairs; stream is "out" or "err".

        Findings of severity warning or error go to "err" (so a warning is
        visible on stderr even when the exit code is 0); results go to "out".
        """
        ...


class UsageError(Exception):
    """Bad arguments detected by a library function; the CLI exits 2."""

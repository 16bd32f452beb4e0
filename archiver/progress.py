"""Progress bars for long batches: on a terminal only, on stderr only.

stdout carries results (and ``--json``), so a bar never goes there.  When
stderr is not a terminal (a pipe, a log file, CI) nothing is drawn at all, so
logs stay clean.  ``ARCHIVER_PROGRESS=0`` turns bars off; ``=1`` forces them
(useful under tmux recordings).  No dependency: a bar is one rewritten line.

    from archiver.progress import progress
    for bag in progress(bags, label="validate"):
        ...
"""

from __future__ import annotations

import os
import sys
import time
from typing import Iterable, Iterator, TextIO, TypeVar

T = TypeVar("T")

_WIDTH = 28
_INTERVAL = 0.1  # seconds between redraws: drawing must never dominate the work


def enabled(stream: TextIO | None = None) -> bool:
    """Whether bars are drawn on ``stream`` (default stderr)."""
    setting = os.environ.get("ARCHIVER_PROGRESS", "")
    if setting == "0":
        return False
    if setting == "1":
        return True
    stream = stream if stream is not None else sys.stderr
    try:
        return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # closed or odd streams
        return False


def render(done: int, total: int | None, label: str = "", width: int = _WIDTH) -> str:
    """One bar line (pure): ``label [#######.......]  3/10``, or a counter when the total is unknown."""
    prefix = f"{label} " if label else ""
    if not total:
        return f"{prefix}{done}"
    done = min(done, total)
    filled = done * width // total
    return f"{prefix}[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def progress(iterable: Iterable[T], total: int | None = None, label: str = "", stream: TextIO | None = None) -> Iterator[T]:
    """Yield from ``iterable`` unchanged, drawing a bar on a terminal.

    ``total`` defaults to ``len(iterable)`` when it has one.  The bar line is
    erased at the end (and on an exception), so the command's own output that
    follows is not interleaved with it.
    """
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    out = stream if stream is not None else sys.stderr
    if not enabled(out):
        yield from iterable
        return
    last = 0.0
    done = 0
    shown = False

    def draw() -> None:
        nonlocal shown
        out.write("\r\x1b[2K" + render(done, total, label))
        out.flush()
        shown = True

    try:
        draw()
        for item in iterable:
            yield item
            done += 1
            now = time.monotonic()
            if now - last >= _INTERVAL or done == total:
                last = now
                draw()
    finally:
        if shown:
            out.write("\r\x1b[2K")
            out.flush()

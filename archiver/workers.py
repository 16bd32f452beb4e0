"""How a batch is spread over processes: how many, and how they start.

``package`` and ``validate`` run their texts and bags in a process pool.
Two facts are decided here once, for both:

- **how many workers by default**: the CPUs this process may run on
  (``os.sched_getaffinity``), not ``os.cpu_count()``, which counts the host's
  CPUs even when a container or ``taskset`` allows two;
- **how they start**: forked where the platform can fork and this process
  has no other thread.  A forked worker inherits the modules the parent
  imported (lxml, the extraction rules: ~0.25 s of CPU per worker on the
  benchmark machine, docs/performance.md), where a ``spawn`` or
  ``forkserver`` worker imports them again.  Python 3.14 makes forkserver the
  default on Linux because forking a process with threads can deadlock on a
  lock another thread held; so a caller with threads (a library user's web
  server) gets the platform's default instead, and the CLI, single-threaded,
  gets fork.  macOS and Windows keep their default (spawn).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import sys
import threading
from collections import deque
from concurrent.futures import ProcessPoolExecutor


def usable_cpus() -> int:
    """The CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def default_jobs(jobs: int | None) -> int:
    """``--jobs`` as given, else the usable CPUs."""
    return jobs if jobs else usable_cpus()


def start_method() -> str | None:
    """"fork" where that is safe and helps, else None (the platform's default)."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return None


def process_pool(workers: int, **kwargs) -> ProcessPoolExecutor:
    """A process pool of ``workers`` started by ``start_method()``."""
    method = start_method()
    context = multiprocessing.get_context(method) if method else None
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, **kwargs)


@contextlib.contextmanager
def gc_frozen():
    """The objects alive when a run starts (modules, rules, registries, profiles) frozen for the run.

    They live as long as the run: frozen, Python's cyclic garbage collector no longer walks them
    in its full collections (package: ~0.07 ms per text, jobs=1, bench corpus), and workers
    forked from here do not copy the memory pages such a walk would write to.  Undone at the
    end; left alone when the caller has frozen objects of its own.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def map_in_order(fn, items, *, jobs: int | None, label: str, chunksize: int = 1):
    """``fn`` of each item, in the items' order, with a progress bar.

    One item, or one job, runs here (no pool to start); more run in ``jobs``
    processes.  ``fn`` and the items must pickle (a module-level function)."""
    from .progress import progress

    items = list(items)
    jobs = default_jobs(jobs)
    with gc_frozen():
        if jobs <= 1 or len(items) <= 1:
            yield from (fn(it) for it in progress(items, label=label))
            return
        with process_pool(min(jobs, len(items))) as pool:
            yield from progress(_windowed(pool, fn, items, chunksize, jobs * WINDOW), total=len(items), label=label)


# Chunks in flight per worker.  Executor.map submits every chunk at once: each one's
# arguments, and each result until it is read, stay in the parent (receive of 10,000
# archives: tens of MB).  A few per worker keep the workers fed and the parent flat.
WINDOW = 4


def _run_chunk(fn, chunk: list) -> list:
    return [fn(it) for it in chunk]


def _windowed(pool, fn, items: list, chunksize: int, window: int):
    """``fn`` of each item in order, with at most ``window`` chunks submitted and not yet read."""
    pending: deque = deque()
    for i in range(0, len(items), chunksize):
        pending.append(pool.submit(_run_chunk, fn, items[i:i + chunksize]))
        if len(pending) >= window:
            yield from pending.popleft().result()
    while pending:
        yield from pending.popleft().result()

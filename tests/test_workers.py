"""How batches run in parallel: the default --jobs and the workers' start method."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from archiver import workers

ROOT = Path(__file__).resolve().parent.parent


def test_default_jobs_are_the_usable_cpus_not_the_hosts():
    if hasattr(os, "sched_getaffinity"):
        assert workers.usable_cpus() == len(os.sched_getaffinity(0))
    assert workers.default_jobs(None) == workers.usable_cpus()
    assert workers.default_jobs(3) == 3


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity (Linux)")
def test_default_jobs_follow_a_narrowed_affinity():
    code = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); from archiver import workers; print(workers.default_jobs(None))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "1"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is chosen on Linux only")
def test_fork_only_while_this_process_has_no_other_thread():
    code = "from archiver import workers; print(workers.start_method())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "fork"
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=True)
    t.start()
    try:
        assert workers.start_method() is None
    finally:
        stop.set()
        t.join()


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def test_a_caller_with_threads_gets_the_same_bags_from_non_forked_workers(tmp_path):
    # A library caller with a thread alive gets the platform's default start method (forkserver or
    # spawn): workers then import everything themselves; the bags must be the same as with fork.
    texts = tmp_path / "in"
    texts.mkdir()
    for name in ("interview-harbour-council.txt", "news-library-grant.txt", "oped-river-towns.txt"):
        (texts / name).write_bytes((ROOT / "incoming" / name).read_bytes())
    script = textwrap.dedent("""
        import sys, threading
        from archiver import workers
        from archiver.package import package
        stop = threading.Event()
        if sys.argv[2] == "thread":
            threading.Thread(target=stop.wait, daemon=True).start()
        print(workers.start_method())
        r = package([sys.argv[1]], out=sys.argv[3], jobs=2)
        stop.set()
        print(r.summary())
        sys.exit(r.exit_code)
    """)
    env = dict(os.environ, SOURCE_DATE_EPOCH="1750000000")
    runs = {}
    for mode in ("thread", "plain"):
        out = tmp_path / f"bags-{mode}"
        p = subprocess.run([sys.executable, "-c", script, str(texts), mode, str(out)], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        method, summary = p.stdout.split("\n")[:2]
        assert summary == "3 packaged, 0 already packaged, 0 failed"
        runs[mode] = (method, _digests(out))
    assert runs["thread"][0] == "None" and runs["plain"][0] == ("fork" if sys.platform.startswith("linux") else "None")
    assert runs["thread"][1] == runs["plain"][1] and len(runs["plain"][1]) > 3 * 7


def test_map_in_order_freezes_the_collector_for_the_run_only():
    # What is alive when a batch starts is frozen while it runs (workers.gc_frozen), then unfrozen;
    # a caller's own frozen objects are left frozen.
    import gc

    from archiver.workers import map_in_order

    seen = []
    assert gc.get_freeze_count() == 0
    assert list(map_in_order(abs, [-1, -2], jobs=1, label="t")) == [1, 2]
    assert gc.get_freeze_count() == 0
    it = map_in_order(abs, [-3], jobs=1, label="t")
    seen.append(next(it))
    assert gc.get_freeze_count() > 0  # frozen while the batch runs
    assert list(it) == []
    assert gc.get_freeze_count() == 0 and seen == [3]


def test_at_most_a_window_of_chunks_is_in_flight():
    # Executor.map submitted every chunk at once (receive of 10,000 archives held them all in the
    # parent); _windowed keeps at most `window` submitted and not yet read, and keeps the order.
    from concurrent.futures import Future

    from archiver.workers import _windowed

    class Pool:
        outstanding = peak = 0

        def submit(self, fn, *args):
            Pool.outstanding += 1
            Pool.peak = max(Pool.peak, Pool.outstanding)
            f = Future()
            f.set_result(fn(*args))
            real_result = f.result

            def result(timeout=None):
                Pool.outstanding -= 1
                return real_result(timeout)

            f.result = result
            return f

    got = list(_windowed(Pool(), abs, [-i for i in range(100)], 3, 4))
    assert got == list(range(100))
    assert Pool.peak == 4 and Pool.outstanding == 0


def test_map_in_order_keeps_the_order_in_a_pool():
    from archiver.workers import map_in_order

    assert list(map_in_order(abs, [-i for i in range(40)], jobs=2, label="t", chunksize=3)) == list(range(40))

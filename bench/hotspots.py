"""Where the time goes: profile ``archiver package`` or ``validate`` on the synthetic corpus.

    .venv/bin/python bench/hotspots.py package [--texts 300]
    .venv/bin/python bench/hotspots.py validate [--texts 300]

Runs in one process (jobs=1) so the profile sees every call, prints the
stage breakdown (wall time per stage, measured without the profiler) and the
top functions by own time (cProfile).  Used to decide what to optimize; see
docs/performance.md for the findings.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import corpus  # noqa: E402

# Stages worth timing, by "module:function".  Missing ones are skipped, so this
# keeps working while the modules change.  Only plain functions: a generator's
# time would not be seen by the wrapper.
STAGES = {
    "package": [
        "archiver.package:_read_text", "archiver.package:_decode", "archiver.curator:read_sidecars",
        "archiver.package:_infer", "archiver.clean:normalize", "archiver.clean:derivative",
        "archiver.language:detect", "archiver.translation:find", "archiver.persons:find",
        "archiver.extract:_find_outlets", "archiver.extract:_published",
        "archiver.curator:merge", "archiver.record:build",
        "archiver.record:Record.dumps", "archiver.hashing:hash_bytes", "archiver.mets:build",
        "archiver.mets:serialize", "archiver.mets:render", "archiver.bag:plan", "archiver.bag:write",
        "archiver.bag:_write_file", "archiver.bag:_fsync_dir",
        "archiver.catalog:read_written_bag", "archiver.catalog:read_bag", "archiver.catalog:index_bags_after",
        "archiver.catalog:Indexer.add", "archiver.catalog:_store", "archiver.package:ResultLog.append", "archiver.package:_claim",
    ],
    "validate": [
        "archiver.validate:validate_path", "archiver.tree:DirTree.read",
        "archiver.hashing:hash_file", "archiver.hashing:hash_bytes", "archiver.tagfiles:parse_manifest",
        "archiver.tagfiles:parse_bag_info", "archiver.validate:_collisions",
        "archiver.ourbag:check", "archiver.ourbag:_as_rendered", "archiver.record:Record.model_validate",
        "archiver.mets:render", "archiver.ourbag:_files_of", "archiver.ourbag:_described_files",
        "archiver.xmlsafe:parse", "archiver.mets:check_rules", "archiver.schematron:Rules.failed", "archiver.xsd:check",
        "archiver.mets:read_record", "archiver.mets:read_files", "archiver.mets:read_header",
        "archiver.profile:check", "archiver.catalog:note_validations",
    ],
}


def _instrument(names):
    totals = defaultdict(float)
    counts = defaultdict(int)
    for spec in names:
        mod_name, _, attr = spec.partition(":")
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        owner, _, fn_name = attr.rpartition(".")
        holder = getattr(mod, owner, None) if owner else mod
        fn = getattr(holder, fn_name, None) if holder is not None else None
        if fn is None:
            continue

        def wrap(fn, spec=spec):
            @functools.wraps(fn)
            def timed(*a, **k):
                t = time.perf_counter()
                try:
                    return fn(*a, **k)
                finally:
                    totals[spec] += time.perf_counter() - t
                    counts[spec] += 1
            return timed

        wrapped = wrap(fn)
        setattr(holder, fn_name, wrapped)
        # Also where it was imported by name (``from .hashing import hash_bytes``).
        for name, m in list(sys.modules.items()):
            if name.startswith("archiver.") and m is not mod:
                for k, v in list(vars(m).items()):
                    if v is fn:
                        setattr(m, k, wrapped)
    return totals, counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["package", "validate"])
    ap.add_argument("--texts", type=int, default=300)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="archiver-profile-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    try:
        texts = work / "texts"
        corpus.write_texts(texts, a.texts)
        from archiver.package import package

        package([texts], out=work / "warm", jobs=1)  # imports and caches warm
        if a.what == "package":
            run = lambda out: package([texts], out=out, jobs=1)  # noqa: E731
        else:
            from archiver.validate import validate

            package([texts], out=work / "bags", jobs=1)
            run = lambda out: validate([work / "bags"], jobs=1)  # noqa: E731
        totals, counts = _instrument(STAGES[a.what])
        t = time.perf_counter()
        outcome = run(work / "timed")
        wall = time.perf_counter() - t
        print(f"{a.what} {a.texts} texts, jobs=1: {wall:.3f} s, {a.texts / wall:.0f} texts/s, exit {outcome.exit_code}")
        print("stage breakdown (inclusive wall time; nested stages overlap):")
        for spec in STAGES[a.what]:
            if counts[spec]:
                print(f"  {spec:40s} {totals[spec]:7.3f} s  {1000 * totals[spec] / a.texts:6.2f} ms/text  ({counts[spec]} calls)")
        if a.what == "package":  # the rest: reading, records, hashing, the bag, the catalog, the run itself
            rest = wall - totals["archiver.package:_infer"] - totals["archiver.mets:render"]
            print(f"  {'outside _infer and mets.render':40s} {rest:7.3f} s  {1000 * rest / a.texts:6.2f} ms/text")
        shutil.rmtree(work / "timed", ignore_errors=True)
        prof = cProfile.Profile()
        prof.enable()
        run(work / "timed")
        prof.disable()
        print(f"\ntop {a.top} functions by own time (cProfile adds overhead):")
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(a.top)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

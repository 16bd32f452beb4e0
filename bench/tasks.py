"""One measured thing per process: ``python bench/tasks.py TASK ARG...``.

bench.py starts each task in a fresh interpreter so every figure includes only
its own work and its peak RSS is its own (see ``peak_rss_kib``).  Each task
times only the work (not interpreter start-up, imports or archiver's one-time
warm-up, see ``_warm``) and prints one JSON object: {"seconds": ..., "items": ..., "bytes": ..., "rss_kib": ...}.
Exit code 3 with {"unavailable": reason} means the contender cannot run yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import sys
import threading
import time
from multiprocessing import get_context
from pathlib import Path

ALGS = ("sha256", "sha512")
UNAVAILABLE = 3


def peak_rss_kib() -> int:
    """Peak RSS of this process and of its reaped children (worker pools), in KiB.

    This process's VmHWM, not the parent's view via wait4: on Linux a child's
    ru_maxrss starts at its parent's RSS at fork/exec, which would put a floor
    of the bench driver's own memory under every figure.  VmHWM restarts at exec.
    """
    own = 0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                own = int(line.split()[1])
    except OSError:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def _emit(seconds: float, items: int = 0, nbytes: int = 0, **extra) -> None:
    print(json.dumps({"seconds": seconds, "items": items, "bytes": nbytes, "rss_kib": peak_rss_kib(), **extra}))


def _unavailable(reason: str) -> None:
    print(json.dumps({"unavailable": reason}))
    sys.exit(UNAVAILABLE)


def _texts(folder: str) -> list[Path]:
    return sorted(Path(folder).glob("*.txt"))


def _bags(folder: str) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if (p / "bagit.txt").is_file())


def _tree_bytes(paths) -> int:
    return sum(p.stat().st_size for p in paths)


def _chunks(seq, n):
    k = max(1, -(-len(seq) // n))
    return [seq[i : i + k] for i in range(0, len(seq), k)]


def _check(outcome, what: str) -> None:
    """A packaging failure is fatal for the figure (bags are missing)."""
    if getattr(outcome, "exit_code", 0) != 0:
        errs = [text for stream, text in outcome.lines() if stream == "err"][:5]
        sys.stderr.write(f"{what}: exit {outcome.exit_code}: {errs}\n")
        sys.exit(1)


def _verdict(outcome) -> dict:
    """A validator that did all its work but judged bags invalid still has a valid time; say so."""
    if getattr(outcome, "exit_code", 0) == 0:
        return {}
    errs = [text for stream, text in outcome.lines() if stream == "err"]
    return {"invalid": f"exit {outcome.exit_code}, {len(errs)} error lines; first: {errs[0] if errs else '-'}"}


def _warm(fn) -> float:
    """Run ``fn(scratch_dir)`` once untimed: archiver imports lxml, pydantic and its
    rules lazily on first use (~0.2 s), which bagit-python pays at import, before
    its timer starts.  Returns the one-time cost, reported as startup_seconds."""
    import tempfile

    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as d:
        fn(Path(d))
    return time.perf_counter() - t


def _warm_package(package) -> float:
    def run(d: Path) -> None:
        (d / "in").mkdir()
        (d / "in" / "warm.txt").write_text("Warm-up\n\nA text “to” load every rule once.\n", encoding="utf-8")
        package([str(d / "in")], out=str(d / "out"), jobs=1)

    return _warm(run)


def _warm_validate(validate, bag: Path | None = None) -> float:
    """Validate ``bag`` (one of the bags to measure: loads exactly what they need),
    or else a tiny plain bag (the BagIt layer), without timing it."""
    def run(d: Path) -> None:
        if bag is not None:
            validate([str(bag)], jobs=1)
            return
        (d / "warm.txt").write_text("warm", encoding="utf-8")
        _floor_bag(d / "warm.txt", d / "bag")
        validate([str(d / "bag")], jobs=1)

    return _warm(run)


# --- packaging ---------------------------------------------------------------


def package_archiver(src: str, out: str, jobs: str) -> None:
    try:
        from archiver.package import package
    except ImportError as e:
        _unavailable(f"archiver.package: {e}")
    texts = _texts(src)
    startup = _warm_package(package)
    t = time.perf_counter()
    outcome = package([src], out=out, jobs=int(jobs))
    dt = time.perf_counter() - t
    _check(outcome, "archiver package")
    _emit(dt, len(texts), _tree_bytes(texts), startup_seconds=startup)


def package_bagit(src: str, out: str) -> None:
    import bagit

    texts = _texts(src)
    Path(out).mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    for p in texts:
        bag = Path(out) / p.stem
        bag.mkdir()
        shutil.copyfile(p, bag / p.name)
        bagit.make_bag(str(bag), checksums=list(ALGS))
    dt = time.perf_counter() - t
    _emit(dt, len(texts), _tree_bytes(texts))


def _floor_bag(src: Path, bag: Path) -> None:
    """The least a bag writer must do: copy, hash, write manifests and tag files."""
    data = src.read_bytes()
    (bag / "data").mkdir(parents=True)
    (bag / "data" / src.name).write_bytes(data)
    digests = {a: hashlib.new(a, data).hexdigest() for a in ALGS}
    tags = {
        "bagit.txt": "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": f"Bagging-Date: 2025-01-01\nPayload-Oxum: {len(data)}.1\n",
    }
    for a in ALGS:
        tags[f"manifest-{a}.txt"] = f"{digests[a]}  data/{src.name}\n"
    for name, text in tags.items():
        (bag / name).write_text(text, encoding="utf-8")
    for a in ALGS:
        lines = "".join(f"{hashlib.new(a, tags[n].encode()).hexdigest()}  {n}\n" for n in sorted(tags))
        (bag / f"tagmanifest-{a}.txt").write_text(lines, encoding="utf-8")


def _floor_package_chunk(args) -> int:
    texts, out = args
    for p in texts:
        _floor_bag(p, Path(out) / p.stem)
    return len(texts)


def package_floor(src: str, out: str, jobs: str) -> None:
    texts = _texts(src)
    Path(out).mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    _run_chunks(_floor_package_chunk, [(c, out) for c in _chunks(texts, int(jobs))], int(jobs))
    dt = time.perf_counter() - t
    _emit(dt, len(texts), _tree_bytes(texts))


def _run_chunks(fn, chunks, jobs: int):
    if jobs <= 1 or len(chunks) <= 1:
        return [fn(c) for c in chunks]
    with get_context("fork").Pool(jobs) as pool:
        return pool.map(fn, chunks)


# --- validating --------------------------------------------------------------


def validate_archiver(folder: str, jobs: str) -> None:
    try:
        from archiver.validate import validate
    except ImportError as e:
        _unavailable(f"archiver.validate: {e}")
    bags = _bags(folder)
    startup = _warm_validate(validate, bags[0] if bags else None)
    t = time.perf_counter()
    outcome = validate([folder], jobs=int(jobs))
    dt = time.perf_counter() - t
    _emit(dt, len(bags), _payload_bytes(bags), startup_seconds=startup, **_verdict(outcome))


def audit_archiver(folder: str, jobs: str) -> None:
    """``archiver audit``: the fixity re-check of a whole collection (manifests, completeness,
    Payload-Oxum; no metadata rules), what a library runs for years after receipt.  Not a
    target of issue 7; shown beside the validators because it is bagit-python's job."""
    try:
        from archiver.audit import audit, check_fixity
    except ImportError as e:
        _unavailable(f"archiver.audit: {e}")
    bags = _bags(folder)
    startup = _warm(lambda d: bags and check_fixity(bags[0]))
    t = time.perf_counter()
    outcome = audit(folder, jobs=int(jobs))
    dt = time.perf_counter() - t
    _emit(dt, len(bags), _payload_bytes(bags), startup_seconds=startup, **_verdict(outcome))


def validate_bagit(folder: str) -> None:
    import bagit

    bags = _bags(folder)
    t = time.perf_counter()
    for b in bags:
        bagit.Bag(str(b)).validate()
    dt = time.perf_counter() - t
    _emit(dt, len(bags), _payload_bytes(bags))


def _payload_bytes(bags) -> int:
    total = 0
    for b in bags:
        for root, _dirs, files in os.walk(b / "data"):
            total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def _floor_check_bag(bag: Path) -> None:
    """Re-hash every file named in every manifest, one read per file, and compare."""
    expected: dict[str, dict[str, str]] = {}
    for kind in ("manifest", "tagmanifest"):
        for a in ALGS:
            m = bag / f"{kind}-{a}.txt"
            if m.exists():
                for line in m.read_text(encoding="utf-8").splitlines():
                    digest, rel = line.split(None, 1)  # bagit-python's tag manifests use one space
                    expected.setdefault(rel, {})[a] = digest
    for rel, want in expected.items():
        hs = {a: hashlib.new(a) for a in want}
        with open(bag / rel, "rb") as f:
            while block := f.read(1 << 20):
                for h in hs.values():
                    h.update(block)
        if any(hs[a].hexdigest() != d for a, d in want.items()):
            raise SystemExit(f"{bag}/{rel}: checksum mismatch")


def _floor_validate_chunk(bags) -> int:
    for b in bags:
        _floor_check_bag(b)
    return len(bags)


def validate_floor(folder: str, jobs: str) -> None:
    bags = _bags(folder)
    t = time.perf_counter()
    _run_chunks(_floor_validate_chunk, _chunks(bags, int(jobs)), int(jobs))
    dt = time.perf_counter() - t
    _emit(dt, len(bags), _payload_bytes(bags))


# --- delivering (export and receive; not a target of issue 7) ------------------


def _hash_path(path: Path) -> dict[str, str]:
    hs = [hashlib.new(a) for a in ALGS]
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            for h in hs:
                h.update(block)
    return {a: h.hexdigest() for a, h in zip(ALGS, hs)}


def export_archiver(folder: str, to: str, jobs: str) -> None:
    """``archiver export``: validate every bag, serialize each as tar, hash it, write the manifests."""
    try:
        from archiver.deliver import export
        from archiver.validate import validate
    except ImportError as e:
        _unavailable(f"archiver.deliver: {e}")
    bags = _bags(folder)
    startup = _warm_validate(validate, bags[0] if bags else None)
    t = time.perf_counter()
    outcome = export([folder], to=to, format="tar", jobs=int(jobs))
    dt = time.perf_counter() - t
    _check(outcome, "archiver export")
    _emit(dt, len(bags), _payload_bytes(bags), startup_seconds=startup)


def _floor_export_chunk(args) -> list[str]:
    import tarfile

    bags, to = args
    lines = []
    for b in bags:
        dest = Path(to) / f"{b.name}.tar"
        with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tf:
            tf.add(b, arcname=b.name)
        lines.append(f"{_hash_path(dest)['sha256']}  {dest.name}\n")
    return lines


def export_floor(folder: str, to: str, jobs: str) -> None:
    """The least an export does: tar each bag (tarfile), sha256+sha512 of each archive, a sums file."""
    bags = _bags(folder)
    Path(to).mkdir(parents=True)
    t = time.perf_counter()
    lines = _run_chunks(_floor_export_chunk, [(c, to) for c in _chunks(bags, int(jobs))], int(jobs))
    (Path(to) / "sha256sums.txt").write_text("".join(x for chunk in lines for x in chunk), encoding="utf-8")
    dt = time.perf_counter() - t
    _emit(dt, len(bags), _payload_bytes(bags))


def _archives(delivery: str) -> list[Path]:
    return sorted(Path(delivery).glob("*.tar"))


def receive_archiver(delivery: str, receipts: str, jobs: str) -> None:
    """``archiver receive`` without --into: each archive against delivery.xml, every bag inside validated as a stream."""
    try:
        from archiver.deliver import receive
    except ImportError as e:
        _unavailable(f"archiver.deliver: {e}")
    archives = _archives(delivery)

    def warm(d: Path) -> None:  # one archive received alone: loads the streaming validation path
        if archives:
            shutil.copy(archives[0], d / archives[0].name)
            receive(str(d), receipt_dir=str(d / "receipt"), jobs=1)

    startup = _warm(warm)
    t = time.perf_counter()
    outcome = receive(delivery, receipt_dir=receipts, jobs=int(jobs))
    dt = time.perf_counter() - t
    _emit(dt, len(archives), _tree_bytes(archives), startup_seconds=startup, **_verdict(outcome))


def receive_bagit(delivery: str, scratch: str) -> None:
    """What a library does with bagit-python alone: unpack each archive (tarfile's "data"
    filter), then Bag.validate() it, one process.  No delivery manifest is checked."""
    import tarfile

    import bagit

    archives = _archives(delivery)
    t = time.perf_counter()
    for a in archives:
        where = Path(scratch) / a.stem
        with tarfile.open(a) as tf:
            tf.extractall(where, filter="data")
        bagit.Bag(str(where / a.stem)).validate()
        shutil.rmtree(where)
    dt = time.perf_counter() - t
    _emit(dt, len(archives), _tree_bytes(archives))


def _floor_receive_chunk(archives) -> int:
    """Re-hash each archive file, then stream it and hash every member once (sha256+sha512)."""
    import tarfile

    for a in archives:
        _hash_path(a)
        with tarfile.open(a, "r|") as tf:
            for m in tf:
                if m.isfile():
                    f = tf.extractfile(m)
                    hs = [hashlib.new(x) for x in ALGS]
                    while block := f.read(1 << 20):
                        for h in hs:
                            h.update(block)
    return len(archives)


def receive_floor(delivery: str, jobs: str) -> None:
    archives = _archives(delivery)
    t = time.perf_counter()
    _run_chunks(_floor_receive_chunk, _chunks(archives, int(jobs)), int(jobs))
    dt = time.perf_counter() - t
    _emit(dt, len(archives), _tree_bytes(archives))


# --- one large payload -------------------------------------------------------


def hash_floor(size: str) -> None:
    """The machine's floor: sha256 and sha512 on two threads over the same in-memory data."""
    size = int(size)
    block = os.urandom(4 << 20)

    def work(alg: str) -> None:
        h = hashlib.new(alg)
        done = 0
        view = memoryview(block)
        while done < size:
            n = min(len(block), size - done)
            h.update(view[:n])
            done += n

    threads = [threading.Thread(target=work, args=(a,)) for a in ALGS]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    dt = time.perf_counter() - t
    _emit(dt, 1, size)


def hash_archiver(path: str) -> None:
    from archiver import hashing

    t = time.perf_counter()
    _digests, size = hashing.hash_file(path, ALGS)
    dt = time.perf_counter() - t
    _emit(dt, 1, size)


def bagit_make_large(path: str, bagdir: str) -> None:
    """bagit-python make_bag around one large file (hard-linked in: no copy is timed)."""
    import bagit

    bag = Path(bagdir)
    bag.mkdir(parents=True)
    os.link(path, bag / Path(path).name)
    t = time.perf_counter()
    bagit.make_bag(str(bag), checksums=list(ALGS))
    dt = time.perf_counter() - t
    _emit(dt, 1, os.path.getsize(path))


def bagit_validate_large(bagdir: str) -> None:
    import bagit

    t = time.perf_counter()
    bagit.Bag(bagdir).validate()
    dt = time.perf_counter() - t
    _emit(dt, 1, _payload_bytes([Path(bagdir)]))


def validate_archiver_large(bagdir: str, jobs: str) -> None:
    try:
        from archiver.validate import validate
    except ImportError as e:
        _unavailable(f"archiver.validate: {e}")
    startup = _warm_validate(validate)
    t = time.perf_counter()
    outcome = validate([bagdir], jobs=int(jobs))
    dt = time.perf_counter() - t
    _emit(dt, 1, _payload_bytes([Path(bagdir)]), startup_seconds=startup, **_verdict(outcome))


TASKS = {
    "package-archiver": package_archiver,
    "package-bagit": package_bagit,
    "package-floor": package_floor,
    "validate-archiver": validate_archiver,
    "validate-bagit": validate_bagit,
    "audit-archiver": audit_archiver,
    "validate-floor": validate_floor,
    "export-archiver": export_archiver,
    "export-floor": export_floor,
    "receive-archiver": receive_archiver,
    "receive-bagit": receive_bagit,
    "receive-floor": receive_floor,
    "hash-floor": hash_floor,
    "hash-archiver": hash_archiver,
    "bagit-make-large": bagit_make_large,
    "bagit-validate-large": bagit_validate_large,
    "validate-archiver-large": validate_archiver_large,
}

if __name__ == "__main__":
    TASKS[sys.argv[1]](*sys.argv[2:])

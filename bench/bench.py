"""archiver's benchmark: packaging, validating and one large payload, side by side
with bagit-python and plain-Python floors, in the same run.

    .venv/bin/python bench/bench.py            # default: 1000 texts, 512 MiB, 3 repetitions
    .venv/bin/python bench/bench.py --quick    # 200 texts, 64 MiB, 3 repetitions (a minute or so)
    .venv/bin/python bench/bench.py --rss-sweep  # peak RSS from 64 MiB to 2 GiB, 100 to 10,000 bags

Every measured thing runs in a fresh subprocess (bench/tasks.py); its time is
taken around the work only, its peak RSS is the task's own VmHWM or that of
its largest worker process (bench/tasks.py: peak_rss_kib).  Figures are medians over repetitions, contenders
interleaved within each repetition.  Targets are ratios within the run, never
absolute times.  Results: printed, and written to bench/out/results.json.
See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

MiB = 1 << 20
FLOOR = "floor: sha256+sha512 on 2 threads"
UNAVAILABLE = 3


# --- running one measured thing ---------------------------------------------


def run_task(task: str, *args, workdir: Path) -> dict:
    """Run bench/tasks.py TASK in a fresh interpreter; add its peak RSS."""
    cmd = [sys.executable, str(HERE / "tasks.py"), task, *map(str, args)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryFile(dir=workdir) as err:
        wall = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, cwd=ROOT)
        try:
            out = proc.stdout.read()
            proc.stdout.close()
            proc.wait()
        except BaseException:  # interrupted: leave no measured process running behind us
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - wall
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if proc.returncode == UNAVAILABLE:
        return {"unavailable": json.loads(out)["unavailable"]}
    if proc.returncode != 0:
        tail = " | ".join(stderr.strip().splitlines()[-3:])
        return {"failed": f"exit {proc.returncode}: {tail}"}
    result = json.loads(out)
    # The task's own VmHWM (and its pools'); wait4's ru_maxrss would include our RSS at fork.
    result["rss_mib"] = round(result.pop("rss_kib") / 1024, 1)
    result["wall_seconds"] = round(wall, 4)
    return result


def summarise(runs: list[dict]) -> dict:
    ok = [r for r in runs if "seconds" in r]
    if not ok:
        return {"status": runs[0].get("unavailable") and "unavailable" or "failed",
                "reason": runs[0].get("unavailable") or runs[0].get("failed")}
    secs = statistics.median(r["seconds"] for r in ok)
    items, nbytes = ok[0]["items"], ok[0]["bytes"]
    return {
        "status": "ok",
        "runs": len(ok),
        "median_seconds": round(secs, 4),
        "seconds": [round(r["seconds"], 4) for r in ok],
        "items": items,
        "bytes": nbytes,
        "items_per_second": round(items / secs, 1) if secs else None,
        "mb_per_second": round(nbytes / 1e6 / secs, 1) if secs else None,
        "peak_rss_mib": max(r["rss_mib"] for r in ok),
        **({"invalid": ok[0]["invalid"]} if "invalid" in ok[0] else {}),
        **({"startup_seconds": round(statistics.median(r["startup_seconds"] for r in ok), 3)} if "startup_seconds" in ok[0] else {}),
    }


def measure(section: str, contenders: dict, reps: int, workdir: Path, prepare=None) -> dict:
    """contenders: name -> (task, args factory(rep) -> list).  Interleaved repetitions."""
    runs: dict[str, list[dict]] = {name: [] for name in contenders}
    for rep in range(reps):
        for name, (task, make_args) in contenders.items():
            if runs[name] and "seconds" not in runs[name][-1]:
                continue  # unavailable or failed once: do not retry every repetition
            if prepare:
                prepare(name, rep)
            runs[name].append(run_task(task, *make_args(rep), workdir=workdir))
    return {name: summarise(r) for name, r in runs.items()}


# --- the machine -------------------------------------------------------------


def machine(workdir: Path) -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    fs = "unknown"
    try:
        best = ""
        for line in Path("/proc/mounts").read_text().splitlines():
            dev, mnt, kind = line.split()[:3]
            if str(workdir).startswith(mnt.rstrip("/") + "/") and len(mnt) >= len(best):
                best, fs = mnt, f"{kind} ({dev} on {mnt})"
    except OSError:
        pass
    try:
        import bagit

        bagit_version = getattr(bagit, "VERSION", None) or _dist_version("bagit")
    except ImportError:
        bagit_version = "not installed"
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {
        "archiver_commit": commit,
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "filesystem": fs,
        "bagit_python": bagit_version,
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    try:
        return version(name)
    except Exception:  # noqa: BLE001
        return "unknown"


# --- sections ------------------------------------------------------------------


def packaging(texts_dir: Path, n: int, reps: int, jobs: int, work: Path) -> tuple[dict, Path | None]:
    outs = {"archiver package": work / "pkg-archiver", "bagit-python make_bag": work / "pkg-bagit",
            "floor: copy+hash+tag files": work / "pkg-floor"}

    def prepare(name, rep):
        shutil.rmtree(outs[name], ignore_errors=True)

    res = measure("packaging", {
        "archiver package": ("package-archiver", lambda r: [texts_dir, outs["archiver package"], jobs]),
        "bagit-python make_bag": ("package-bagit", lambda r: [texts_dir, outs["bagit-python make_bag"]]),
        "floor: copy+hash+tag files": ("package-floor", lambda r: [texts_dir, outs["floor: copy+hash+tag files"], jobs]),
    }, reps, work, prepare)
    # Validate what archiver wrote when it can; otherwise bagit-python's bags.
    bags = outs["archiver package"] if res["archiver package"]["status"] == "ok" else outs["bagit-python make_bag"]
    return res, bags if bags.exists() else None


def validating(bags: Path, reps: int, jobs: int, work: Path) -> dict:
    return measure("validating", {
        "archiver validate": ("validate-archiver", lambda r: [bags, jobs]),
        "bagit-python Bag.validate": ("validate-bagit", lambda r: [bags]),
        "floor: re-hash manifests": ("validate-floor", lambda r: [bags, jobs]),
        # Not a target: the fixity-only re-check (archiver audit) that libraries repeat for years.
        "archiver audit (fixity only)": ("audit-archiver", lambda r: [bags, jobs]),
    }, reps, work)


def delivering(bags: Path, reps: int, jobs: int, work: Path) -> tuple[dict, dict]:
    """Hand-off (not a target): export the bags as a tar delivery, then receive it.

    bagit-python has no export; its receive is what a library would do with it alone:
    unpack each archive, then Bag.validate().  The receivers all read archiver's delivery."""
    outs = {"archiver export": work / "dlv-archiver", "floor: tar+hash each bag": work / "dlv-floor"}

    def prepare(name, rep):
        if name in outs:
            shutil.rmtree(outs[name], ignore_errors=True)

    res = measure("exporting", {
        "archiver export": ("export-archiver", lambda r: [bags, outs["archiver export"], jobs]),
        "floor: tar+hash each bag": ("export-floor", lambda r: [bags, outs["floor: tar+hash each bag"], jobs]),
    }, reps, work, prepare)
    delivery = outs["archiver export"]
    if res["archiver export"]["status"] == "ok" and delivery.exists():
        receipts, scratch = work / "dlv-receipts", work / "dlv-unpacked"

        def prepare_receive(name, rep):
            for d in (receipts, scratch):
                shutil.rmtree(d, ignore_errors=True)
            scratch.mkdir()

        received = measure("receiving", {
            "archiver receive": ("receive-archiver", lambda r: [delivery, receipts, jobs]),
            "bagit-python unpack+Bag.validate": ("receive-bagit", lambda r: [delivery, scratch]),
            "floor: re-hash archives+members": ("receive-floor", lambda r: [delivery, jobs]),
        }, reps, work, prepare_receive)
    else:
        received = {}
    for d in (*outs.values(), work / "dlv-receipts", work / "dlv-unpacked"):
        shutil.rmtree(d, ignore_errors=True)
    return res, received


def large_payload(size: int, reps: int, jobs: int, work: Path) -> dict:
    payload = corpus.write_large(work / "large" / "payload.bin", size)
    bagit_bag = work / "large-bagit"

    def prepare(name, rep):
        if name == "bagit-python make_bag":
            shutil.rmtree(bagit_bag, ignore_errors=True)

    make = measure("large: make", {
        "floor: sha256+sha512 on 2 threads": ("hash-floor", lambda r: [size]),
        "archiver hash_file": ("hash-archiver", lambda r: [payload]),
        "bagit-python make_bag": ("bagit-make-large", lambda r: [payload, bagit_bag]),
    }, reps, work, prepare)
    res = {"make": make}
    # Validating the same bag (bagit-python's, a plain BagIt bag) with both.
    if bagit_bag.exists():
        res["validate"] = measure("large: validate", {
            "archiver validate": ("validate-archiver-large", lambda r: [bagit_bag, jobs]),
            "bagit-python Bag.validate": ("bagit-validate-large", lambda r: [bagit_bag]),
        }, reps, work)
        res["validate"][FLOOR] = make[FLOOR]
    shutil.rmtree(bagit_bag, ignore_errors=True)
    payload.unlink()
    return res


def rss_sweep(work: Path, jobs: int, small_mib: int, large_mib: int, few: int, many: int) -> dict:
    """Peak RSS of archiver at two sizes each: should stay flat (within 50 MB)."""
    out: dict = {}
    for label, size in (("small", small_mib * MiB), ("large", large_mib * MiB)):
        payload = corpus.write_large(work / "sweep" / "payload.bin", size)
        bag = work / "sweep-bag"
        shutil.rmtree(bag, ignore_errors=True)
        run_task("bagit-make-large", payload, bag, workdir=work)
        out[f"hash_file {size // MiB} MiB"] = summarise([run_task("hash-archiver", payload, workdir=work)])
        out[f"validate 1 bag of {size // MiB} MiB"] = summarise([run_task("validate-archiver-large", bag, jobs, workdir=work)])
        out[f"bagit-python validate 1 bag of {size // MiB} MiB"] = summarise([run_task("bagit-validate-large", bag, workdir=work)])
        shutil.rmtree(bag, ignore_errors=True)
        payload.unlink()
    for count in (few, many):
        texts = work / f"sweep-texts-{count}"
        corpus.write_texts(texts, count)
        bags = work / f"sweep-bags-{count}"
        out[f"package {count} texts"] = summarise([run_task("package-archiver", texts, bags, jobs, workdir=work)])
        if bags.exists():
            out[f"validate {count} bags"] = summarise([run_task("validate-archiver", bags, jobs, workdir=work)])
            delivery = work / f"sweep-delivery-{count}"
            out[f"export {count} bags"] = summarise([run_task("export-archiver", bags, delivery, jobs, workdir=work)])
            if delivery.exists():
                out[f"receive {count} archives"] = summarise([run_task("receive-archiver", delivery, work / f"sweep-receipts-{count}",
                                                                       jobs, workdir=work)])
            for d in (delivery, work / f"sweep-receipts-{count}"):
                shutil.rmtree(d, ignore_errors=True)
        out[f"bagit-python make_bag {count} texts"] = summarise([run_task("package-bagit", texts, work / f"sweep-bbags-{count}", workdir=work)])
        shutil.rmtree(texts, ignore_errors=True)
        shutil.rmtree(bags, ignore_errors=True)
        shutil.rmtree(work / f"sweep-bbags-{count}", ignore_errors=True)
    return out


# --- ratios, targets and printing ------------------------------------------------


def ratio(a: dict, b: dict, key: str) -> float | None:
    if a.get("status") == "ok" and b.get("status") == "ok" and b[key]:
        return round(a[key] / b[key], 2)
    return None


def targets(results: dict) -> list[dict]:
    out = []

    def target(name, value, goal):
        out.append({"target": name, "value": value, "goal": goal,
                    "met": None if value is None else value >= goal})

    p = results.get("packaging", {})
    if p:
        target("packaging: archiver texts/s over bagit-python", ratio(p["archiver package"], p["bagit-python make_bag"], "items_per_second"), 3.0)
    v = results.get("validating", {})
    if v:
        target("validating: archiver bags/s over bagit-python", ratio(v["archiver validate"], v["bagit-python Bag.validate"], "items_per_second"), 3.0)
    g = results.get("large", {})
    if g:
        m = g["make"]
        target("large: archiver hash_file MB/s over bagit-python make_bag", ratio(m["archiver hash_file"], m["bagit-python make_bag"], "mb_per_second"), 1.3)
        target("large: archiver hash_file MB/s over the 2-core floor", ratio(m["archiver hash_file"], m[FLOOR], "mb_per_second"), 0.9)
        if "validate" in g:
            w = g["validate"]
            target("large: archiver validate MB/s over bagit-python validate", ratio(w["archiver validate"], w["bagit-python Bag.validate"], "mb_per_second"), 1.3)
            target("large: archiver validate MB/s over the 2-core floor", ratio(w["archiver validate"], w[FLOOR], "mb_per_second"), 0.9)
    s = results.get("rss_sweep", {})
    if s:
        keys = list(s)
        for prefix in ("hash_file", "validate 1 bag", "package", "validate", "export", "receive"):
            pair = [k for k in keys if k.startswith(prefix + " ") and s[k].get("status") == "ok"]
            pair = [k for k in pair if not (prefix == "validate" and k.startswith("validate 1 bag"))]
            if len(pair) == 2:
                delta = round(s[pair[1]]["peak_rss_mib"] - s[pair[0]]["peak_rss_mib"], 1)
                out.append({"target": f"memory: peak RSS growth, {pair[0]} -> {pair[1]} (MiB)",
                            "value": delta, "goal": "<= 47.7 (50 MB)", "met": delta <= 50e6 / MiB})
    return out


def one_line(s: str, limit: int = 160) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def print_section(title: str, res: dict, unit: str, reference: str | None, floor: str | None) -> None:
    print(f"\n{title}")
    for name, r in res.items():
        if r["status"] != "ok":
            print(f"  {name:38s} {r['status']}: {r['reason']}")
            continue
        rate = f"{r['items_per_second']:>9.1f} {unit}/s" if unit != "MB" else f"{r['mb_per_second']:>9.1f} MB/s"
        extra = ""
        key = "items_per_second" if unit != "MB" else "mb_per_second"
        if reference and name != reference and reference in res and (x := ratio(r, res[reference], key)):
            extra += f"  {x:5.2f}x bagit-python"
        if floor and name != floor and floor in res and (x := ratio(r, res[floor], key)):
            extra += f"  {x:5.2f}x floor"
        print(f"  {name:38s} {r['median_seconds']:8.3f} s {rate}  peak RSS {r['peak_rss_mib']:7.1f} MiB{extra}")
        if "invalid" in r:
            print(f"  {'':38s} ! judged the bags invalid ({one_line(r['invalid'])})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200 texts, 64 MiB large file")
    ap.add_argument("--texts", type=int, help="number of synthetic texts (default 1000; --quick 200)")
    ap.add_argument("--large-mib", type=int, help="size of the large payload in MiB (default 512; --quick 64; 0 skips)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions; figures are medians (default 3)")
    ap.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                    help="workers for archiver and the floors (default: usable CPUs)")
    ap.add_argument("--only", choices=["packaging", "validating", "delivering", "large"], action="append",
                    help="run only these sections (repeatable; validating and delivering need packaging's bags)")
    ap.add_argument("--rss-sweep", action="store_true", help="also measure peak RSS at two payload sizes and two bag counts")
    ap.add_argument("--sweep-mib", default="64,2048", help="payload sizes for --rss-sweep (default 64,2048)")
    ap.add_argument("--sweep-bags", default="100,10000", help="bag counts for --rss-sweep (default 100,10000)")
    ap.add_argument("--workdir", type=Path, help="scratch folder (default: a new folder in /dev/shm, else the temp dir)")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "results.json", help="JSON results (default bench/out/results.json)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    a = ap.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the scratch folder is removed and no task is left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n = a.texts if a.texts is not None else (200 if a.quick else 1000)
    large = a.large_mib if a.large_mib is not None else (64 if a.quick else 512)
    sections = set(a.only or ["packaging", "validating", "delivering", "large"])
    if sections & {"validating", "delivering"}:
        sections.add("packaging")

    base = a.workdir or (Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir()))
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="archiver-bench-", dir=base))
    info = machine(work)
    config = {"texts": n, "large_mib": large, "reps": a.reps, "jobs": a.jobs, "workdir": str(work)}
    print(f"archiver bench: {n} texts, {large} MiB payload, {a.reps} reps, jobs={a.jobs}")
    print(f"machine: {info['cpus_usable']} CPUs, {info['cpu_model']}, Python {info['python']}, {info['filesystem']}")
    results: dict = {}
    started = time.time()
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * info["cpus_usable"]:
        print(f"warning: load average {load_before[0]:.1f} on {info['cpus_usable']} CPUs: other work is running, "
              "figures will be noisy (ratios are interleaved, but threaded code cannot get its cores)")
    try:
        if "packaging" in sections and n > 0:
            texts = work / "texts"
            corpus.write_texts(texts, n)
            results["packaging"], bags = packaging(texts, n, a.reps, a.jobs, work)
            print_section(f"packaging {n} texts (sha256+sha512)", results["packaging"], "texts",
                          "bagit-python make_bag", "floor: copy+hash+tag files")
            if "validating" in sections and bags is not None:
                results["validating"] = validating(bags, a.reps, a.jobs, work)
                results["validating_bags_from"] = bags.name
                print_section(f"validating {n} bags (written by {bags.name})", results["validating"], "bags",
                              "bagit-python Bag.validate", "floor: re-hash manifests")
            if "delivering" in sections and bags is not None:
                results["exporting"], results["receiving"] = delivering(bags, a.reps, a.jobs, work)
                print_section(f"exporting {n} bags as a tar delivery (not a target)", results["exporting"], "bags",
                              None, "floor: tar+hash each bag")
                if results["receiving"]:
                    print_section(f"receiving that delivery (not a target)", results["receiving"], "bags",
                                  "bagit-python unpack+Bag.validate", "floor: re-hash archives+members")
        if "large" in sections and large > 0:
            results["large"] = large_payload(large * MiB, a.reps, a.jobs, work)
            print_section(f"one large payload of {large} MiB: hashing / making a bag (sha256+sha512)", results["large"]["make"],
                          "MB", "bagit-python make_bag", FLOOR)
            if "validate" in results["large"]:
                print_section(f"one large payload of {large} MiB: validating its bag", results["large"]["validate"],
                              "MB", "bagit-python Bag.validate", FLOOR)
        if a.rss_sweep:
            small_mib, large_mib = (int(x) for x in a.sweep_mib.split(","))
            few, many = (int(x) for x in a.sweep_bags.split(","))
            results["rss_sweep"] = rss_sweep(work, a.jobs, small_mib, large_mib, few, many)
            print("\npeak RSS sweep")
            for name, r in results["rss_sweep"].items():
                state = f"{r['peak_rss_mib']:7.1f} MiB  ({r['median_seconds']:.2f} s)" if r["status"] == "ok" else f"{r['status']}: {r['reason']}"
                print(f"  {name:44s} {state}")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    checks = targets(results)
    if checks:
        print("\ntargets (ratios within this run)")
        for t in checks:
            met = {True: "met", False: "NOT MET", None: "n/a"}[t["met"]]
            print(f"  {t['target']:66s} {t['value'] if t['value'] is not None else '-':>7}  goal {t['goal']}  {met}")
    doc = {"machine": info, "config": config, "results": results, "targets": checks,
           "elapsed_seconds": round(time.time() - started, 1),
           "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
           "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"\nwrote {a.out}")
    failed = [r for sec in results.values() if isinstance(sec, dict) for r in sec.values()
              if isinstance(r, dict) and r.get("status") == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

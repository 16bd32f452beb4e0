"""The benchmark script runs end to end in its smallest mode and writes its JSON.

No timing is asserted: speed is judged by running bench/bench.py, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_smallest_mode(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench.py"), "--texts", "3", "--large-mib", "2", "--reps", "1",
         "--jobs", "1", "--workdir", str(tmp_path / "work"), "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    assert doc["config"]["texts"] == 3 and doc["config"]["large_mib"] == 2
    pkg = doc["results"]["packaging"]
    # Every contender runs, archiver's included, on the same three texts and their bags.
    for name in ("archiver package", "bagit-python make_bag", "floor: copy+hash+tag files"):
        assert pkg[name]["status"] == "ok", (name, pkg[name])
        assert pkg[name]["items"] == 3, (name, pkg[name])
    val = doc["results"]["validating"]
    for name in ("archiver validate", "bagit-python Bag.validate", "floor: re-hash manifests"):
        assert val[name]["status"] == "ok", (name, val[name])
        assert val[name]["items"] == 3, (name, val[name])
        assert "invalid" not in val[name], (name, val[name])
    large = doc["results"]["large"]["make"]
    assert large["archiver hash_file"]["status"] == "ok"
    assert large["archiver hash_file"]["bytes"] == 2 << 20
    assert large["archiver hash_file"]["peak_rss_mib"] > 0
    # The scratch folder is removed unless --keep.
    assert not any((tmp_path / "work").iterdir())
    assert "targets (ratios within this run)" in proc.stdout

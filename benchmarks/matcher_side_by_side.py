"""The matcher's start-up and latency, this checkout against a base revision, side by side in one run.

    .venv/bin/python -m benchmarks.matcher_side_by_side [--base main] [--runs 5]

The base revision is exported with `git archive` into a temporary folder; each run starts a fresh process for
the base and one for this checkout, alternately, so both see the same load. Each process loads the bundled
knowledge base, trains the model and builds the matcher (start-up), then matches devset.jsonl three times
(one warm-up pass first). Wall time and CPU time (time.process_time) are both reported: on a machine shared
with other work, wall-time p99 measures the scheduler more than the matcher, CPU time does not.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "data" / "devset.jsonl"

CHILD = r"""
import json, sys, time
from pathlib import Path
import knowledge
from knowledge.evaluation import load_labelled
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher
from knowledge.model_text import train_model

wall, cpu = time.perf_counter(), time.process_time()
kb = load_knowledge(Path(knowledge.__file__).resolve().parent / "data")
matcher = Matcher(kb, model=train_model(kb))
startup = (time.perf_counter() - wall, time.process_time() - cpu)
questions = [c.q for c in load_labelled(Path(sys.argv[1]))]
for q in questions:
    matcher.match(q)
walls, cpus = [], []
for _ in range(3):
    for q in questions:
        w, c = time.perf_counter(), time.process_time()
        matcher.match(q)
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((time.process_time() - c) * 1000)
print(json.dumps({"startup": startup, "wall": sorted(walls), "cpu": sorted(cpus)}))
"""


def _pct(values: list[float], pct: float) -> float:
    return values[max(0, min(len(values) - 1, round(pct / 100 * (len(values) - 1))))]


def _run(folder: Path) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(QUESTIONS)],
        cwd=folder,
        env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="the git revision to compare with (default: main)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per side (default: 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        archive = subprocess.run(["git", "archive", args.base], cwd=ROOT, capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(base, filter="data")
        sides = {f"base ({args.base})": base, "this checkout": ROOT}
        results: dict[str, list[dict]] = {name: [] for name in sides}  # type: ignore[type-arg]
        for _ in range(args.runs):
            for name, folder in sides.items():
                results[name].append(_run(folder))
    print(f"{args.runs} fresh processes per side, alternating; matching {QUESTIONS.name} 3 times after a warm-up")
    print(
        f"{'side':24s} {'start-up s (wall / cpu), median':>32s} {'p50 ms wall / cpu':>20s} {'p99 ms wall / cpu':>20s}"
    )
    for name, runs in results.items():
        wall = statistics.median(r["startup"][0] for r in runs)
        cpu = statistics.median(r["startup"][1] for r in runs)
        p50 = [statistics.median(_pct(r[k], 50) for r in runs) for k in ("wall", "cpu")]
        p99 = [statistics.median(_pct(r[k], 99) for r in runs) for k in ("wall", "cpu")]
        print(f"{name:24s} {wall:>20.2f} / {cpu:.2f}   {p50[0]:>11.2f} / {p50[1]:.2f}   {p99[0]:>11.2f} / {p99[1]:.2f}")


if __name__ == "__main__":
    main()

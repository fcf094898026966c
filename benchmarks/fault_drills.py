"""Fault drills at full length: the real `python bot.py` against the Bot API double
(tests/test_delivery_e2e.py), killed with SIGKILL or facing Telegram's faults, each drill a
test that fails if anything is lost; this runs them and prints what each one measured.

    python -m benchmarks.fault_drills            # full length: the 502 storm 30 s, the busy group 40 s
    python -m benchmarks.fault_drills --short    # the lengths the test suite uses (5 s, 6 s)
    python -m benchmarks.fault_drills -k broadcast

PostgreSQL drills run when TEST_POSTGRES_URL is set (CI=1 makes a missing server an error);
without it they are skipped. Needs the test extra (pytest).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRILLS = "kill_9 or 502 or 429 or busy or thirty"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="the lengths the test suite uses")
    parser.add_argument("-k", default=DRILLS, help=f"which drills (pytest -k; default: {DRILLS!r})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "drills.jsonl"
        env = {**os.environ, "DRILL_REPORT": str(report), "FULL_DRILLS": "0" if args.short else "1"}
        started = time.monotonic()
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/test_delivery_e2e.py",
                "-k",
                args.k,
            ],
            cwd=ROOT,
            env=env,
        )
        took = time.monotonic() - started
        lines = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
    print(f"\n{'full length' if not args.short else 'suite length'}: {len(lines)} drill(s) in {took:.0f} s")
    for line in lines:
        figures = json.loads(line)
        name = figures.pop("drill")
        figures.pop("full", None)
        print(f"- {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())

"""How much a small change of the training data moves the matcher's answers (the retraining noise).

Trains the model on the bundled data, scores every guarded labelled question (`knowledge.guard.DEFAULT_GUARDED`,
dialogue turns in their context), then retrains with every `--every`-th training row left out (one run per
offset) and counts the questions whose (item, intent, action) changed. With `--epochs N` the two classifiers run
a fixed N epochs of SGD instead of the shipped early stopping, to see how much of the noise is the early stop.

    .venv/bin/python -m benchmarks.retraining_noise              # the shipped settings
    .venv/bin/python -m benchmarks.retraining_noise --epochs 20  # a fixed 20 epochs
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from knowledge import model_text
from knowledge.evaluation import load_labelled
from knowledge.guard import DEFAULT_GUARDED, guard_entries
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher

BUNDLED = Path(model_text.__file__).resolve().parent / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=0, help="SGD epochs of both models (0: the shipped ones)")
    parser.add_argument("--every", type=int, default=97, help="leave out every N-th training row")
    parser.add_argument("--offsets", type=int, default=3, help="runs, each leaving out other rows")
    args = parser.parse_args()
    if args.epochs:
        model_text.ITEM_EPOCHS = model_text.INTENT_EPOCHS = args.epochs
    kb = load_knowledge(BUNDLED)
    sets = [(str(p), load_labelled(p)) for p in DEFAULT_GUARDED]
    training = [row for row in model_text.load_training() if row.split == "train"]

    def answers(rows: list) -> tuple[dict[str, tuple], float]:  # type: ignore[type-arg]
        started = time.perf_counter()
        model = model_text.train_on(model_text.training_data(kb, rows), reuse=False)
        took = time.perf_counter() - started
        entries = guard_entries(Matcher(kb, model=model), sets)
        return {key: (e["item"], e["intent"], e["action"]) for key, e in entries.items()}, took

    base, took = answers(training)
    times, flips = [took], []
    for offset in range(args.offsets):
        rows = [r for i, r in enumerate(training) if (i + offset * 31) % args.every != 0]
        other, took = answers(rows)
        times.append(took)
        flips.append(sum(base[key] != other[key] for key in base))
    setting = f"a fixed {args.epochs} epochs" if args.epochs else "the shipped early stopping"
    print(
        f"{setting}: {len(base):,} guarded questions; leaving out every {args.every}th of {len(training):,} training "
        f"rows flipped {flips}; training {statistics.median(times):.2f} s (median of {len(times)})"
    )


if __name__ == "__main__":
    main()

"""The intent model alone, 5-fold over every labelled row, under settings given on the command line.

What the sixteenth pass chose the intent model's n-grams and regularisation by (see "The matcher" in the README):
each fold trains the intent model (`knowledge.model_text.fit_intent`: its character n-grams and cue features, SGD
and complement naive Bayes, as the shipped model is trained) on four fifths of the rows (`fold_of` of the
normalised text) and reads the fifth.
Every labelled row takes part, the never-trained split's too: settings chosen with this have seen that split.

    .venv/bin/python -m benchmarks.model_folds                                   # the shipped settings
    .venv/bin/python -m benchmarks.model_folds --ngrams 4 --alpha 3e-5 --epochs 12  # about the settings before the sixteenth pass
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from config.settings import BUNDLED_KNOWLEDGE_PATH
from knowledge import model_text
from knowledge.evaluation import fold_of
from knowledge.loader import load_knowledge
from knowledge.normalize import normalize_many

FOLDS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ngrams", type=int, choices=(1, 2, 3, 4), default=model_text.INTENT_NGRAMS, help="longest character n-gram"
    )
    parser.add_argument("--alpha", type=float, default=model_text.INTENT_ALPHA, help="SGD regularisation")
    parser.add_argument("--epochs", type=int, default=model_text.INTENT_EPOCHS, help="SGD epochs")
    args = parser.parse_args()
    # read by the intent model's analyzer and by `fit_intent` when they run
    model_text.INTENT_NGRAMS, model_text.INTENT_ALPHA, model_text.INTENT_EPOCHS = args.ngrams, args.alpha, args.epochs

    kb = load_knowledge(BUNDLED_KNOWLEDGE_PATH)
    rows = model_text.training_data(kb, model_text.load_training()).intent_rows
    texts = normalize_many([row.q for row in rows])
    labels = np.array([row.intent for row in rows])
    # by the normalised text, so that one question written twice (「环评要啥材料？」「环评要啥材料」) is in one fold
    folds = np.array([fold_of(text, FOLDS) for text in texts])
    right, seconds, features = 0, [], 0
    for fold in range(FOLDS):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        started = time.perf_counter()
        fitted = model_text.fit_intent([texts[i] for i in train], labels[train].tolist())
        seconds.append(time.perf_counter() - started)
        features = len(fitted.vectorizer.vocabulary_)
        probabilities = fitted.probabilities([texts[i] for i in test])
        right += int((fitted.classifier.classes_[probabilities.argmax(axis=1)] == labels[test]).sum())
    print(
        f"intent model alone, 1-{args.ngrams}-grams, alpha {args.alpha:g}, {args.epochs} epochs: {FOLDS}-fold "
        f"{100 * right / len(rows):.2f}% of {len(rows):,} rows; {features:,} n-gram features; "
        f"fit {statistics.median(seconds):.2f} s (median)"
    )


if __name__ == "__main__":
    main()

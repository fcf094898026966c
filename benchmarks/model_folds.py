"""The intent model alone, 5-fold over every labelled row, under settings given on the command line.

What the sixteenth pass chose the intent model's n-grams and regularisation by (see "The matcher" in the README):
each fold trains the intent model (its character n-grams and cue features, SGD and complement naive Bayes, as
`knowledge/model_text.py` does) on four fifths of the rows (`fold_of` of the normalised text) and reads the fifth.
Every labelled row takes part, the never-trained split's too: settings chosen with this have seen that split.

    .venv/bin/python -m benchmarks.model_folds                                   # the shipped settings
    .venv/bin/python -m benchmarks.model_folds --ngrams 4 --alpha 3e-5 --tol 3e-4  # before the sixteenth pass
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.sparse import hstack
from sklearn.naive_bayes import ComplementNB

from config.settings import BUNDLED_KNOWLEDGE_PATH
from knowledge import model_text
from knowledge.evaluation import fold_of
from knowledge.intents import read_cues
from knowledge.loader import load_knowledge
from knowledge.normalize import normalize_many

FOLDS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ngrams", type=int, choices=(1, 2, 3, 4), default=model_text.INTENT_NGRAMS, help="longest character n-gram"
    )
    parser.add_argument("--alpha", type=float, default=model_text.INTENT_ALPHA, help="SGD regularisation")
    parser.add_argument("--tol", type=float, default=model_text.INTENT_TOL, help="SGD stopping tolerance")
    args = parser.parse_args()
    model_text.INTENT_NGRAMS = args.ngrams  # read by the intent analyzer at fit time

    kb = load_knowledge(BUNDLED_KNOWLEDGE_PATH)
    rows = model_text.training_data(kb, model_text.load_training()).intent_rows
    texts = normalize_many([row.q for row in rows])
    cue_rows = [read_cues(text).features() for text in texts]
    columns = {name: i for i, name in enumerate(sorted({n for names in cue_rows for n in names}))}
    labels = np.array([row.intent for row in rows])
    # by the normalised text, so that one question written twice (「环评要啥材料？」「环评要啥材料」) is in one fold
    folds = np.array([fold_of(text, FOLDS) for text in texts])
    right, seconds, epochs, features = 0, [], [], 0
    for fold in range(FOLDS):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        started = time.perf_counter()
        vectorizer = model_text._intent_vectorizer()
        grams = vectorizer.fit_transform([texts[i] for i in train])
        matrix = hstack([grams, model_text._cue_matrix([cue_rows[i] for i in train], columns)]).tocsr()
        sgd = model_text._classifier(args.alpha, args.tol, threads=2).fit(matrix, labels[train])
        bayes = ComplementNB(alpha=model_text.INTENT_NB_ALPHA).fit(matrix, labels[train])
        seconds.append(time.perf_counter() - started)
        epochs.append(sgd.n_iter_)
        features = grams.shape[1]
        read = vectorizer.transform([texts[i] for i in test])
        read = hstack([read, model_text._cue_matrix([cue_rows[i] for i in test], columns)]).tocsr()
        probabilities = (sgd.predict_proba(read) + bayes.predict_proba(read)) / 2
        right += int((sgd.classes_[probabilities.argmax(axis=1)] == labels[test]).sum())
    print(
        f"intent model alone, 1-{args.ngrams}-grams, alpha {args.alpha:g}, tol {args.tol:g}: {FOLDS}-fold "
        f"{100 * right / len(rows):.2f}% of {len(rows):,} rows; {features:,} n-gram features; epochs {epochs}; "
        f"fit {statistics.median(seconds):.2f} s (median)"
    )


if __name__ == "__main__":
    main()

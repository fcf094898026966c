"""The trained model as a file, checked against its data: start-up reads it instead of training when it was
trained on exactly the current data, by exactly this code.

The file is a plain NumPy `.npz` of arrays only (read with `allow_pickle=False`: loading it runs no code): the
fitted vocabularies, idf weights, coefficients and class names, with
- the model's fingerprint (`fingerprint_of`: the knowledge base's phrases, the labelled questions, the cue file
  and the training settings) and a key over what else decides the weights (which labelled questions are dialogue
  turns, the source of the model, cue and normaliser modules, the scikit-learn / NumPy / SciPy versions);
- a SHA-256 digest of every array.
A file whose fingerprint, key or digest differs, or that cannot be read, is never used: the model is trained
and the file written again, in a thread while start-up goes on with the model. It is written to a temporary
file in the same folder and renamed over the old one, so a reader never sees half a file; a folder that cannot
be written is one log line, not a failed start-up.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import zipfile
import zlib
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import sklearn
from sklearn.naive_bayes import ComplementNB

from knowledge import intents, model_text, normalize
from knowledge.atomic_file import replaced
from knowledge.collector import collector_paused
from knowledge.model import KnowledgeBase
from knowledge.model_text import (
    INTENT_ALPHA,
    INTENT_EPOCHS,
    INTENT_NB_ALPHA,
    ITEM_ALPHA,
    ITEM_EPOCHS,
    TextModel,
    TrainingData,
    _classifier,
    _intent_vectorizer,
    _vectorizer,
    remember,
    train_on,
    trained_in_process,
    training_data,
)

log = logging.getLogger(__name__)

FORMAT = "steward-model/1"
_READ_ERRORS = (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile, zlib.error)


def artefact_key(data: TrainingData) -> str:
    """What decides the weights besides the fingerprint: the dialogue flags, the code and the libraries."""
    digest = hashlib.sha256(FORMAT.encode())
    digest.update(bytes(row.dialogue is None for row in data.labelled))
    for module in (model_text, intents, normalize):
        digest.update(Path(module.__file__ or "").read_bytes())
    digest.update(f"{sklearn.__version__} {np.__version__} {scipy.__version__}".encode())
    return digest.hexdigest()[:16]


def _arrays_digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\t{value.dtype.str}\t{value.shape}\n".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _terms(vocabulary: dict[str, int]) -> np.ndarray:
    """The terms in column order, placed by NumPy: a loop over the ~180,000 intent n-grams held the GIL for 0.09 s
    of the write, this 0.03 s."""
    keys = np.array(list(vocabulary), dtype=str)
    terms = np.zeros_like(keys)
    terms[np.fromiter(vocabulary.values(), dtype=np.intp, count=len(vocabulary))] = keys
    return terms


def _arrays(model: TextModel) -> dict[str, np.ndarray]:
    bayes = model.intent_bayes
    arrays = {
        "intent_terms": _terms(model.intent_vectorizer.vocabulary_),
        "intent_idf": np.asarray(model.intent_vectorizer.idf_),
        "intent_coef": np.asarray(model.intent_classifier.coef_),
        "intent_intercept": np.asarray(model.intent_classifier.intercept_),
        "intent_classes": np.array(model.intent_classes, dtype=str),
        "cue_names": _terms(model.cue_columns),
        "item_terms": _terms(model.item_vectorizer.vocabulary_),
        "item_idf": np.asarray(model.item_vectorizer.idf_),
        "item_coef": np.asarray(model.item_classifier.coef_),
        "item_intercept": np.asarray(model.item_classifier.intercept_),
        "item_classes": np.array(model.item_classes, dtype=str),
        "examples": np.array(model.examples),
        "item_questions": np.array([model.item_questions.get(c, 0) for c in model.item_classes], dtype=np.int64),
    }
    if bayes is not None:
        arrays["bayes_log_prob"] = np.asarray(bayes.feature_log_prob_)
    return arrays


def save_model(model: TextModel, key: str, path: Path) -> None:
    """Write the model to `path` atomically (a temporary file in the same folder, then a rename).

    Raises OSError when the folder is missing or cannot be written (no folder is created, as for the SQLite file)."""
    arrays = _arrays(model)
    header = {
        "format": np.array(FORMAT),
        "fingerprint": np.array(model.fingerprint),
        "key": np.array(key),
        "digest": np.array(_arrays_digest(arrays)),
    }
    contents: dict[str, Any] = {**header, **arrays}
    with replaced(path, binary=True) as file:
        np.savez(file, allow_pickle=False, **contents)


def _vocabulary(terms: np.ndarray) -> dict[str, int]:
    vocabulary = {term: column for column, term in enumerate(terms.tolist())}
    if len(vocabulary) != len(terms):
        raise ValueError("repeated terms")
    return vocabulary


def _model_from(arrays: dict[str, np.ndarray], fingerprint: str) -> TextModel:
    intent_vocabulary = _vocabulary(arrays["intent_terms"])
    item_vocabulary = _vocabulary(arrays["item_terms"])
    cue_columns = _vocabulary(arrays["cue_names"])
    intent_classes = np.asarray(arrays["intent_classes"])
    item_classes = np.asarray(arrays["item_classes"])
    intent_coef, item_coef = arrays["intent_coef"], arrays["item_coef"]
    intent_width = len(intent_vocabulary) + len(cue_columns)
    shapes_agree = (
        intent_coef.shape == (len(intent_classes), intent_width)
        and arrays["intent_intercept"].shape == (len(intent_classes),)
        and item_coef.shape == (1 if len(item_classes) == 2 else len(item_classes), len(item_vocabulary))
        and arrays["item_intercept"].shape == (item_coef.shape[0],)
        and arrays["item_questions"].shape == (len(item_classes),)
        and arrays["intent_idf"].shape == (len(intent_vocabulary),)
        and arrays["item_idf"].shape == (len(item_vocabulary),)
        and ("bayes_log_prob" not in arrays or arrays["bayes_log_prob"].shape == intent_coef.shape)
    )
    if not shapes_agree:
        raise ValueError("arrays of disagreeing shapes")

    intent_vectorizer = _intent_vectorizer()
    intent_vectorizer.vocabulary_ = intent_vocabulary
    intent_vectorizer.idf_ = arrays["intent_idf"]
    item_vectorizer = _vectorizer()
    item_vectorizer.vocabulary_ = item_vocabulary
    item_vectorizer.idf_ = arrays["item_idf"]
    intent_classifier = _classifier(INTENT_ALPHA, INTENT_EPOCHS)
    intent_classifier.coef_ = intent_coef
    intent_classifier.intercept_ = arrays["intent_intercept"]
    intent_classifier.classes_ = intent_classes
    item_classifier = _classifier(ITEM_ALPHA, ITEM_EPOCHS)
    item_classifier.coef_ = item_coef
    item_classifier.intercept_ = arrays["item_intercept"]
    item_classifier.classes_ = item_classes
    bayes = None
    if "bayes_log_prob" in arrays:
        bayes = ComplementNB(alpha=INTENT_NB_ALPHA)
        bayes.feature_log_prob_ = arrays["bayes_log_prob"]
        bayes.classes_ = intent_classes
    return TextModel(
        intent_vectorizer=intent_vectorizer,
        intent_classifier=intent_classifier,
        cue_columns=cue_columns,
        item_vectorizer=item_vectorizer,
        item_classifier=item_classifier,
        fingerprint=fingerprint,
        examples=int(arrays["examples"]),
        intent_classes=tuple(str(c) for c in intent_classes),
        item_classes=tuple(str(c) for c in item_classes),
        intent_bayes=bayes,
        item_questions={str(c): int(n) for c, n in zip(item_classes, arrays["item_questions"], strict=True) if int(n)},
    )


def load_model(path: Path, fingerprint: str, key: str) -> tuple[TextModel | None, str]:
    """The model in `path` when it was trained on data of this fingerprint and key; else None and why not
    ("missing", "stale" or "unreadable: ...")."""
    try:
        with np.load(path, allow_pickle=False) as file:
            if str(file["format"]) != FORMAT:
                return None, "stale"
            if str(file["fingerprint"]) != fingerprint or str(file["key"]) != key:
                return None, "stale"
            arrays = {name: file[name] for name in file.files if name not in ("format", "fingerprint", "key", "digest")}
            if _arrays_digest(arrays) != str(file["digest"]):
                return None, "unreadable: digest differs"
        return _model_from(arrays, fingerprint), "loaded"
    except FileNotFoundError:
        return None, "missing"
    except _READ_ERRORS as exc:
        return None, f"unreadable: {type(exc).__name__}: {exc}"


class FileWrite:
    """The writing of a model trained here to its file, in a thread (`start`). The caller may start it once it has
    built what it needs: the write holds the GIL for ~0.1 s (the vocabularies made into arrays), and begun at once it
    slowed the rest of the start-up (the follow-up gate, the matcher's index) by ~0.2 s. The thread is not a daemon,
    so a process that ends at once (`steward ask`) still finishes the file; the rename keeps a reader from a
    half-written one."""

    def __init__(self, model: TextModel, key: str, path: Path, why: str, seconds: float) -> None:
        self._job = (model, key, path, why, seconds)
        self._done: Future[str] = Future()
        self._lock = threading.Lock()
        self._started = False

    def start(self) -> Future[str]:
        """Start writing (once; a later call returns the same future): its result is "written to …" or
        "not written to … (why)"."""
        with self._lock:
            if not self._started:
                self._started = True
                self._done.set_running_or_notify_cancel()  # running: no longer cancellable, so a result is always set
                threading.Thread(target=self._write, name="model-file", daemon=False).start()
        return self._done

    def result(self) -> str:
        """What happened to the file (starts the write if nobody has, and waits for it)."""
        return self.start().result()

    def _write(self) -> None:
        model, key, path, why, seconds = self._job
        try:
            save_model(model, key, path)
            written = f"written to {path}"
        except OSError as exc:
            written = f"not written to {path} ({type(exc).__name__}: {exc.strerror or exc})"
        except BaseException as exc:  # reported on the future (and logged): `result()` never waits forever
            log.exception(
                "model %s trained in %.2f s (file %s); not written to %s", model.fingerprint, seconds, why, path
            )
            self._done.set_exception(exc)
            return
        level = logging.INFO if written.startswith("written") else logging.WARNING
        log.log(level, "model %s trained in %.2f s (file %s); %s", model.fingerprint, seconds, why, written)
        self._done.set_result(written)


@dataclass(frozen=True)
class ModelSource:
    model: TextModel
    how: str  # "in process", "loaded", or "trained"
    seconds: float
    # A model trained here is written to its file in a thread (`FileWrite`): started by `model_for`, or by its
    # caller once it has built what it needs (`write_later`).
    file: FileWrite | None = None

    def settled(self) -> str:
        """How the model was had and, for one trained here, what happened to its file (waits for the write)."""
        return self.how if self.file is None else f"{self.how}; {self.file.result()}"


def write_model(kb: KnowledgeBase, path: Path) -> tuple[TextModel, float]:
    """Train the model on the current data and write it to `path` (`steward kb train`). Raises OSError."""
    data = training_data(kb)
    started = time.perf_counter()
    model = train_on(data, reuse=False)
    seconds = time.perf_counter() - started
    save_model(model, artefact_key(data), path)
    return model, seconds


@collector_paused
def model_for(kb: KnowledgeBase, path: Path | None, *, write_later: bool = False) -> ModelSource:
    """The model of the current data: this process's, else the file's when it was trained on the same data,
    else trained now and written to `path` in a thread (a folder that cannot be written is one log line). With
    `write_later`, the caller starts the write (`ModelSource.file.start()`) when it has built what it needs."""
    started = time.perf_counter()
    data = training_data(kb)
    model = trained_in_process(data.fingerprint)
    if model is not None:
        return ModelSource(model, "in process", time.perf_counter() - started)
    if path is None:
        model = train_on(data)
        return ModelSource(model, "trained", time.perf_counter() - started)
    key = artefact_key(data)
    model, why = load_model(path, data.fingerprint, key)
    if model is not None:
        remember(model)
        seconds = time.perf_counter() - started
        log.info("model %s read from %s in %.2f s", data.fingerprint, path, seconds)
        return ModelSource(model, "loaded", seconds)
    model = train_on(data)
    seconds = time.perf_counter() - started
    write = FileWrite(model, key, path, why, seconds)
    if not write_later:
        write.start()
    return ModelSource(model, "trained", seconds, write)

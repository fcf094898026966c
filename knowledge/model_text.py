"""The learned part of understanding: intent and item from a model trained on the project's own data.

Two linear classifiers over character n-grams (scikit-learn, logistic loss trained by SGD, with
probabilities), trained deterministically in about a second from:
- the labelled questions in `training/labelled.jsonl` whose `split` is `train` (the `test` split is
  never trained on; it measures the model); dialogue turns (with a `dialogue` number) train the intent only;
- the knowledge base: every item's name, short name, aliases, hint phrases and FAQ questions (for the
  item model), the out-of-scope phrases (as "no item").
The intent model also reads the cue phrases of `training/intent_cues.yaml` as features
(`knowledge/intents.py`): which cues a question contains and the intent of the first one.
No weights are downloaded: the model is a function of the data, and `fingerprint` says which data.
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from pathlib import Path

import numpy as np
from scipy.sparse import coo_array, csr_array, csr_matrix, hstack
from sklearn.feature_extraction import text as sklearn_text
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.naive_bayes import ComplementNB

from knowledge.evaluation import LabelledQuestion, load_labelled
from knowledge.intents import CUES_PATH, INTENTS, cue_book, read_cues
from knowledge.model import KnowledgeBase
from knowledge.normalize import compact, normalize_many

LABELLED_PATH = Path(__file__).resolve().parent / "training" / "labelled.jsonl"
NO_ITEM = "_none"  # the item model's class for questions about no item of the knowledge base

# Regularisation of the two classifiers (smaller: fits the training data more closely).
# The intent model reads character 1-3-grams at 5e-6 (sixteenth pass, for the cold start-up): 1-4-grams at 3e-5
# (stopping at tol 3e-4) trained in 2.2 s, this in 1.4 s (`steward kb train`, 15,240 examples), with 5-fold intent
# in the matcher 94.5% both, the leave-one-set-out 95.6% -> 95.7%, the never-trained split 94.5% -> 94.1%.
INTENT_ALPHA = 5e-6
ITEM_ALPHA = 2e-5
# How many passes SGD makes over the data, fixed (thirty-fourth pass; before, SGD ran until the loss improved by
# less than 1e-3 over 5 epochs: 11-15 epochs of the intent model, 8 of the item model). With the read dialogues
# joined (41,733 rows) and more rows teaching the item, the unseen dialogue sets (blind71-72, bankCH-CI, 1,264
# turns) read item 95.97% at 3 epochs as at 8 (the item fit 0.8 s against 2.3 s on this pass's machine), intent
# 94.15% at 6 epochs against 93.67% when the tolerance stopped it (1.1 s -> 0.6 s); fewer passes over more rows.
INTENT_EPOCHS = 6
ITEM_EPOCHS = 3
INTENT_NB_ALPHA = 0.01  # smoothing of the intent model's complement naive Bayes (averaged with the SGD model)
FAQ_PER_ITEM = 20  # FAQ questions per item the item model learns from
# How much a cue feature weighs against the character n-grams (all n-gram rows have unit length).
CUE_WEIGHT = 1.0
INTENT_NGRAMS = 3  # the intent model's longest character n-gram


def load_training(path: Path = LABELLED_PATH) -> list[LabelledQuestion]:
    """Read the labelled questions (JSON lines: q, item, intent, style, source, split); read again only when
    the file changes (start-up reads it twice)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _READ:
        _READ.clear()
        _READ[key] = tuple(load_labelled(path))
    return list(_READ[key])


_READ: dict[tuple[str, int, int], tuple[LabelledQuestion, ...]] = {}


def kb_item_texts(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """(text, item) pairs the knowledge base itself gives: names, aliases, hints, FAQ questions."""
    pairs: list[tuple[str, str]] = []
    for item in kb.items.values():
        # An operator's knowledge base may hold thousands of FAQ entries; a few per item teach the
        # item's wording, more only slow training down (the FAQ itself is matched by the matcher).
        faq = [f.q for f in item.faq[:FAQ_PER_ITEM]]
        for text in (item.name, item.short, *item.aliases, *item.hints, *faq):
            text = (text or "").replace("+", "")
            if compact(text):
                pairs.append((compact(text), item.key))
    for phrase in (*kb.out_of_scope, *kb.always_out_of_scope):
        if compact(phrase):
            pairs.append((compact(phrase), NO_ITEM))
    return pairs


class _Tfidf(TfidfVectorizer):
    """scikit-learn's TfidfVectorizer, with the steps of its fit that cost most of a start-up done in bulk.

    The same vocabulary and matrix (`tests/test_model_file.py` compares them with the plain class's, bit for bit):
    - the character n-grams of all documents are made as integers by NumPy (`_gram_codes`: each character's rank
      in the documents' alphabet, 12 bits, in the n-gram's order, so the integers sort as the strings do), counted
      and numbered in sorted order by one `unique`, instead of a string per n-gram and a dictionary lookup each
      (~1.5 s of a cold start-up with ~10,000 questions); the vocabulary then needs no sorting;
    - the pruning by document frequency is skipped when it prunes nothing (min_df 1, max_df 1.0, no
      max_features: every term is kept).
    Documents it cannot code (an alphabet over 4,095 characters, a NUL, another analyzer) are counted by NumPy
    from the analyzer's strings, as before, or by scikit-learn itself."""

    _presorted = False

    def _count_vocab(self, raw_documents, fixed_vocab):  # type: ignore[no-untyped-def]
        documents = list(raw_documents)
        if fixed_vocab or any("\0" in d for d in documents if isinstance(d, str)):
            # a NUL would be lost in NumPy's fixed-width strings; a fixed vocabulary is counted as scikit-learn does
            self._presorted = False
            return super()._count_vocab(documents, fixed_vocab)
        coded = _gram_codes(self, documents)
        if coded is not None:
            codes, rows, order, decode = coded
        else:
            analyze = self.build_analyzer()
            grams = [analyze(d) for d in documents]
            codes = np.array(list(chain.from_iterable(grams)))
            rows = np.repeat(np.arange(len(grams)), [len(g) for g in grams])
            order, decode = np.arange(len(codes)), None
        if not len(codes):
            return super()._count_vocab(documents, fixed_vocab)  # scikit-learn's "empty vocabulary" error
        terms, inverse = _unique(codes)
        # scikit-learn numbers terms as first seen, sorts each row by that number, then renumbers in sorted order
        # without re-sorting the rows; the same here, so the matrix is stored (and summed by SGD) in its order.
        # `order` is each n-gram's place in scikit-learn's sequence (document by document, as its analyzer makes them)
        first = np.full(len(terms), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, inverse, order)
        seen = np.argsort(first, kind="stable")  # sorted-order number of the k-th term first seen
        seen_number = np.empty(len(terms), dtype=np.intp)
        seen_number[seen] = np.arange(len(terms))
        counts = coo_array(
            (np.ones(len(codes), dtype=np.intc), (rows, seen_number[inverse])), shape=(len(documents), len(terms))
        ).tocsr()  # duplicates (an n-gram twice in one document) summed
        X = csr_array(
            (counts.data, counts.indices.astype(np.int32), counts.indptr.astype(np.int32)),
            shape=counts.shape,
            dtype=self.dtype,
        )
        X.sort_indices()
        X.indices = seen.astype(np.int32).take(X.indices)
        self._presorted = True
        names = decode(terms) if decode is not None else terms
        vocabulary = dict(zip(names[seen].tolist(), seen.tolist(), strict=True))
        return vocabulary, sklearn_text._align_api_if_sparse(X)

    def _sort_features(self, X, vocabulary):  # type: ignore[no-untyped-def]
        # numbered in sorted order already, unless scikit-learn's own counting ran (the fallback above)
        return X if self._presorted else super()._sort_features(X, vocabulary)

    def _limit_features(self, X, vocabulary, high=None, low=None, limit=None):  # type: ignore[no-untyped-def]
        keeps_all = limit is None and (low is None or low <= 1) and (high is None or high >= X.shape[0])
        return X if keeps_all else super()._limit_features(X, vocabulary, high, low, limit)


def _unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(values, return_inverse=True)`, by a stable sort: the codes come in runs already ordered (document
    by document, n by n), which the stable sort uses; np.unique's quicksort took ~0.3 s of a cold start-up on the
    ~1.8 million n-grams of the intent model, this ~0.14 s."""
    perm = np.argsort(values, kind="stable")
    ordered = values[perm]
    new = np.empty(len(ordered), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(len(values), dtype=np.intp)
    inverse[perm] = np.cumsum(new) - 1
    return ordered[new], inverse


_WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's char analyzer joins runs of white space the same way


def _vectorizer() -> TfidfVectorizer:
    return _Tfidf(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32)


def asking_clause(normalized: str) -> str:
    """The clause that asks: the last one with a question word, else the last one.

    A long message puts its background first (「土地已经摘牌了，出让合同也签了…」) and asks at the end;
    the words of the asking clause say the intent better than the background's."""
    clauses = [c for c in normalized.split(" ") if c]
    if not clauses:
        return ""
    mark = cue_book().question_mark
    asking = [c for c in clauses if mark.search(c)]
    return (asking or clauses)[-1]


def _intent_grams(normalized: str) -> list[str]:
    """Character 1-3-grams of the whole message, and those of its asking clause marked as such."""
    whole = normalized.replace(" ", "")
    grams = _char_grams(whole)
    clause = asking_clause(normalized)
    if clause and clause != whole:
        grams += ["§" + g for g in _char_grams(clause)]
    return grams


def _char_grams(text: str) -> list[str]:
    return [text[i : i + n] for n in range(1, INTENT_NGRAMS + 1) for i in range(len(text) - n + 1)]


def _intent_vectorizer() -> TfidfVectorizer:
    return _Tfidf(analyzer=_intent_grams, sublinear_tf=True, dtype=np.float32)


_RANK_BITS = 12  # bits of one character's rank in a coded n-gram: an alphabet of up to 4,095 characters
_SLOTS = 5  # characters in a coded n-gram: the clause mark and a 4-gram at most
_MARK = "§"  # before the n-grams of the asking clause (`_intent_grams`)


def _gram_codes(vectorizer: TfidfVectorizer, documents: list[str]):  # type: ignore[no-untyped-def]
    """The n-grams the vectorizer's analyzer makes of the documents, as integers that sort as the strings do:
    (codes, each one's document, each one's place in the analyzer's sequence, a function from codes to strings);
    None when the analyzer is neither `_intent_grams` nor scikit-learn's "char" with no preprocessing to apply,
    or the alphabet needs more than 12 bits."""
    if not all(isinstance(d, str) for d in documents):
        return None
    if vectorizer.analyzer is _intent_grams:
        largest = INTENT_NGRAMS
        if largest + 1 > _SLOTS:
            return None  # the clause mark and the n-gram need more slots than a code has
        wholes = [d.replace(" ", "") for d in documents]
        clauses = [asking_clause(d) for d in documents]
        clauses = [c if c and c != w else "" for c, w in zip(clauses, wholes, strict=True)]
        parts = [(wholes, False), (clauses, True)]
    elif vectorizer.analyzer == "char" and vectorizer.preprocessor is None and not vectorizer.strip_accents:
        low, largest = vectorizer.ngram_range
        if low != 1 or largest + 1 > _SLOTS:
            return None
        texts = [_WHITE_SPACES.sub(" ", d.lower() if vectorizer.lowercase else d) for d in documents]
        parts = [(texts, False)]
    else:
        return None
    alphabet = sorted(set(chain.from_iterable(chain.from_iterable(t for t, _ in parts))) | {_MARK})
    if len(alphabet) >= 1 << _RANK_BITS:
        return None
    rank = np.zeros(ord(alphabet[-1]) + 1, dtype=np.uint64)
    rank[[ord(c) for c in alphabet]] = np.arange(1, len(alphabet) + 1, dtype=np.uint64)  # 0: no character
    codes, rows, order = [], [], []
    for part, (texts, marked) in enumerate(parts):
        lengths = np.array([len(t) for t in texts], dtype=np.int64)
        chars = rank[np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)]
        document = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        start = np.repeat(np.cumsum(lengths) - lengths, lengths)
        end = start + np.repeat(lengths, lengths)
        position = np.arange(len(chars), dtype=np.int64)
        first_slot = 1 if marked else 0
        for n in range(1, largest + 1):
            at = np.flatnonzero(position + n <= end)
            code = rank[ord(_MARK)] << np.uint64((_SLOTS - 1) * _RANK_BITS) if marked else np.uint64(0)
            code = np.full(len(at), code, dtype=np.uint64)
            for k in range(n):
                code |= chars[at + k] << np.uint64((_SLOTS - 1 - first_slot - k) * _RANK_BITS)
            codes.append(code)
            rows.append(document[at])
            # the analyzer's sequence: document, whole message before asking clause, n, position
            order.append((document[at] << 40) | (part << 39) | (n << 35) | (at - start[at]))
    letters = np.array(["", *alphabet])

    def decode(terms: np.ndarray) -> np.ndarray:
        shifts = np.arange(_SLOTS - 1, -1, -1, dtype=np.uint64) * np.uint64(_RANK_BITS)
        ranks = (terms[:, None] >> shifts) & np.uint64((1 << _RANK_BITS) - 1)
        return np.ascontiguousarray(letters[ranks.astype(np.intp)]).view(f"<U{_SLOTS}").ravel()

    return np.concatenate(codes), np.concatenate(rows), np.concatenate(order), decode


def _classifier(alpha: float, epochs: int, threads: int = 1) -> SGDClassifier:
    # Logistic loss: a linear classifier with probabilities; a fixed seed makes training repeatable. The
    # one-vs-rest classifiers are fitted in `threads` threads (SGD's epochs run without the GIL); each draws its
    # seed before any is fitted, so the weights are the same for any number of threads.
    return SGDClassifier(loss="log_loss", alpha=alpha, max_iter=epochs, tol=None, random_state=0, n_jobs=threads)


class _FastLinear:
    """The same scores as vectorizer + classifier.predict_proba, for one text, without sklearn's per-call overhead.

    sklearn validates and converts its input on every call (about 1 ms); a chat question is one short
    text, so the n-grams are looked up and weighted here with the fitted vocabulary, idf and coefficients.
    """

    def __init__(
        self, vectorizer: TfidfVectorizer, classifier: SGDClassifier, bayes: ComplementNB | None = None
    ) -> None:
        self.analyze = vectorizer.build_analyzer()
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.idf = vectorizer.idf_.astype(np.float64)
        coef = classifier.coef_
        self.classes = len(coef)
        # A complement naive Bayes over the same features: its log-likelihoods are linear in them too, so both
        # models' weights sit in one matrix (column-major: a question's columns are gathered at once). Filled in
        # place: stacking and then reordering took ~0.1 s a start-up.
        rows = [coef] if bayes is None else [coef, bayes.feature_log_prob_]
        self.weights = np.empty((sum(len(r) for r in rows), coef.shape[1]), dtype=np.float64, order="F")
        start = 0
        for block in rows:
            self.weights[start : start + len(block)] = block
            start += len(block)
        self.intercept = np.zeros(len(self.weights))
        self.intercept[: self.classes] = np.asarray(classifier.intercept_, dtype=np.float64)
        self.bayes = bayes is not None
        self.width = len(self.vocabulary)

    def probabilities(self, text: str, extra: Sequence[int] = ()) -> np.ndarray:
        counts: dict[int, int] = {}
        for gram in self.analyze(text):
            column = self.vocabulary.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        scores = self.intercept.copy()
        if counts:
            columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[
                columns
            ]
            values /= np.sqrt(values @ values)
            scores += self.weights[:, columns] @ values
        if extra:
            scores += self.weights[:, [self.width + i for i in extra]].sum(axis=1) * CUE_WEIGHT
        linear = scores[: self.classes]
        # One-vs-rest logistic outputs, normalised to sum to one (as SGDClassifier.predict_proba does).
        if self.classes == 1:
            p = 1.0 / (1.0 + np.exp(-linear[0]))
            return np.array([1.0 - p, p])
        probs = 1.0 / (1.0 + np.exp(-linear))
        probs /= probs.sum()
        if not self.bayes:
            return probs
        # The mean of the two models' probabilities (ComplementNB.predict_proba: a softmax of the log-likelihoods).
        likelihood = scores[self.classes :]
        likelihood = np.exp(likelihood - likelihood.max())
        return (probs + likelihood / likelihood.sum()) / 2


@dataclass
class TextModel:
    """The trained intent and item classifiers; `predict_*` take normalised text."""

    intent_vectorizer: TfidfVectorizer
    intent_classifier: SGDClassifier
    cue_columns: dict[str, int]
    item_vectorizer: TfidfVectorizer
    item_classifier: SGDClassifier
    fingerprint: str
    examples: int = 0
    intent_classes: tuple[str, ...] = field(default=())
    item_classes: tuple[str, ...] = field(default=())
    intent_bayes: ComplementNB | None = None
    # Labelled questions per item (beside its names): an item known only by its names (an operator's own) has
    # no wording of questions the model learned, so p(no item) says nothing about a question naming it.
    item_questions: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._intent_fast = _FastLinear(self.intent_vectorizer, self.intent_classifier, self.intent_bayes)
        self._item_fast = _FastLinear(self.item_vectorizer, self.item_classifier)

    def intent_probabilities(self, normalized: str, ignore: Sequence[tuple[int, int]] = ()) -> dict[str, float]:
        """Probability of each intent for one normalised question (cues inside item names ignored)."""
        cues = [
            self.cue_columns[n] for n in sorted(set(read_cues(normalized, ignore).features())) if n in self.cue_columns
        ]
        probs = self._intent_fast.probabilities(normalized, cues)
        return dict(zip(self.intent_classes, probs.tolist(), strict=True))

    def item_probabilities(self, compact_text: str) -> dict[str, float]:
        """Probability of each item (and of NO_ITEM) for one question without spaces."""
        return dict(zip(self.item_classes, self._item_fast.probabilities(compact_text).tolist(), strict=True))

    def item_probabilities_of(self, compact_texts: Sequence[str]) -> np.ndarray:
        """`item_probabilities` of many questions at once: one row each, a column per `item_classes`."""
        if not compact_texts:
            return np.zeros((0, len(self.item_classes)))
        return np.asarray(self.item_classifier.predict_proba(self.item_vectorizer.transform(list(compact_texts))))


def _cue_matrix(rows: Sequence[Sequence[str]], columns: dict[str, int]) -> csr_matrix:
    data, indices, indptr = [], [], [0]
    for names in rows:
        cols = sorted({columns[n] for n in names if n in columns})
        indices += cols
        data += [CUE_WEIGHT] * len(cols)
        indptr.append(len(indices))
    return csr_matrix((np.array(data, dtype=np.float32), indices, indptr), shape=(len(rows), len(columns)))


def fingerprint_of(
    kb_pairs: Iterable[tuple[str, str]],
    labelled: Iterable[LabelledQuestion],
    item_rows: Iterable[LabelledQuestion] = (),
) -> str:
    """A digest of everything the model is trained on (data, cues and settings)."""
    digest = hashlib.sha256()
    for text, item in kb_pairs:
        digest.update(f"k\t{text}\t{item}\n".encode())
    for row in labelled:
        digest.update(f"l\t{row.q}\t{row.item}\t{row.intent}\n".encode())
    for row in item_rows:
        digest.update(f"i\t{row.q}\n".encode())
    digest.update(CUES_PATH.read_bytes())
    digest.update(
        f"{INTENT_ALPHA} {ITEM_ALPHA} {INTENT_EPOCHS} {ITEM_EPOCHS} {INTENT_NB_ALPHA} {CUE_WEIGHT} {FAQ_PER_ITEM} {_vectorizer().ngram_range} {INTENT_NGRAMS} clause".encode()
    )
    return digest.hexdigest()[:16]


_TRAINED: dict[str, TextModel] = {}  # by fingerprint: training is deterministic, so the same data gives the same model


@dataclass(frozen=True)
class TrainingData:
    """What a model is trained on, and its fingerprint (computed without training)."""

    kb_pairs: list[tuple[str, str]]
    labelled: list[LabelledQuestion]  # the labelled questions kept (their items are in the knowledge base)
    intent_rows: list[LabelledQuestion]  # the labelled questions and the cue examples
    item_rows: list[LabelledQuestion]  # the single questions and the dialogues' first turns (`item_teaching_rows`)
    fingerprint: str


def training_data(kb: KnowledgeBase, labelled: Sequence[LabelledQuestion] | None = None) -> TrainingData:
    """The data `train_model` trains on: `labelled` defaults to the training split of the bundled file;
    labels naming an item the knowledge base lacks are dropped (an operator's own knowledge base may have
    other items)."""
    if labelled is None:
        labelled = [row for row in load_training() if row.split == "train"]
    kept = [row for row in labelled if row.item is None or row.item in kb.items]
    kb_pairs = kb_item_texts(kb)
    rows = _intent_rows(kept)
    item_rows = _item_rows(kept)
    return TrainingData(kb_pairs, kept, rows, item_rows, fingerprint_of(kb_pairs, rows, item_rows))


def train_model(
    kb: KnowledgeBase, labelled: Sequence[LabelledQuestion] | None = None, *, reuse: bool = True
) -> TextModel:
    """Train both classifiers from the knowledge base and the labelled questions given (`training_data`).

    A model already trained in this process on exactly the same data (same fingerprint) is reused.
    """
    return train_on(training_data(kb, labelled), reuse=reuse)


def train_on(data: TrainingData, *, reuse: bool = True) -> TextModel:
    """Train on `data` (or reuse the model this process trained on the same fingerprint)."""
    if reuse and data.fingerprint in _TRAINED:
        return _TRAINED[data.fingerprint]
    model = _fit(data.kb_pairs, data.labelled, data.intent_rows, data.item_rows, data.fingerprint)
    _TRAINED[data.fingerprint] = model
    return model


def trained_in_process(fingerprint: str) -> TextModel | None:
    """The model this process already trained (or loaded) on data of this fingerprint."""
    return _TRAINED.get(fingerprint)


def remember(model: TextModel) -> None:
    """Keep a model read from a file as this process's model of its fingerprint."""
    _TRAINED[model.fingerprint] = model


def item_teaching_rows(labelled: Sequence[LabelledQuestion]) -> list[LabelledQuestion]:
    """The labelled questions the item model learns from: every single question, and the first turn of each dialogue,
    which asks alone as a single question does. A later turn has its item from the turns before (「那得多长时间」,
    「前面那个呢」), not from its words alone: it teaches the intent only. (The turns that move to another item,
    「那水保呢」, were tried too: on the unseen dialogue sets 3 more turns right and 2 fewer wrong answers, on the
    never-trained single questions 3 fewer right and 2 more wrong, and they teach 「第一个要多久」 an item.)"""
    opened: set[tuple[str, int]] = set()
    kept: list[LabelledQuestion] = []
    for row in labelled:
        if row.dialogue is None:
            kept.append(row)
        elif (row.source, row.dialogue) not in opened:
            opened.add((row.source, row.dialogue))
            kept.append(row)
    return kept


def _turn_key(row: LabelledQuestion) -> tuple[str, int | None, str]:
    return row.source, row.dialogue, row.q


def _naming_turns(labelled: Sequence[LabelledQuestion]) -> frozenset[tuple[str, int | None, str]]:
    """The dialogue turns of `labelled` that teach the item (`item_teaching_rows`). Whether a turn opens its dialogue is
    its place in the whole dialogue: a turn of the training file is read there (the turn before may be in the test
    split, or out of a fold); any other turn in the sequence given."""
    file = _file_turns()
    in_file, naming = file.keys
    own = [row for row in labelled if row.dialogue is not None and _turn_key(row) not in in_file]
    if not own:
        return naming
    return naming | {_turn_key(row) for row in item_teaching_rows(own) if row.dialogue is not None}


def _item_rows(labelled: Sequence[LabelledQuestion]) -> list[LabelledQuestion]:
    """The rows of `labelled` the item model learns from: the single questions and the turns `_naming_turns` gives.
    The rows of a start-up are the training file's own (`load_training` hands out the same objects), known by
    identity; only another row is looked up by its text (hashing ~30,000 turns' keys cost ~0.09 s of a cold start)."""
    file = _file_turns()
    if all(row.dialogue is None or id(row) in file.ids for row in labelled):
        return [row for row in labelled if row.dialogue is None or id(row) in file.naming_ids]
    naming = _naming_turns(labelled)
    return [row for row in labelled if row.dialogue is None or _turn_key(row) in naming]


@dataclass(frozen=True)
class _FileTurns:
    rows: tuple[LabelledQuestion, ...]  # held, so the identities below stay theirs
    ids: frozenset[int]  # every dialogue turn of the file
    naming_ids: frozenset[int]  # … that teaches the item (`item_teaching_rows` of the whole file)

    @cached_property
    def keys(self) -> tuple[frozenset[tuple[str, int | None, str]], frozenset[tuple[str, int | None, str]]]:
        """The same two sets by value (`_turn_key`), made once when a row from elsewhere asks for them."""
        by_id = {id(row): row for row in self.rows}
        return (
            frozenset(_turn_key(by_id[i]) for i in self.ids),
            frozenset(_turn_key(by_id[i]) for i in self.naming_ids),
        )


def _file_turns() -> _FileTurns:
    """The training file's dialogue turns, and those that teach the item, as read now (read anew, made anew)."""
    load_training()  # the file read anew when it changed
    key, rows = next(iter(_READ.items()))  # the file as read (its path, time and size), and its rows
    if key not in _NAMING:
        _NAMING.clear()
        _NAMING[key] = _FileTurns(
            rows,
            frozenset(id(row) for row in rows if row.dialogue is not None),
            frozenset(id(row) for row in item_teaching_rows(rows) if row.dialogue is not None),
        )
    return _NAMING[key]


_NAMING: dict[tuple[str, int, int], _FileTurns] = {}


def _intent_rows(labelled: Sequence[LabelledQuestion]) -> list[LabelledQuestion]:
    """The labelled questions and the example of each strong cue that is not one of them (every
    labelled question, also of the test split, is left out, so the test split is never trained on)."""
    known = {row.q for row in load_training()} | {row.q for row in labelled}
    cue_examples = [
        LabelledQuestion(q=cue.example, item=None, intent=cue.intent, source="cue")
        for cue in cue_book().cues
        if cue.strong and cue.example not in known
    ]
    return [*labelled, *cue_examples]


@contextmanager
def _switching_every(seconds: float) -> Iterator[None]:
    """Let threads take turns at the GIL every `seconds` (Python's switch interval), not the default 5 ms.

    The interval is the process's: trainings that overlap (two threads) share one change, and the last one out
    restores the interval the first one found."""
    if seconds <= 0:
        raise ValueError(f"a switch interval must be positive, not {seconds}")
    with _SWITCHING_LOCK:
        if not _SWITCHING.depth:
            _SWITCHING.found = sys.getswitchinterval()
            sys.setswitchinterval(min(_SWITCHING.found, seconds))
        _SWITCHING.depth += 1
    try:
        yield
    finally:
        with _SWITCHING_LOCK:
            _SWITCHING.depth -= 1
            if not _SWITCHING.depth:
                sys.setswitchinterval(_SWITCHING.found)


@dataclass
class _Switched:
    depth: int = 0  # trainings running with the interval shortened
    found: float = 0.0  # the interval the first of them found


_SWITCHING_LOCK = threading.Lock()
_SWITCHING = _Switched()


@dataclass(frozen=True)
class IntentFit:
    """The intent model's parts: its n-grams, its cue features' columns, the SGD model and the naive Bayes."""

    vectorizer: TfidfVectorizer
    cue_columns: dict[str, int]
    classifier: SGDClassifier
    bayes: ComplementNB

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(intent) of each normalised text, in `classifier.classes_` order: the mean of the two models' (as
        `TextModel.intent_probabilities` gives for one text)."""
        cues = _cue_matrix([read_cues(t).features() for t in texts], self.cue_columns)
        matrix = hstack([self.vectorizer.transform(texts), cues]).tocsr()
        return (self.classifier.predict_proba(matrix) + self.bayes.predict_proba(matrix)) / 2


def fit_intent(texts: Sequence[str], labels: Sequence[str]) -> IntentFit:
    """Fit the intent model on normalised texts (the settings above are read when it is called)."""
    vectorizer = _intent_vectorizer()
    grams = vectorizer.fit_transform(texts)
    cue_rows = [read_cues(t).features() for t in texts]
    cue_columns = {name: i for i, name in enumerate(sorted({n for names in cue_rows for n in names}))}
    # Both cores fit the intent model once the item model's thread is done: 2.48 -> 2.12 s of training on 9,916
    # rows when that thread finished first, no difference on 12,951 rows, when it still runs beside it.
    classifier = _classifier(INTENT_ALPHA, INTENT_EPOCHS, threads=2)
    matrix = hstack([grams, _cue_matrix(cue_rows, cue_columns)]).tocsr()
    classifier.fit(matrix, list(labels))
    bayes = ComplementNB(alpha=INTENT_NB_ALPHA).fit(matrix, list(labels))
    return IntentFit(vectorizer, cue_columns, classifier, bayes)


def _fit(
    kb_pairs: list[tuple[str, str]],
    labelled: Sequence[LabelledQuestion],
    intent_rows: list[LabelledQuestion],
    questions: list[LabelledQuestion],
    fingerprint: str,
) -> TextModel:

    # Item: the knowledge base's own phrases, the labelled questions and the first turn of each dialogue
    # (`item_teaching_rows`).
    # Each text normalised once, for both models (compact() is the normalised text without spaces): normalising
    # the item model's texts again cost ~0.1 s of a cold start.
    texts = list(dict.fromkeys(row.q for row in chain(intent_rows, questions)))
    normalized = dict(zip(texts, normalize_many(texts), strict=True))
    item_texts = [text for text, _ in kb_pairs] + [normalized[row.q].replace(" ", "") for row in questions]
    item_labels = [item for _, item in kb_pairs] + [row.item or NO_ITEM for row in questions]
    item_vectorizer = _vectorizer()
    item_classifier = _classifier(ITEM_ALPHA, ITEM_EPOCHS)

    def fit_item() -> None:
        item_classifier.fit(item_vectorizer.fit_transform(item_texts), item_labels)

    # SGD's epochs run without the GIL: the item model (a third of the training time) is fitted in a thread
    # while this one reads the intent features, which is Python. The same computations: the same weights. Its
    # n-grams are counted in the thread too, most of it NumPy sorting beside the intent's Python (thirty-fifth
    # pass: the cold start-up 2.06-2.11 -> 1.81-1.96 s, five fresh processes each, side by side).
    # Between its classes and epochs the thread takes the GIL back, and waits for the Python thread to hand it
    # over; at the default switch interval (5 ms) that waiting doubled the item fit (0.6 -> 1.1 s), at 1 ms it
    # costs nothing measurable.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="train-item") as pool, _switching_every(0.001):
        item_fitted = pool.submit(fit_item)

        # Intent: the labelled questions and the cue examples (the knowledge base says nothing about intents).
        intent = fit_intent([normalized[row.q] for row in intent_rows], [row.intent for row in intent_rows])
        item_fitted.result()

    return TextModel(
        intent_vectorizer=intent.vectorizer,
        intent_classifier=intent.classifier,
        cue_columns=intent.cue_columns,
        item_vectorizer=item_vectorizer,
        item_classifier=item_classifier,
        fingerprint=fingerprint,
        examples=len(labelled) + len(kb_pairs),
        item_questions=dict(Counter(row.item for row in questions if row.item)),
        intent_classes=tuple(str(c) for c in intent.classifier.classes_),
        intent_bayes=intent.bayes,
        item_classes=tuple(str(c) for c in item_classifier.classes_),
    )


__all__ = [
    "INTENTS",
    "NO_ITEM",
    "TextModel",
    "TrainingData",
    "load_training",
    "train_model",
    "train_on",
    "training_data",
]

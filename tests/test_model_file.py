"""The trained model's file (knowledge/model_file.py): start-up reads it only when it was trained on exactly the
current data; a stale, corrupt or missing file means training (and writing the file again); a folder that
cannot be written costs one log line, never the start-up. A model read from the file predicts exactly what the
trained one does. And training itself: the same weights and probabilities in any process (no hash-seed noise),
the cue file read the same by libyaml and by the pure-Python parser."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

import knowledge
from config.settings import DEFAULT_MODEL_NAME, load_settings
from knowledge import model_text
from knowledge.evaluation import load_labelled
from knowledge.intents import CUES_PATH, YAML_LOADER, cue_book
from knowledge.loader import load_knowledge
from knowledge.model_file import artefact_key, load_model, model_for, save_model
from knowledge.model_text import TextModel, load_training, train_model, training_data
from knowledge.normalize import compact, normalize

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = Path(knowledge.__file__).resolve().parent / "data"


def _questions() -> list[str]:
    """Every distinct question of the labelled files under tests/data (the guard repeats them all: read once)."""
    questions = []
    for path in sorted((ROOT / "tests" / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("q") or row.get("text"):
                    questions.append(row.get("q") or row["text"])
    return list(dict.fromkeys(questions))


QUESTIONS = _questions()


def _probabilities(model: TextModel) -> list[tuple[dict[str, float], dict[str, float]]]:
    return [(model.intent_probabilities(normalize(q)), model.item_probabilities(compact(q))) for q in QUESTIONS]


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(BUNDLED)


@pytest.fixture(scope="module")
def trained(kb) -> TextModel:
    return train_model(kb)


@pytest.fixture(scope="module")
def trained_probabilities(trained) -> list[tuple[dict[str, float], dict[str, float]]]:
    return _probabilities(trained)


@pytest.fixture
def fresh_process(monkeypatch):
    """As in a process that has trained nothing yet (the in-process models are set aside)."""
    monkeypatch.setattr(model_text, "_TRAINED", {})


@pytest.fixture
def quick_training(fresh_process, monkeypatch, trained):
    """A fresh process whose training of the bundled data gives the module's model at once: for the tests of
    what happens to the file (training itself is the first test's, and costs ~4 s of CPU a time)."""
    from knowledge import model_file

    real = model_file.train_on
    monkeypatch.setattr(
        model_file,
        "train_on",
        lambda data, **kw: trained if data.fingerprint == trained.fingerprint else real(data, **kw),
    )


def test_a_missing_file_is_trained_and_written_then_read_with_identical_predictions(
    kb, trained, trained_probabilities, tmp_path, fresh_process
):
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / DEFAULT_MODEL_NAME
    first = model_for(kb, path)
    assert first.how == "trained" and first.settled() == f"trained; written to {path}" and path.is_file()
    assert first.model.fingerprint == trained.fingerprint
    assert [p.name for p in path.parent.iterdir()] == [DEFAULT_MODEL_NAME]  # no temporary file left behind

    model_text._TRAINED.clear()  # a second start-up
    second = model_for(kb, path)
    assert second.how == "loaded" and second.model is not first.model
    loaded = second.model
    assert loaded.fingerprint == trained.fingerprint and loaded.examples == trained.examples
    assert loaded.intent_classes == trained.intent_classes and loaded.item_classes == trained.item_classes
    assert loaded.item_questions == trained.item_questions and min(loaded.item_questions.values()) >= 10
    assert loaded.cue_columns == trained.cue_columns
    assert loaded.intent_vectorizer.vocabulary_ == trained.intent_vectorizer.vocabulary_
    assert loaded.item_vectorizer.vocabulary_ == trained.item_vectorizer.vocabulary_
    for fast in ("_intent_fast", "_item_fast"):
        for name in ("weights", "intercept", "idf"):
            assert np.array_equal(getattr(getattr(loaded, fast), name), getattr(getattr(trained, fast), name))
    assert _probabilities(loaded) == trained_probabilities  # exactly, on every question of tests/data

    assert model_for(kb, path).model is loaded  # the third time in the same process: no file read at all


def test_a_write_left_to_the_caller_begins_when_it_says_so(kb, trained, tmp_path, quick_training):
    path = tmp_path / DEFAULT_MODEL_NAME
    source = model_for(kb, path, write_later=True)
    assert source.how == "trained" and source.file is not None and not path.exists()
    assert source.file.start() is source.file.start()  # one write, however often it is started
    assert source.settled() == f"trained; written to {path}" and path.is_file()
    assert model_for(kb, path, write_later=True).file is None  # the same process: its own model, nothing to write


def test_the_matcher_writes_a_model_trained_at_start_up_once_it_is_built(kb, tmp_path, quick_training, monkeypatch):
    """Begun at once, the write held the GIL while the rest of the start-up (the gate, the index) was built."""
    from knowledge import model_file
    from knowledge.matcher import Matcher

    events = []
    real_init, real_start = Matcher.__init__, model_file.FileWrite.start

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        events.append("matcher built")

    def start(self):
        events.append("write started")
        return real_start(self)

    monkeypatch.setattr(Matcher, "__init__", init)
    monkeypatch.setattr(model_file.FileWrite, "start", start)
    path = tmp_path / DEFAULT_MODEL_NAME
    Matcher.trained(kb, model_path=path, kept_answers=None)
    assert events == ["matcher built", "write started"]
    for thread in threading.enumerate():
        if thread.name == "model-file":
            thread.join()
    data = training_data(kb)
    assert load_model(path, data.fingerprint, artefact_key(data))[1] == "loaded"


def test_a_stale_file_is_not_used_when_the_data_changed(kb, trained, tmp_path, fresh_process):
    path = tmp_path / DEFAULT_MODEL_NAME
    save_model(trained, artefact_key(training_data(kb)), path)
    changed = dataclasses.replace(kb, out_of_scope=(*kb.out_of_scope, "天气怎么样今天"))
    source = model_for(changed, path)
    assert source.settled() == f"trained; written to {path}"
    assert source.model.fingerprint != trained.fingerprint
    data = training_data(changed)
    assert load_model(path, data.fingerprint, artefact_key(data))[1] == "loaded"  # rewritten for the new data
    assert load_model(path, trained.fingerprint, artefact_key(training_data(kb)))[1] == "stale"


def test_a_file_of_other_code_or_libraries_is_not_used(kb, trained, tmp_path, quick_training):
    path = tmp_path / DEFAULT_MODEL_NAME
    save_model(trained, "0123456789abcdef", path)  # the same data, other code: another key
    assert load_model(path, trained.fingerprint, artefact_key(training_data(kb))) == (None, "stale")
    assert model_for(kb, path).settled().startswith("trained; written")


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _one_byte_changed(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def _arrays_replaced(path: Path, trained: TextModel) -> bytes:
    """A well-formed file whose arrays do not match its recorded digest (say, a coefficient edited)."""
    with np.load(path, allow_pickle=False) as file:
        arrays = {name: file[name] for name in file.files}
    arrays["item_intercept"] = arrays["item_intercept"] + 1
    np.savez(path, **arrays)
    return path.read_bytes()


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda data, path, model: b"", id="empty"),
        pytest.param(lambda data, path, model: b"not a model at all\n" * 100, id="text"),
        pytest.param(lambda data, path, model: _truncated(data), id="truncated"),
        pytest.param(lambda data, path, model: _one_byte_changed(data), id="one-byte-changed"),
        pytest.param(lambda data, path, model: _arrays_replaced(path, model), id="digest-differs"),
    ],
)
def test_a_corrupt_file_is_never_used_and_is_written_again(kb, trained, tmp_path, quick_training, spoil):
    path = tmp_path / DEFAULT_MODEL_NAME
    data = training_data(kb)
    save_model(trained, artefact_key(data), path)
    path.write_bytes(spoil(path.read_bytes(), path, trained))
    model, why = load_model(path, data.fingerprint, artefact_key(data))
    assert model is None and why.startswith("unreadable")
    source = model_for(kb, path)
    assert source.settled() == f"trained; written to {path}" and source.model.fingerprint == trained.fingerprint
    assert load_model(path, data.fingerprint, artefact_key(data))[1] == "loaded"


def test_a_folder_that_cannot_be_written_is_one_log_line(kb, trained, tmp_path, quick_training, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    path = blocker / DEFAULT_MODEL_NAME
    with caplog.at_level(logging.INFO, logger="knowledge.model_file"):
        source = model_for(kb, path)
        settled = source.settled()  # the file's line is logged once the write is done
    assert settled.startswith(f"trained; not written to {path}")
    assert source.model.fingerprint == trained.fingerprint
    records = [r for r in caplog.records if r.name == "knowledge.model_file"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING and "not written" in records[0].getMessage()


def test_a_missing_folder_is_not_created(kb, trained, tmp_path, quick_training):
    source = model_for(kb, tmp_path / "no-such-folder" / DEFAULT_MODEL_NAME)
    assert source.settled().startswith("trained; not written") and not (tmp_path / "no-such-folder").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_folder_does_not_stop_the_start_up(kb, trained, tmp_path, quick_training):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        source = model_for(kb, folder / DEFAULT_MODEL_NAME)
    finally:
        folder.chmod(0o755)
    assert source.settled().startswith("trained; not written") and list(folder.iterdir()) == []


def test_the_default_model_file_sits_beside_the_sqlite_file_or_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("MODEL_PATH", raising=False)  # set for the whole run by conftest
    sqlite = load_settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'db' / 'steward.db'}")
    assert sqlite.model_file == tmp_path / "db" / DEFAULT_MODEL_NAME
    assert load_settings(_env_file=None, database_url="sqlite:///steward.db").model_file == Path(DEFAULT_MODEL_NAME)
    postgres = load_settings(_env_file=None, database_url="postgresql+psycopg://u@127.0.0.1/steward")
    assert postgres.model_file == Path(DEFAULT_MODEL_NAME)
    memory = load_settings(_env_file=None, database_url="sqlite://")
    assert memory.model_file == Path(DEFAULT_MODEL_NAME)
    chosen = load_settings(_env_file=None, model_path=str(tmp_path / "m.npz"))
    assert chosen.model_file == tmp_path / "m.npz"
    assert load_settings(_env_file=None, model_path=" ").model_file == Path(DEFAULT_MODEL_NAME)


def test_the_cue_file_reads_the_same_with_libyaml_and_the_python_parser():
    if YAML_LOADER is yaml.SafeLoader:
        pytest.skip("PyYAML built without libyaml: the Python parser is the one in use")
    text = CUES_PATH.read_text(encoding="utf-8")
    assert yaml.load(text, Loader=YAML_LOADER) == yaml.safe_load(text)
    book = cue_book()
    assert all(cue.pattern.pattern == cue.source for cue in (*book.cues, *book.joined))


_DIGEST = """
import hashlib, json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from tests.test_model_file import BUNDLED, _probabilities
from knowledge.loader import load_knowledge
from knowledge.model_text import train_model
model = train_model(load_knowledge(BUNDLED))
digest = hashlib.sha256()
for fast in (model._intent_fast, model._item_fast):
    for array in (fast.weights, fast.intercept, fast.idf):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(json.dumps(sorted(fast.vocabulary.items()), ensure_ascii=False).encode())
digest.update(repr(_probabilities(model)).encode())
print(model.fingerprint, digest.hexdigest())
"""


def test_training_gives_the_same_weights_and_probabilities_in_any_process(trained):
    """Two processes with different string hashing train bit-identical models that give bit-identical
    probabilities on every question of tests/data (the cue features are summed in a fixed order)."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _DIGEST, str(ROOT)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in ("1", "2")
    ]
    outputs = {process.communicate(timeout=300)[0].strip() for process in processes}
    assert [process.returncode for process in processes] == [0, 0]
    assert len(outputs) == 1, outputs
    assert outputs.pop().split()[0] == trained.fingerprint


@pytest.mark.parametrize("which", ["intent", "item"])
def test_the_vectorizer_fits_exactly_as_scikit_learns_own(kb, which):
    """model_text._Tfidf counts and sorts in bulk; the vocabulary and matrix are scikit-learn's, bit for bit."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    data = training_data(kb)
    if which == "intent":
        texts = [normalize(row.q) for row in data.intent_rows]
        ours = model_text._intent_vectorizer()
    else:
        texts = [text for text, _ in data.kb_pairs] + [compact(row.q) for row in data.labelled]
        ours = model_text._vectorizer()
    # and what the coded n-grams must get right besides: the clause mark in a text, white space, empty texts
    texts += ["§", "环评§要多久", "  ", "", "水保 方案  要多久？ 在哪 办", "a", "ab"]
    theirs = TfidfVectorizer(**ours.get_params())
    assert type(ours) is not TfidfVectorizer and isinstance(ours, TfidfVectorizer)
    mine, reference = ours.fit_transform(texts), theirs.fit_transform(texts)
    assert list(ours.vocabulary_.items()) == list(theirs.vocabulary_.items())
    assert np.array_equal(ours.idf_, theirs.idf_) and ours.idf_.dtype == theirs.idf_.dtype
    for part in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(mine, part), getattr(reference, part))
        assert getattr(mine, part).dtype == getattr(reference, part).dtype


@pytest.mark.parametrize("size", [1, 2, 1000])
def test_the_stable_unique_is_numpys(size):
    """`_unique` (a stable sort) gives np.unique's terms and inverse, in any order of the codes, with repeats."""
    values = np.random.default_rng(size).integers(0, max(2, size // 3), size, dtype=np.uint64) << np.uint64(40)
    terms, inverse = model_text._unique(values)
    expected_terms, expected_inverse = np.unique(values, return_inverse=True)
    assert np.array_equal(terms, expected_terms) and np.array_equal(inverse, expected_inverse)
    assert np.array_equal(terms[inverse], values)


@pytest.mark.parametrize("which", ["intent", "item"])
def test_the_vectorizer_counts_an_alphabet_too_large_to_code_as_scikit_learn_does(which):
    """Over 4,095 distinct characters do not fit the 12-bit codes: the strings are counted instead, the same result."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["".join(chr(0x4E00 + i + j) for j in range(6)) + " 要多久" for i in range(0, 5000, 3)]
    ours = model_text._intent_vectorizer() if which == "intent" else model_text._vectorizer()
    assert model_text._gram_codes(ours, texts) is None
    theirs = TfidfVectorizer(**ours.get_params())
    mine, reference = ours.fit_transform(texts), theirs.fit_transform(texts)
    assert list(ours.vocabulary_.items()) == list(theirs.vocabulary_.items())
    for part in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(mine, part), getattr(reference, part))


def test_fitting_the_intent_model_in_two_threads_gives_the_same_weights(kb):
    """The intent classifier is fitted in two threads at start-up; its weights must not depend on that."""
    data = training_data(kb)
    texts = [normalize(row.q) for row in data.intent_rows[:1500]]
    matrix = model_text._intent_vectorizer().fit_transform(texts)
    labels = [row.intent for row in data.intent_rows[:1500]]
    one = model_text._classifier(model_text.INTENT_ALPHA, model_text.INTENT_EPOCHS, threads=1).fit(matrix, labels)
    two = model_text._classifier(model_text.INTENT_ALPHA, model_text.INTENT_EPOCHS, threads=2).fit(matrix, labels)
    assert np.array_equal(one.coef_, two.coef_) and np.array_equal(one.intercept_, two.intercept_)


@pytest.fixture
def default_switching():
    """Python's default switch interval (5 ms) for the test, and the one found restored after it."""
    found = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield 0.005
    sys.setswitchinterval(found)


def test_training_switches_threads_every_millisecond_and_restores_the_interval(kb, monkeypatch, default_switching):
    """The item model's thread waits for the GIL at every switch; training shortens the interval, then restores it."""
    seen: list[float] = []
    fit = model_text.SGDClassifier.fit

    def recording_fit(self, *args, **kwargs):
        seen.append(sys.getswitchinterval())
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(model_text.SGDClassifier, "fit", recording_fit)
    rows = [row for row in load_training() if row.split == "train" and row.dialogue is None][:600]
    model_text.train_model(kb, rows, reuse=False)
    assert seen == [0.001, 0.001]  # the item model's fit and the intent model's
    assert sys.getswitchinterval() == default_switching


def test_overlapping_trainings_restore_the_interval_the_first_one_found(default_switching):
    """Two trainings in two threads change the switch interval once; the last one out restores it."""
    with contextlib.ExitStack() as both:
        both.enter_context(model_text._switching_every(0.001))
        second = contextlib.ExitStack()
        second.enter_context(model_text._switching_every(0.001))
        try:
            both.close()  # the first one out leaves the second still training
            assert sys.getswitchinterval() == 0.001
        finally:
            second.close()
    assert sys.getswitchinterval() == default_switching


def test_a_switch_interval_must_be_positive(default_switching):
    with pytest.raises(ValueError), model_text._switching_every(0):
        pass
    assert sys.getswitchinterval() == default_switching and model_text._SWITCHING.depth == 0


def test_the_intent_fit_reads_texts_as_the_trained_model_does(kb):
    """`IntentFit.probabilities` (the benchmarks' batch reading) gives what `TextModel.intent_probabilities` gives."""
    rows = [row for row in load_training() if row.split == "train"][:800]
    model = model_text.train_model(kb, rows, reuse=False)
    fitted = model_text.IntentFit(
        model.intent_vectorizer, model.cue_columns, model.intent_classifier, model.intent_bayes
    )
    texts = [
        normalize(q) for q in ("环评要什么材料", "那得多长时间", "施工许可证在哪办 要多久", "我们的能评批下来没有")
    ]
    batch = fitted.probabilities(texts)
    for text, row in zip(texts, batch, strict=True):
        one = model.intent_probabilities(text)
        assert np.allclose([one[c] for c in model.intent_classes], row, atol=1e-9)


def _turn(q: str, item: str | None, dialogue: int | None, source: str = "set", split: str = "train"):
    return model_text.LabelledQuestion(q, item, "other", dialogue=dialogue, source=source, split=split)


def test_the_item_model_learns_from_single_questions_and_the_turns_that_open_a_dialogue():
    """A single question and a dialogue's first turn teach the item (small talk too: no item); a later turn —
    「那得多长时间」 keeping the item, 「那水保呢」 moving to another — teaches the intent only; dialogues of two sets
    with one number are apart."""
    rows = [
        _turn("环评要什么材料", "eia", 1),
        _turn("那得多长时间", "eia", 1),
        _turn("谢谢", None, 1),
        _turn("那水保呢", "soil_water", 1),
        _turn("你好", None, 2),
        _turn("能评找谁", "energy", 2),
        _turn("施工许可证多久", "construction_permit", 1, source="other"),
        _turn("规划许可要啥", "planning_permit", None),
    ]
    assert [row.q for row in model_text.item_teaching_rows(rows)] == [
        "环评要什么材料",
        "你好",
        "施工许可证多久",
        "规划许可要啥",
    ]


def test_which_turns_teach_the_item_is_read_in_the_whole_training_file(kb):
    """A dialogue whose first turn is in the test split (never trained on), or out of a fold, does not make its second
    turn a first: a turn of the training file teaches the item by its place in the whole file, whatever subset of it
    is trained on."""
    everything = load_training()
    naming = {(row.source, row.dialogue, row.q) for row in model_text.item_teaching_rows(everything)}
    data = training_data(kb)
    assert data.item_rows == [
        row for row in data.labelled if row.dialogue is None or (row.source, row.dialogue, row.q) in naming
    ]
    assert len(model_text.item_teaching_rows(data.labelled)) > len(data.item_rows)  # second turns taken for firsts
    turns = [row for row in data.item_rows if row.dialogue is not None]
    assert turns and len(turns) < sum(1 for row in data.labelled if row.dialogue is not None)
    fold = [row for n, row in enumerate(data.labelled) if n % 3]
    in_fold = {id(row) for row in fold}
    assert training_data(kb, fold).item_rows == [row for row in data.item_rows if id(row) in in_fold]


def test_the_training_files_rows_read_again_teach_the_same_turns(kb):
    """The start-up knows the file's own rows by identity (`model_text._item_rows`); the same rows read again (other
    objects, as a tool that loads the file itself has them) are looked up by their text, with the same result, whole
    or a fold of them."""
    data = training_data(kb)
    again = [row for row in load_labelled(model_text.LABELLED_PATH) if row.split == "train"]
    assert again == data.labelled and all(a is not b for a, b in zip(again, data.labelled, strict=True))
    assert training_data(kb, again).item_rows == data.item_rows
    fold = [row for n, row in enumerate(again) if n % 3]
    own_fold = [row for n, row in enumerate(data.labelled) if n % 3]
    assert training_data(kb, fold).item_rows == training_data(kb, own_fold).item_rows


def test_turns_not_of_the_training_file_are_read_in_the_sequence_given(kb):
    """An operator's own labelled dialogue (not in the bundled file): its first turn teaches the item."""
    rows = [
        _turn("我们厂房要办环评 要什么材料", "eia", 1, source="mine"),
        _turn("那得多长时间", "eia", 1, source="mine"),
        _turn("那水保呢", "soil_water", 1, source="mine"),
    ]
    assert [row.q for row in training_data(kb, rows).item_rows] == ["我们厂房要办环评 要什么材料"]

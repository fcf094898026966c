"""`steward ask` and `steward eval` with conversations, several asks and the regression guard."""

from __future__ import annotations

import json
from pathlib import Path

import texts
from knowledge.evaluation import fold_of, load_labelled
from knowledge.model_file import artefact_key, load_model
from knowledge.model_text import training_data
from knowledge.training_file import TEST_FOLDS
from tests.test_cli import clean_env, kb, reuse_bundled_kb, run  # noqa: F401  (the CLI tests' fixtures)
from tests.texts_match import said, says

CHAT, WANG, LI = -1001234567890, 5000000001, 5000000002
SEVERAL_ASKS = {  # a labelled question asking two things
    "q": "水保和林草分别几个工作日",
    "item": "soil_water",
    "intent": "time_limit",
    "style": "multi",
    "asks": [{"item": "soil_water", "intent": "time_limit"}, {"item": "forest_grass", "intent": "time_limit"}],
}


def _lines(tmp_path, name: str, rows: list) -> str:
    path = tmp_path / name
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), encoding="utf-8"
    )
    return str(path)


def test_ask_batch_applies_context_per_chat_and_user_in_file_order(capsys, tmp_path):
    batch = _lines(
        tmp_path,
        "turns.jsonl",
        [
            {"chat": CHAT, "user": WANG, "text": "环评要什么材料"},
            {"chat": CHAT, "user": LI, "text": "那得多长时间"},
            {"chat": CHAT, "user": WANG, "text": "那得多长时间"},
            "那得多长时间",  # a plain line is an independent question
            {"chat": CHAT, "user": WANG, "text": "水保和林草分别几个工作日"},
        ],
    )
    code, out, _ = run(capsys, "ask", "--json", "--batch", batch)
    assert code == 0
    results = [json.loads(line) for line in out.strip().splitlines()]
    assert [(r["item"], r["intent"], r["action"], r["context"]) for r in results[:4]] == [
        ("eia", "materials", "answer", False),
        (None, "time_limit", "handoff", False),
        ("eia", "time_limit", "answer", True),
        (None, "time_limit", "handoff", False),
    ]
    assert results[2]["question"] == "那得多长时间" and "环境影响评价" in results[2]["answer"]
    assert results[4]["asks"] == [
        {"item": "soil_water", "intent": "time_limit"},
        {"item": "forest_grass", "intent": "time_limit"},
    ]
    assert all({"asks", "context", "candidates", "confidence"} <= set(r) for r in results)


def test_eval_scores_dialogues_and_several_asks_over_several_files(capsys, tmp_path):
    turns = _lines(
        tmp_path,
        "dialogue.jsonl",
        [
            {"chat": CHAT, "user": WANG, "text": "环评要什么材料", "item": "eia", "intent": "materials", "dialogue": 1},
            {"chat": CHAT, "user": WANG, "text": "要钱吗", "item": "eia", "intent": "fee", "dialogue": 1},
            {"chat": CHAT, "user": LI, "text": "要钱吗", "item": None, "intent": "fee", "dialogue": 1},
        ],
    )
    plain = _lines(
        tmp_path,
        "plain.jsonl",
        [
            SEVERAL_ASKS,
            {
                "q": "环评和能评各要什么材料",
                "item": "eia",
                "intent": "materials",
                "asks": [{"item": "eia", "intent": "materials"}, {"item": "filing", "intent": "materials"}],
            },  # wrong label
        ],
    )
    code, out, _ = run(capsys, "eval", turns, plain, "--json")
    assert code == 0
    data = json.loads(out)
    assert data[turns]["questions"] == 3 and data[turns]["item_accuracy"] == 100.0
    assert data[plain]["several_asks"] == 2 and data[plain]["several_asks_accuracy"] == 50.0


def test_eval_counts_the_messages_a_group_answers_unmentioned(capsys, tmp_path):
    # thanks are no ask; an ask with a question mark is replied to, and so is one without that the learned reader
    # takes and the bot answers itself
    turns = _lines(
        tmp_path,
        "dialogue.jsonl",
        [
            {"chat": CHAT, "user": WANG, "text": "环评要什么材料", "item": "eia", "intent": "materials", "dialogue": 1},
            {"chat": CHAT, "user": WANG, "text": "网上报还是去窗口", "item": "eia", "intent": "process", "dialogue": 1},
            {"chat": CHAT, "user": WANG, "text": "好的 谢谢", "item": None, "intent": "other", "dialogue": 1},
        ],
    )
    code, out, _ = run(capsys, "eval", turns, "--json")
    assert code == 0
    data = json.loads(out)  # one file: its report alone
    assert (data["asking"], data["replied_unmentioned"], data["replied_unmentioned_rate"]) == (2, 2, 100.0)
    code, out, _ = run(capsys, "eval", turns)
    assert says(texts.EVAL_UNMENTIONED, out, asking=2, replied_unmentioned=2)


def test_eval_diff_lists_flips_and_fails_on_right_to_wrong(capsys, tmp_path):
    labelled = _lines(
        tmp_path,
        "set.jsonl",
        [
            {"q": "环评要啥材料", "item": "eia", "intent": "materials"},
            {"q": "能评要多久", "item": "eia", "intent": "time_limit"},  # mislabelled: the matcher is "wrong"
        ],
    )
    guard = str(tmp_path / "guard.jsonl")
    assert run(capsys, "eval", labelled, "--diff", "--write-guard", "--guard", guard)[0] == 0
    code, out, err = run(capsys, "eval", labelled, "--diff", "--guard", guard)
    assert (code, out) == (0, "") and says(texts.GUARD_SUMMARY, err, flips=0)

    entries = [json.loads(line) for line in Path(guard).read_text(encoding="utf-8").splitlines()]
    entries[0]["right"], entries[1]["right"] = False, True  # pretend the first was wrong and the second right
    with open(guard, "w", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
    code, out, _ = run(capsys, "eval", labelled, "--diff", "--guard", guard)
    assert code == 1
    lines = out.splitlines()
    assert said(texts.GUARD_FLIP, lines, kind=texts.GUARD_FLIP_KINDS["wrong→right"], question=repr("环评要啥材料"))
    assert said(texts.GUARD_FLIP, lines, kind=texts.GUARD_FLIP_KINDS["right→wrong"], question=repr("能评要多久"))

    entries[1]["accept"] = True
    with open(guard, "w", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
    code, out, _ = run(capsys, "eval", labelled, "--diff", "--guard", guard)
    assert code == 0 and says(texts.GUARD_FLIP, out, accepted=texts.GUARD_FLIP_ACCEPTED, question=repr("能评要多久"))


def test_kb_train_is_repeatable_and_reports_the_test_split(capsys, request):
    code, out, _ = run(capsys, "kb", "train", "--folds", "0", "--no-by-set")
    assert code == 0
    assert not says(texts.TRAIN_BY_SET_HEADING, out)  # leaving each blind set out: tests/test_matcher_accuracy.py
    assert says(texts.TRAIN_DONE, out, repeatable=texts.TRAIN_REPEATABLE_YES)
    assert says(texts.TRAIN_TEST_SPLIT_HEADING, out) and says(texts.EVAL_REPORT, out)
    # The model file, beside the default SQLite file (the working directory here), for the next start-up.
    data = training_data(request.getfixturevalue("kb"))
    assert says(texts.TRAIN_WRITTEN, out, path="steward-model.npz", fingerprint=data.fingerprint)
    assert load_model(Path("steward-model.npz"), data.fingerprint, artefact_key(data))[1] == "loaded"


def test_kb_train_says_in_one_line_when_the_model_file_cannot_be_written(capsys, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("MODEL_PATH", str(tmp_path / "a-file" / "model.npz"))
    code, out, err = run(capsys, "kb", "train", "--folds", "0", "--no-by-set")
    assert code != 0 and out == "" and len(err.strip().splitlines()) == 1 and "a-file" in err


def test_kb_join_appends_a_read_set_with_its_split_and_skips_known_texts(capsys, tmp_path):
    training = _lines(
        tmp_path,
        "labelled.jsonl",
        [
            {
                "q": "环评要什么材料",
                "item": "eia",
                "intent": "materials",
                "style": "plain",
                "source": "old",
                "split": "train",
            }
        ],
    )
    turns = _lines(
        tmp_path,
        "bankQQ_dialogues.jsonl",
        [
            {"chat": CHAT, "user": WANG, "text": "环评要什么材料", "item": "eia", "intent": "materials", "dialogue": 1},
            {"chat": CHAT, "user": WANG, "text": "那得多长时间", "item": "eia", "intent": "time_limit", "dialogue": 1},
            {
                "chat": CHAT,
                "user": LI,
                "text": "那得多长时间",
                "item": "soil_water",
                "intent": "time_limit",
                "dialogue": 2,
            },
        ],
    )
    singles = _lines(
        tmp_path,
        "bankRR.jsonl",
        [
            SEVERAL_ASKS,
        ],
    )
    code, out, _ = run(capsys, "kb", "join", turns, singles, "--training", training)
    assert code == 0
    assert says(texts.TRAIN_JOINED, out, source="bankQQ_dialogues", rows=1, known=2)
    assert says(texts.TRAIN_JOINED, out, source="bankRR", rows=1, known=0)
    rows = [json.loads(line) for line in Path(training).read_text(encoding="utf-8").splitlines()]
    assert [r["q"] for r in rows] == ["环评要什么材料", "那得多长时间", "水保和林草分别几个工作日"]
    turn, multi = rows[1], rows[2]
    # a turn trains the intent only (it keeps its dialogue number); a single question keeps its several asks
    assert (turn["dialogue"], turn["style"], turn["source"]) == (1, "dialogue", "bankQQ_dialogues")
    assert "dialogue" not in multi and [a["item"] for a in multi["asks"]] == ["soil_water", "forest_grass"]
    for row in rows[1:]:  # a fixed fifth by the text's hash is never trained on, as for the rows already there
        assert row["split"] == ("test" if fold_of(row["q"], TEST_FOLDS) == 0 else "train")
    # the same set again is refused, and nothing is written
    before = Path(training).read_text(encoding="utf-8")
    code, out, err = run(capsys, "kb", "join", singles, "--training", training)
    assert code != 0 and says(texts.TRAIN_ALREADY_JOINED, err, source="bankRR")
    assert Path(training).read_text(encoding="utf-8") == before


def test_kb_join_writes_nothing_when_a_line_is_bad(capsys, tmp_path):
    training = _lines(tmp_path, "labelled.jsonl", [])
    good = _lines(tmp_path, "good.jsonl", [{"q": "能评多久", "item": "energy_review", "intent": "time_limit"}])
    bad = _lines(tmp_path, "bad.jsonl", [{"q": "环评要钱吗", "item": "eia", "intent": "fee"}, "{not json"])
    code, _, err = run(capsys, "kb", "join", good, bad, "--training", training)
    assert code != 0 and "bad.jsonl:2" in err and len(err.strip().splitlines()) == 1
    assert Path(training).read_text(encoding="utf-8") == ""


def test_kb_join_keeps_the_files_mode_ends_its_last_line_and_writes_nothing_new_twice(capsys, tmp_path):
    training = Path(
        _lines(
            tmp_path, "labelled.jsonl", [{"q": "环评要什么材料", "item": "eia", "intent": "materials", "source": "old"}]
        )
    )
    training.write_text(training.read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8")  # no final newline
    training.chmod(0o640)
    one = _lines(tmp_path, "bankSS.jsonl", [{"q": "能评多久", "item": "energy_review", "intent": "time_limit"}])
    code, _, _ = run(capsys, "kb", "join", one, "--training", str(training))
    assert code == 0 and training.stat().st_mode & 0o777 == 0o640
    assert [json.loads(line)["q"] for line in training.read_text(encoding="utf-8").splitlines()] == [
        "环评要什么材料",
        "能评多久",
    ]
    # the same file twice in one command is refused; a set of known texts only leaves the file as it was
    code, _, err = run(capsys, "kb", "join", one, one, "--training", str(training))
    assert code != 0 and says(texts.TRAIN_ALREADY_JOINED, err, source="bankSS")
    known = _lines(tmp_path, "bankTT.jsonl", [{"q": "能评多久", "item": "energy_review", "intent": "time_limit"}])
    before = training.stat().st_mtime_ns
    code, out, _ = run(capsys, "kb", "join", known, "--training", str(training))
    assert code == 0 and says(texts.TRAIN_JOINED, out, source="bankTT", rows=0, known=1)
    assert training.stat().st_mtime_ns == before


def test_a_labelled_line_is_read_field_by_field_and_a_bad_intent_is_named(capsys, tmp_path):
    turn = {"chat": CHAT, "user": WANG, "text": "要钱吗", "item": "eia", "intent": "fee", "dialogue": 7}
    row = {**SEVERAL_ASKS, "source": "bankQQ", "split": "test"}
    [case_turn, case_row] = load_labelled(Path(_lines(tmp_path, "both.jsonl", [turn, row])))
    assert case_turn._asdict() == {
        "q": "要钱吗",
        "item": "eia",
        "intent": "fee",
        "style": "dialogue",
        "asks": (),
        "chat": CHAT,
        "user": WANG,
        "dialogue": 7,
        "source": "",
        "split": "",
    }
    assert (case_row.q, case_row.style, case_row.source, case_row.split, case_row.chat) == (
        "水保和林草分别几个工作日",
        "multi",
        "bankQQ",
        "test",
        None,
    )
    assert case_row.asks == (("soil_water", "time_limit"), ("forest_grass", "time_limit"))
    training = _lines(tmp_path, "labelled.jsonl", [])
    bad = _lines(tmp_path, "bad.jsonl", [{"q": "环评要钱吗", "item": "eia", "intent": ["fee"]}])
    code, _, err = run(capsys, "kb", "join", bad, "--training", training)
    assert code != 0 and "bad.jsonl:1" in err and len(err.strip().splitlines()) == 1

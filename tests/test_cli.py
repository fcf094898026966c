"""The `steward` command line, called as cli.main.main([...])."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

import knowledge
import texts
from cli.main import main
from config import Settings
from knowledge.loader import load_knowledge
from tests.texts_match import said, says

BUNDLED = Path(knowledge.__file__).resolve().parent / "data"
DEVSET = Path(__file__).parent / "data" / "devset.jsonl"
REQUIRED_KEYS = {"question", "item", "intent", "action", "confidence", "candidates", "answer"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer, and the default SQLite file lands here


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(BUNDLED)


@pytest.fixture(autouse=True)
def reuse_bundled_kb(monkeypatch, kb):
    """Commands that only *use* the bundled knowledge base get it pre-loaded (loading is tested in
    test_knowledge_loader.py and by `kb validate` below, which still reads the files)."""
    import cli.common

    real = cli.common.load_knowledge

    def load(path, *args, **kwargs):
        if Path(path).resolve() == BUNDLED and not args and not kwargs:
            return kb
        return real(path, *args, **kwargs)

    monkeypatch.setattr(cli.common, "load_knowledge", load)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the command line; return (exit code, stdout, stderr)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:  # escaped the command line: a traceback for the operator
        code = -2
    out, err = capsys.readouterr()
    return code, out, err


def _check_json_result(data: dict, kb) -> None:
    assert REQUIRED_KEYS <= set(data)
    assert isinstance(data["question"], str)
    assert data["item"] is None or data["item"] in kb.items
    assert data["action"] in ("answer", "clarify", "handoff", "smalltalk")
    assert 0 <= data["confidence"] <= 1
    assert isinstance(data["candidates"], list)
    for c in data["candidates"]:
        assert set(c) >= {"item", "score"} and c["item"] in kb.items and 0 <= c["score"] <= 1
    scores = [c["score"] for c in data["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert (data["answer"] is not None) == (data["action"] == "answer")


# -- ask ----------------------------------------------------------------------------------------------


def test_ask_prints_a_plain_text_answer(capsys, kb):
    code, out, _ = run(capsys, "ask", "环评要啥材料")
    assert code == 0
    assert "1." in out and kb.items["eia"].materials[0].name in out
    assert "<b>" not in out and "&lt;" not in out  # plain text for the terminal


def test_ask_joins_words_of_the_question(capsys):
    code, out, _ = run(capsys, "ask", "--json", "能评", "要多久")
    data = json.loads(out)
    assert data["question"] == "能评 要多久"
    assert (data["item"], data["intent"]) == ("energy_review", "time_limit")


def test_ask_json_prints_one_object_with_the_required_keys(capsys, kb):
    code, out, _ = run(capsys, "ask", "--json", "施工许可正在哪个窗口办")
    assert code == 0
    assert len(out.strip().splitlines()) == 1
    data = json.loads(out)
    _check_json_result(data, kb)
    assert data["question"] == "施工许可正在哪个窗口办"
    assert (data["item"], data["intent"], data["action"]) == ("construction_permit", "department", "answer")
    assert data["candidates"][0]["item"] == "construction_permit"
    assert "住房和城乡建设局" in data["answer"]


def test_ask_json_for_out_of_scope_has_null_item_and_answer(capsys, kb):
    code, out, _ = run(capsys, "ask", "--json", "公司年底退税找哪个部门")
    data = json.loads(out)
    _check_json_result(data, kb)
    assert data["item"] is None and data["answer"] is None and data["action"] == "handoff"
    assert out.strip().startswith("{") and "null" in out  # JSON null, not Python None


def test_ask_keeps_chinese_readable_in_json(capsys):
    _, out, _ = run(capsys, "ask", "--json", "环评要啥材料")
    assert "环评要啥材料" in out  # not \\u73af...


def test_ask_batch_prints_one_json_line_per_question_in_order(capsys, tmp_path, kb):
    questions = ["在吗", "环评要啥材料", "能评要多久", "食堂几点开饭", "我们的环评批下来了没", "规划许可证要什么材料"]
    batch = tmp_path / "questions.txt"
    batch.write_text("\n".join(questions) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "ask", "--json", "--batch", str(batch))
    assert code == 0
    lines = out.strip("\n").split("\n")
    assert len(lines) == len(questions)
    results = [json.loads(line) for line in lines]
    for data in results:
        _check_json_result(data, kb)
    assert [d["question"] for d in results] == questions
    assert [d["action"] for d in results] == ["smalltalk", "answer", "answer", "handoff", "handoff", "clarify"]
    assert [d["item"] for d in results][:3] == [None, "eia", "energy_review"]


def test_ask_batch_from_stdin(capsys, monkeypatch, kb):
    monkeypatch.setattr("sys.stdin", io.StringIO("环评要啥材料\n备按要几天\n"))
    code, out, _ = run(capsys, "ask", "--json", "--batch", "-")
    assert code == 0
    items = [json.loads(line)["item"] for line in out.strip().splitlines()]
    assert items == ["eia", "filing"]


def test_ask_without_a_question_is_a_usage_error(capsys):
    code, out, err = run(capsys, "ask")
    assert code != 0
    assert err.strip()


def test_ask_uses_the_configured_knowledge_path(capsys, monkeypatch, tmp_path):
    broken = tmp_path / "kb"
    shutil.copytree(BUNDLED, broken)
    path = broken / "items" / "eia.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("department: eco_env", "department: nowhere"), encoding="utf-8"
    )
    monkeypatch.setenv("KNOWLEDGE_PATH", str(broken))
    code, out, err = run(capsys, "ask", "环评要啥材料")
    assert code != 0
    assert "eia.yaml" in err and "nowhere" in err
    assert "Traceback" not in err


def test_a_bad_setting_is_one_clear_line(capsys, monkeypatch):
    monkeypatch.setenv("TIMEZONE", "Moon/Base")
    code, out, err = run(capsys, "ask", "环评要啥材料")
    assert code != 0
    assert "TIMEZONE" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


# -- kb ------------------------------------------------------------------------------------------------


def test_kb_validate_bundled_exits_zero(capsys):
    code, out, err = run(capsys, "kb", "validate")
    assert code == 0
    assert "29" in out and "6" in out  # 29 items, 6 topics


def test_kb_validate_explicit_path(capsys):
    code, out, _ = run(capsys, "kb", "validate", str(BUNDLED))
    assert code == 0


def test_kb_validate_broken_copy_prints_file_and_line(capsys, tmp_path):
    broken = tmp_path / "kb"
    shutil.copytree(BUNDLED, broken)
    path = broken / "items" / "soil_water.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, start=1) if line.startswith("promised_days:"))
    lines[number - 1] = "promised_days: ten"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "kb", "validate", str(broken))
    assert code != 0
    assert re.search(rf"soil_water\.yaml:{number}\b", out + err), out + err
    assert "promised_days" in out + err


def test_kb_validate_missing_folder_fails(capsys, tmp_path):
    code, out, err = run(capsys, "kb", "validate", str(tmp_path / "nope"))
    assert code != 0 and (out + err).strip()


def test_kb_list_prints_every_key_once(capsys, kb):
    code, out, _ = run(capsys, "kb", "list")
    assert code == 0
    keys = [line.split("\t")[0] for line in out.strip().splitlines()]
    assert sorted(keys) == sorted(kb.items)
    eia_line = next(line for line in out.splitlines() if line.startswith("eia\t"))
    assert "生态环境局" in eia_line


def test_kb_export_xlsx_has_every_item(capsys, tmp_path, kb):
    target = tmp_path / "knowledge.xlsx"  # a missing folder is refused (tests/test_cli_one_line.py)
    code, out, _ = run(capsys, "kb", "export", "--xlsx", str(target))
    assert code == 0 and target.is_file()
    wb = load_workbook(target, read_only=True)
    values: set[str] = set()
    rows_per_sheet = {}
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        rows_per_sheet[ws.title] = rows
        values.update(str(v) for row in rows for v in row if v is not None)
    missing = set(kb.items) - values
    assert not missing, missing
    # one row per material, besides the header, in some sheet
    total_materials = sum(len(i.materials) for i in kb.items.values())
    assert any(len(rows) - 1 == total_materials for rows in rows_per_sheet.values())
    assert any(kb.departments["eco_env"].phone in v for v in values)
    wb.close()


def test_kb_export_requires_a_file(capsys):
    code, _, _ = run(capsys, "kb", "export")
    assert code == 2


# -- eval ----------------------------------------------------------------------------------------------


def test_eval_prints_the_accuracy_lines(capsys):
    code, out, _ = run(capsys, "eval", str(DEVSET))
    assert code == 0
    for line in texts.EVAL_REPORT.splitlines():  # every line of the report, a figure in each
        assert says(line, out), line
    assert re.search(r"\d+(\.\d+)?%", out)


def test_eval_json_and_errors(capsys, tmp_path):
    labelled = tmp_path / "mini.jsonl"
    rows = [
        {"q": "环评要啥材料", "item": "eia", "intent": "materials"},
        {"q": "食堂几点开饭", "item": None, "intent": "other"},
        {"q": "能评要多久", "item": "eia", "intent": "time_limit"},  # deliberately mislabelled
    ]
    labelled.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "eval", str(labelled), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["questions"] == 3
    assert data["item_accuracy"] == pytest.approx(66.7, abs=0.1)
    assert data["out_of_scope_handoff_rate"] == 100.0
    assert data["wrong_auto_answer_rate"] == pytest.approx(33.3, abs=0.1)
    code, out, _ = run(capsys, "eval", str(labelled), "--errors")
    assert code == 0
    assert said(texts.EVAL_ERROR_LINE, out.splitlines(), question=repr("能评要多久"))
    assert not said(texts.EVAL_ERROR_LINE, out.splitlines(), question=repr("环评要啥材料"))


def test_eval_on_a_bad_file_names_the_line(capsys, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "环评", "item": "eia", "intent": "materials"}\nnot json\n', encoding="utf-8")
    code, out, err = run(capsys, "eval", str(bad))
    assert code != 0
    assert "bad.jsonl:2" in err


# -- help ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [[], ["ask"], ["kb"], ["kb", "validate"], ["kb", "list"], ["kb", "export"], ["eval"]],
    ids=lambda a: " ".join(a) or "steward",
)
def test_every_command_has_help(capsys, argv):
    code, out, _ = run(capsys, *argv, "--help")
    assert code == 0
    assert out.startswith("用法：") and texts.CLI_HELP_HELP in out


def test_no_command_is_a_usage_error(capsys):
    code, _, err = run(capsys)
    assert code == 2 and says(texts.CLI_ARG_ERRORS["required"], err) and "--help" in err

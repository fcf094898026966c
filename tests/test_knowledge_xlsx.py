"""The knowledge base round-trips through Excel: `kb export --xlsx` → edit → `kb import --xlsx`,
checked with the rules of `kb validate`, every problem at its sheet, row and column."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from openpyxl import load_workbook

import texts
from cli.main import main
from knowledge.errors import KnowledgeError
from knowledge.export import export_knowledge_xlsx
from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase
from knowledge.xlsx_import import import_knowledge_xlsx
from tests.knowledge_support import BUNDLED
from tests.texts_match import says


def _comparable(kb: KnowledgeBase) -> KnowledgeBase:
    """The knowledge base without where its files were (the only field a copy changes)."""
    return dataclasses.replace(kb, items={k: dataclasses.replace(i, source_file="") for k, i in kb.items.items()})


@pytest.fixture
def run_in(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KNOWLEDGE_PATH", raising=False)
    return tmp_path


def test_bundled_knowledge_survives_export_and_import(tmp_path):
    bundled = load_knowledge(BUNDLED)
    export_knowledge_xlsx(bundled, tmp_path / "kb.xlsx")
    result = import_knowledge_xlsx(tmp_path / "kb.xlsx", tmp_path / "out")
    assert result.items == sum(1 for i in bundled.items.values() if i.kind == "item")
    assert _comparable(load_knowledge(tmp_path / "out")) == _comparable(bundled)


def test_regional_overrides_survive_export_and_import(tmp_path, regional_kb):
    kb = load_knowledge(regional_kb)
    assert [o.region for o in kb.items["energy_review"].regional] == ["赛罕区", "武川县"]
    export_knowledge_xlsx(kb, tmp_path / "kb.xlsx")
    sheet = load_workbook(tmp_path / "kb.xlsx")["地区差异"]
    assert [c.value for c in sheet[2]][2:5] == ["赛罕区", "natural_resources", "赛罕区政务服务中心一楼 综合窗口"]
    import_knowledge_xlsx(tmp_path / "kb.xlsx", tmp_path / "out")
    assert _comparable(load_knowledge(tmp_path / "out")) == _comparable(kb)


def _edit(path: Path, sheet: str, row: int, header: str, value: object) -> None:
    workbook = load_workbook(path)
    ws = workbook[sheet]
    column = [c.value for c in ws[1]].index(header) + 1
    ws.cell(row, column).value = value
    workbook.save(path)


def _row_of(path: Path, sheet: str, key: str) -> int:
    ws = load_workbook(path)[sheet]
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == key)


def test_problems_name_sheet_row_and_column_and_nothing_is_written(tmp_path):
    export_knowledge_xlsx(load_knowledge(BUNDLED), tmp_path / "kb.xlsx")
    book = tmp_path / "kb.xlsx"
    eia = _row_of(book, "事项", "eia")
    _edit(book, "事项", eia, "责任部门键", "mars_bureau")  # the loader's cross-file rule
    _edit(book, "事项", eia, "承诺时限(工作日)", "二十天")  # the workbook's own check
    fire = _row_of(book, "事项", "fire_design")
    _edit(book, "事项", fire, "承诺时限(工作日)", 999)  # longer than statutory
    _edit(book, "材料清单", 2, "事项键", "nope")  # a row of no item
    target = tmp_path / "out"
    with pytest.raises(KnowledgeError) as caught:
        import_knowledge_xlsx(book, target)
    lines = [str(p) for p in caught.value.problems]
    assert any(f"工作表「事项」:{eia}: 承诺时限(工作日)" in line and "二十天" in line for line in lines)
    assert any("工作表「材料清单」:2: 事项键" in line for line in lines)
    assert not target.exists()

    _edit(book, "事项", eia, "承诺时限(工作日)", 20)
    _edit(book, "材料清单", 2, "事项键", load_workbook(book)["材料清单"].cell(3, 1).value)
    with pytest.raises(KnowledgeError) as caught:
        import_knowledge_xlsx(book, target)
    lines = [str(p) for p in caught.value.problems]
    assert any(f"工作表「事项」:{eia}: 责任部门键" in line and "mars_bureau" in line for line in lines), lines
    assert any(f"工作表「事项」:{fire}: 承诺时限(工作日)" in line and "statutory" in line for line in lines), lines
    assert not target.exists()


def test_regional_override_problems_are_found_by_kb_validate(run_in, regional_kb, capsys):
    energy = regional_kb / "items" / "energy_review.yaml"
    text = energy.read_text(encoding="utf-8")
    energy.write_text(
        text.replace("department: natural_resources", "department: mars").replace("level: [旗县区]", "level: [乡镇]"),
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as exit_:
        main(["kb", "validate", str(regional_kb)])
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert "regional[0].department" in out and "mars" in out
    assert "regional[0].level" in out and "乡镇" in out


def test_kb_commands_from_the_command_line(run_in, regional_kb, capsys):
    main(["kb", "validate", str(regional_kb)])
    assert says(texts.KB_VALID_REGIONAL, capsys.readouterr().out, count=2)
    main(["kb", "export", "--xlsx", str(run_in / "kb.xlsx")])
    assert says(texts.KB_EXPORTED, capsys.readouterr().out)
    main(["kb", "import", "--xlsx", str(run_in / "kb.xlsx"), "--to", str(run_in / "copy")])
    assert says(texts.KB_IMPORTED, capsys.readouterr().out)
    assert (run_in / "copy" / "items" / "eia.yaml").is_file()
    for argv, wanted in (
        (["kb", "export", "--xlsx", str(run_in / "nope" / "kb.xlsx")], texts.CLI_FOLDER_MISSING),
        (["kb", "export", "--xlsx", str(run_in)], texts.CLI_PATH_IS_FOLDER),
        (["kb", "import", "--xlsx", str(run_in / "missing.xlsx")], texts.CLI_FILE_ERROR),
    ):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 1
        err = capsys.readouterr().err
        assert says(wanted, err) and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (run_in / "nope").exists()


def test_export_keeps_formula_looking_text_as_text(tmp_path):
    """Knowledge text that starts like a formula is written as text, never as a live formula
    (formula injection), and comes back unchanged."""
    formulas = ('=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)")
    bundled = load_knowledge(BUNDLED)
    eia = bundled.items["eia"]
    kb = dataclasses.replace(
        bundled,
        items={
            **bundled.items,
            "eia": dataclasses.replace(
                eia, summary=formulas[0], fee=formulas[1], time_note=formulas[2], apply_at=formulas[3]
            ),
        },
    )
    export_knowledge_xlsx(kb, tmp_path / "kb.xlsx")
    sheet = load_workbook(tmp_path / "kb.xlsx").worksheets[0]
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value in formulas]
    assert sorted(c.value for c in cells) == sorted(formulas)
    assert {c.data_type for c in cells} == {"s"}
    import_knowledge_xlsx(tmp_path / "kb.xlsx", tmp_path / "out")
    back = load_knowledge(tmp_path / "out").items["eia"]
    assert (back.summary, back.fee, back.time_note, back.apply_at) == formulas

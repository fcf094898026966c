"""What operators feed `kb import`: keys that are not file names, a workbook without the 地区差异
sheet, aliases run together with 「、」, a heading given twice, formulas nobody calculated, a copy
stopped half-way, cells merged over rows. Each is refused at its sheet, row and column, or kept; nothing is lost, and
nothing is written outside the knowledge folder. Real workbooks from `kb export`."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

import texts
from cli.main import main
from knowledge.errors import KnowledgeError
from knowledge.export import export_knowledge_xlsx
from knowledge.loader import load_knowledge
from knowledge.xlsx_import import import_knowledge_xlsx
from tests.knowledge_support import BUNDLED
from tests.test_knowledge_xlsx import run_in  # noqa: F401  (its fixture: the working folder a fresh one)
from tests.texts_match import says


def _export(kb_folder: Path, path: Path) -> Path:
    export_knowledge_xlsx(load_knowledge(kb_folder), path)
    return path


def _column(sheet, header: str) -> int:
    return [c.value for c in sheet[1]].index(header) + 1


def _row_of(sheet, key: str) -> int:
    return next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == key)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _problems(book: Path, target: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        import_knowledge_xlsx(book, target)
    return [str(p) for p in caught.value.problems]


# --- 3. a key is a file name: lower-case ascii, or refused at its cell -------------------------


def test_every_bundled_key_is_a_plain_file_name():
    kb = load_knowledge(BUNDLED)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", key) for key in kb.items)


def test_a_key_that_is_a_path_is_refused_at_its_cell_and_nothing_is_written(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    book = _export(BUNDLED, tmp_path / "kb.xlsx")
    outside = tmp_path / "outside"
    outside.mkdir()
    workbook = load_workbook(book)
    items = workbook["事项"]
    rows = {}
    for key, bad in (
        ("eia", str(outside / "departments")),
        ("tolerance", "../../escaped"),
        ("parallel", "eia/x"),
        ("filing", "Filing"),
    ):
        row = _row_of(items, key)
        items.cell(row, _column(items, "键")).value = bad
        rows[bad] = row
    workbook.save(book)
    target = tmp_path / "kb"
    lines = _problems(book, target)
    for bad, row in rows.items():
        wanted = f"工作表「事项」:{row}: 键: " + texts.KB_IMPORT_BAD_KEY.format(value=bad)
        assert any(line.endswith(wanted) for line in lines), (bad, lines)
    assert not target.exists()
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "escaped.yaml").exists() and not any(work.rglob("*.yaml"))


# --- 4. no 地区差异 sheet: the folder's regional overrides stay --------------------------------


def test_a_workbook_without_the_regional_sheet_keeps_the_folders_overrides(tmp_path, regional_kb, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    book = _export(regional_kb, tmp_path / "kb.xlsx")
    workbook = load_workbook(book)
    del workbook["地区差异"]
    workbook.save(book)
    before = load_knowledge(regional_kb).items["energy_review"].regional
    assert [o.region for o in before] == ["赛罕区", "武川县"]

    main(["kb", "import", "--xlsx", str(book), "--to", str(regional_kb)])
    out = capsys.readouterr().out
    assert says(texts.KB_IMPORTED, out) and says(texts.KB_IMPORT_REGIONAL_KEPT, out, sheet="地区差异")
    assert load_knowledge(regional_kb).items["energy_review"].regional == before

    # with the sheet, the sheet says: emptied, the overrides go
    book = _export(regional_kb, tmp_path / "kb2.xlsx")
    workbook = load_workbook(book)
    workbook["地区差异"].delete_rows(2, 10)
    workbook.save(book)
    import_knowledge_xlsx(book, regional_kb)
    assert load_knowledge(regional_kb).items["energy_review"].regional == ()


# --- 12. 「、」 separates names: one name holding it is refused ------------------------------


def test_an_alias_holding_the_list_separator_is_refused_by_import_and_validate(tmp_path, run_in, capsys):  # noqa: F811
    book = _export(BUNDLED, tmp_path / "kb.xlsx")
    workbook = load_workbook(book)
    items = workbook["事项"]
    row = _row_of(items, "eia")
    items.cell(row, _column(items, "别名")).value = "环评\n环评、环境评价"
    items.cell(row, _column(items, "提示词")).value = "排污\n排放、污染"
    workbook.save(book)
    lines = _problems(book, tmp_path / "kb")
    assert any(f"工作表「事项」:{row}: 别名: aliases[1]" in line and "环评、环境评价" in line for line in lines), lines
    assert any(f"工作表「事项」:{row}: 提示词: hints[1]" in line for line in lines), lines

    folder = tmp_path / "yaml"
    shutil.copytree(BUNDLED, folder)
    eia = folder / "items" / "eia.yaml"
    eia.write_text(eia.read_text(encoding="utf-8").replace("aliases: [", "aliases: [环评、环境评价, ", 1), "utf-8")
    assert "环评、环境评价" in eia.read_text(encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["kb", "validate", str(folder)])
    assert "环评、环境评价" in capsys.readouterr().out


# --- 14. a heading given twice is named -------------------------------------------------------


def test_a_heading_given_twice_is_named_once(tmp_path):
    book = _export(BUNDLED, tmp_path / "kb.xlsx")
    workbook = load_workbook(book)
    items = workbook["事项"]
    first = _column(items, "别名")
    second = items.max_column + 1
    items.cell(1, second).value = "别名"
    workbook.save(book)
    lines = _problems(book, tmp_path / "kb")
    wanted = "工作表「事项」:1: 别名: " + texts.KB_IMPORT_DUPLICATE_HEADER.format(first=first, second=second)
    assert [line for line in lines if "别名" in line] == [line for line in lines if line.endswith(wanted)]
    assert len(lines) == 1, lines


# --- 8. a formula without a calculated value is refused at its cell --------------------------


def test_a_formula_without_a_value_is_refused_at_its_cell(tmp_path):
    book = _export(BUNDLED, tmp_path / "kb.xlsx")
    workbook = load_workbook(book)
    items = workbook["事项"]
    row = _row_of(items, "eia")
    column = _column(items, "承诺时限(工作日)")
    items.cell(row, column).value = "=10+10"
    workbook.save(book)
    lines = _problems(book, tmp_path / "kb")
    ref = f"{items.cell(row, column).column_letter}{row}"
    wanted = f"工作表「事项」:{row}: 承诺时限(工作日): " + texts.KB_IMPORT_UNCALCULATED.format(cell=ref)
    assert any(line.endswith(wanted) for line in lines), lines


# --- 15. a range merged over rows gives every row its value ------------------------------------


def _merge_down(sheet, header: str, first: int, last: int) -> None:
    """Merge `header`'s cells of rows first..last as Excel saves it: the value in the top-left cell only."""
    column = _column(sheet, header)
    for row in range(first + 1, last + 1):
        sheet.cell(row, column).value = None
    sheet.merge_cells(start_row=first, start_column=column, end_row=last, end_column=column)


def test_cells_merged_over_rows_give_every_row_the_merged_value(tmp_path):
    """事项键 merged over an item's material rows and 责任部门键 over two items of one department read as that value on
    every row: the knowledge base comes back unchanged (without the fill, the materials after the first would be
    rows of no item, and the second item would lose its department)."""
    book = _export(BUNDLED, tmp_path / "kb.xlsx")
    workbook = load_workbook(book)
    materials = workbook["材料清单"]
    rows = [r for r in range(2, materials.max_row + 1) if materials.cell(r, 1).value == "civil_defense"]
    assert len(rows) >= 3 and rows == list(range(rows[0], rows[-1] + 1))
    _merge_down(materials, "事项键", rows[0], rows[-1])
    items = workbook["事项"]
    department = _column(items, "责任部门键")
    pairs = [
        r
        for r in range(2, items.max_row)
        if items.cell(r, department).value and items.cell(r, department).value == items.cell(r + 1, department).value
    ]
    assert pairs, "two items of one department next to each other"
    _merge_down(items, "责任部门键", pairs[0], pairs[0] + 1)
    workbook.save(book)
    assert load_workbook(book)["材料清单"].cell(rows[1], 1).value is None  # as saved: the top-left cell only
    import_knowledge_xlsx(book, tmp_path / "kb")
    bundled = load_knowledge(BUNDLED)
    imported = load_knowledge(tmp_path / "kb")
    assert imported.items["civil_defense"].materials == bundled.items["civil_defense"].materials
    assert [i.department for i in imported.items.values()] == [i.department for i in bundled.items.values()]


def test_a_heading_merged_over_two_columns_is_no_heading_given_twice(tmp_path):
    """A heading cell merged across its empty neighbour (a title widened) names one column, as before."""
    book = _export(BUNDLED, tmp_path / "kb.xlsx")
    workbook = load_workbook(book)
    faq = workbook["常见问题"]
    spare = faq.max_column + 1
    faq.merge_cells(start_row=1, start_column=spare - 1, end_row=1, end_column=spare)
    workbook.save(book)
    assert import_knowledge_xlsx(book, tmp_path / "kb").items > 0


# --- 13. the folder is replaced file by file, never left half-written ------------------------


def test_a_copy_stopped_half_way_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    import knowledge.xlsx_import as module

    folder = tmp_path / "kb"
    shutil.copytree(BUNDLED, folder)
    (folder / "items" / "zz_retired.yaml").write_text(
        (folder / "items" / "eia.yaml").read_text("utf-8").replace("key: eia", "key: zz_retired"), "utf-8"
    )
    before = _files(folder)
    book = tmp_path / "kb.xlsx"
    kb = load_knowledge(BUNDLED)
    kb.items["eia"] = dataclasses.replace(kb.items["eia"], summary="新的概述")
    export_knowledge_xlsx(kb, book)
    copies = []
    real_copy = shutil.copyfile

    def copy_then_fail(source, target, *args, **kwargs):
        copies.append(target)
        if len(copies) == 5:
            raise KeyboardInterrupt
        return real_copy(source, target, *args, **kwargs)

    monkeypatch.setattr(module.shutil, "copyfile", copy_then_fail)
    with pytest.raises(KeyboardInterrupt):
        import_knowledge_xlsx(book, folder)
    assert _files(folder) == before

    monkeypatch.setattr(module.shutil, "copyfile", real_copy)
    import_knowledge_xlsx(book, folder)
    assert not (folder / "items" / "zz_retired.yaml").exists()
    assert load_knowledge(folder).items["eia"].summary == "新的概述"
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")]

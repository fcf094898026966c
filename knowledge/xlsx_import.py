"""Read the workbook `kb export --xlsx` writes back into a knowledge folder of YAML files.

The workbook is turned into YAML in a scratch folder, one emitted block per cell, so every line
written is known to come from one sheet, row and column; the scratch folder is then checked
by the loader with the very rules of `kb validate`, and each problem the loader finds is
reported at the cell it came from. Only a workbook without problems replaces the YAML files of
the target folder (departments.yaml, items/*.yaml, and the phrase files when the workbook has
the 短语 sheet); comments of the old YAML files are not kept. A workbook without the 地区差异
sheet keeps each item's regional overrides of the target folder, as one without 短语 keeps the
phrase files: a sheet left out is not a sheet emptied. The new files are all in place (each by a
rename) before the stale item files go, so the folder never lacks a file it needs.

Item keys name the item files, so a key is lower-case ascii (`[a-z][a-z0-9_]*`, as every bundled
key); a formula cell without a calculated value (a workbook a program wrote) is refused at its
cell instead of being read as empty, and so is a column heading given twice. A range merged over
data rows (事项键 over an item's materials, 责任部门键 over items of one department) gives every
row of it its value, as the ledger's import reads one.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import texts
from knowledge.errors import KnowledgeError, Problem
from knowledge.export import (
    DEFERRABLE,
    DEPARTMENT_HEADERS,
    DEPARTMENTS_SHEET,
    FAQ_HEADERS,
    FAQ_SHEET,
    ITEM_HEADERS,
    ITEMS_SHEET,
    KIND_LABELS,
    LIST_SEPARATOR,
    MATERIAL_HEADERS,
    MATERIALS_SHEET,
    NO,
    PHRASE_HEADERS,
    PHRASE_KINDS,
    PHRASES_SHEET,
    REGIONAL_HEADERS,
    REGIONAL_SHEET,
    REQUIRED,
    YES,
)
from knowledge.loader import load_knowledge
from knowledge.sheet_xml import filled_merged, sheet_facts

_OPTIONAL_SHEETS = (REGIONAL_SHEET, PHRASES_SHEET)
_KINDS = {label: kind for kind, label in KIND_LABELS.items()}
_PHRASE_FIELDS = {label: kind for kind, label in PHRASE_KINDS.items()}
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]*")  # an item key names its file: items/<key>.yaml


@dataclass(frozen=True)
class Cell:
    sheet: str
    row: int
    column: str


@dataclass
class ImportedKnowledge:
    items: int
    departments: int
    folder: Path
    regional_kept: bool = False  # no 地区差异 sheet: the folder's overrides were kept


@dataclass
class _Rows:
    """One sheet: its rows as {header: value}, with their row numbers."""

    sheet: str
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


class _Workbook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, cell: Cell | None, message: str) -> None:
        if cell is None:
            self.problems.append(Problem(self.path.name, 0, "-", message))
        else:
            self.problems.append(Problem(f"{self.path.name} 工作表「{cell.sheet}」", cell.row, cell.column, message))

    def read(self) -> dict[str, _Rows]:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(self.path, read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - a renamed or broken file: one problem, not a trace
            self.problem(None, "不是有效的 Excel（.xlsx）文件")
            return {}
        sheets: dict[str, _Rows] = {}
        try:
            wanted = {
                ITEMS_SHEET: ITEM_HEADERS,
                MATERIALS_SHEET: MATERIAL_HEADERS,
                FAQ_SHEET: FAQ_HEADERS,
                DEPARTMENTS_SHEET: DEPARTMENT_HEADERS,
                REGIONAL_SHEET: REGIONAL_HEADERS,
                PHRASES_SHEET: PHRASE_HEADERS,
            }
            for name, headers in wanted.items():
                if name not in workbook.sheetnames:
                    if name not in _OPTIONAL_SHEETS:
                        self.problem(Cell(name, 0, "-"), "缺少这个工作表")
                    continue
                sheets[name] = self._sheet(name, workbook[name].iter_rows(values_only=True), headers)
        except Exception as exc:  # noqa: BLE001 - corrupt sheet XML
            self.problem(None, f"工作表内容已损坏，无法读取（{exc}）")
        finally:
            workbook.close()
        return sheets

    def _sheet(self, name: str, rows: Iterator[tuple[Any, ...]], headers: tuple[str, ...]) -> _Rows:
        result = _Rows(name)
        facts = sheet_facts(self.path, name)
        # a range merged over data rows (事项键 over an item's materials) gives each row its value; a heading is
        # no data (merged over two columns, it would read as given twice)
        numbered = filled_merged(enumerate(rows, start=1), [r for r in facts.merged if r[0] >= 2])
        header_row = next(numbered, (1, ()))[1]
        columns: dict[str, int] = {}  # heading -> its first column
        for i, h in enumerate(header_row):
            if h is not None and str(h).strip():
                columns.setdefault(str(h).strip(), i)
        for header in headers:
            if header not in columns and header not in ("事项", "责任部门"):  # display only
                self.problem(Cell(name, 1, header), "缺少这一列")
        for index, heading in enumerate(header_row):
            text = str(heading).strip() if heading is not None else ""
            if text and columns.get(text) != index:
                first = columns[text]
                columns[text] = first  # reported: the workbook is refused
                self.problem(
                    Cell(name, 1, text), texts.KB_IMPORT_DUPLICATE_HEADER.format(first=first + 1, second=index + 1)
                )
        headers_at = {i: h for h, i in columns.items()}
        for (row, column), ref in sorted(facts.uncalculated.items()):
            if column in headers_at and row > 1:
                self.problem(Cell(name, row, headers_at[column]), texts.KB_IMPORT_UNCALCULATED.format(cell=ref))
        for number, cells in numbered:
            values = {h: _value(cells[i]) for h, i in columns.items() if i < len(cells)}
            if any(v is not None for v in values.values()):
                result.rows.append((number, values))
        return result


def _value(cell: object) -> object:
    if isinstance(cell, str):
        return cell.strip() or None
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    return cell


def split_list(value: object) -> list[str]:
    if value is None:
        return []
    text = str(value)
    parts = text.split("\n") if "\n" in text else text.split(LIST_SEPARATOR)
    return [p.strip() for p in parts if p.strip()]


class _Emitter:
    """YAML text of one file, remembering which cell each line came from."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.origins: list[Cell | None] = []

    def emit(self, data: Any, origin: Cell | None, *, indent: str = "", flow: bool | None = False) -> None:
        text = yaml.safe_dump(data, allow_unicode=True, width=10**9, sort_keys=False, default_flow_style=flow)
        for line in text.rstrip("\n").split("\n"):
            self.lines.append(indent + line)
            self.origins.append(origin)

    def line(self, text: str, origin: Cell | None) -> None:
        self.lines.append(text)
        self.origins.append(origin)

    def write(self, path: Path) -> None:
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


class _Builder:
    def __init__(self, book: _Workbook, sheets: dict[str, _Rows], folder: Path, target: Path | None = None) -> None:
        self.book = book
        self.sheets = sheets
        self.folder = folder
        self.target = target  # the folder the import replaces: its regional overrides when the sheet is absent
        self.origins: dict[str, list[Cell | None]] = {}  # resolved file -> line origins
        self.first_cell: dict[str, Cell | None] = {}

    def _save(self, emitter: _Emitter, path: Path, first: Cell | None) -> None:
        if not path.resolve().is_relative_to(self.folder.resolve()):  # build() checks keys; never outside
            self.book.problem(first, texts.KB_IMPORT_BAD_KEY.format(value=path.stem))
            return
        emitter.write(path)
        self.origins[str(path.resolve())] = emitter.origins
        self.first_cell[str(path.resolve())] = first

    def _days(self, cell: Cell, value: object) -> object:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        self.book.problem(cell, f"「{value}」应为工作日天数（整数）")
        return None

    def _flag(self, cell: Cell, value: object, *, labels: tuple[str, str] = (YES, NO)) -> bool | None:
        if value is None:
            return None
        if value in labels:
            return value == labels[0]
        self.book.problem(cell, f"「{value}」应为「{labels[0]}」或「{labels[1]}」")
        return None

    def build(self) -> int:
        items = self.sheets.get(ITEMS_SHEET, _Rows(ITEMS_SHEET)).rows
        by_key: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
        keys: dict[str, int] = {}
        bad_keys: set[str] = set()
        for row, values in items:
            key = str(values.get("键") or "")
            if not key:
                self.book.problem(Cell(ITEMS_SHEET, row, "键"), "必填")
            elif not KEY_PATTERN.fullmatch(key):
                self.book.problem(Cell(ITEMS_SHEET, row, "键"), texts.KB_IMPORT_BAD_KEY.format(value=key))
                bad_keys.add(key)
            elif key in keys:
                self.book.problem(Cell(ITEMS_SHEET, row, "键"), f"与第 {keys[key]} 行重复")
            else:
                keys[key] = row
                by_key[key] = []
        for sheet in (MATERIALS_SHEET, FAQ_SHEET, REGIONAL_SHEET):
            for row, values in self.sheets.get(sheet, _Rows(sheet)).rows:
                key = str(values.get("事项键") or "")
                if key in bad_keys:
                    continue  # its item's key is reported
                if key not in by_key:
                    self.book.problem(Cell(sheet, row, "事项键"), f"「{key}」不是「{ITEMS_SHEET}」表中的事项键")
                else:
                    by_key[key].append((sheet, row, values))
        (self.folder / "items").mkdir(parents=True)
        for row, values in items:
            key = str(values.get("键") or "")
            if keys.get(key) == row:
                self._item(row, values, by_key[key])
        self._departments()
        self._phrases()
        return len(keys)

    def _item(self, row: int, values: dict[str, Any], children: list[tuple[str, int, dict[str, Any]]]) -> None:
        def at(column: str) -> Cell:
            return Cell(ITEMS_SHEET, row, column)

        out = _Emitter()
        kind_label = values.get("类型")
        kind = _KINDS.get(str(kind_label)) if kind_label is not None else "item"
        if kind is None:
            self.book.problem(at("类型"), f"「{kind_label}」应为「事项」或「主题」")
            kind = "item"
        fields: list[tuple[str, str, Any]] = [
            ("key", "键", _opt(values.get("键"))),
            ("kind", "类型", kind),
            ("name", "事项名称", _opt(values.get("事项名称"))),
            ("short", "简称", _opt(values.get("简称"))),
            ("aliases", "别名", split_list(values.get("别名"))),
            ("latin", "拼音或英文", split_list(values.get("拼音或英文"))),
            ("hints", "提示词", split_list(values.get("提示词"))),
            ("department", "责任部门键", _opt(values.get("责任部门键"))),
            ("level", "审批层级", split_list(values.get("审批层级"))),
            ("apply_at", "办理渠道", _opt(values.get("办理渠道"))),
            ("statutory_days", "法定时限(工作日)", self._days(at("法定时限(工作日)"), values.get("法定时限(工作日)"))),
            ("promised_days", "承诺时限(工作日)", self._days(at("承诺时限(工作日)"), values.get("承诺时限(工作日)"))),
            ("time_note", "时限说明", _opt(values.get("时限说明"))),
            ("fee", "收费", _opt(values.get("收费"))),
            ("parallel", "可并联", self._flag(at("可并联"), values.get("可并联"))),
            ("prerequisites", "前置事项", split_list(values.get("前置事项"))),
            ("prerequisites_note", "前置说明", _opt(values.get("前置说明"))),
            ("summary", "概述", _opt(values.get("概述"))),
            (
                "details",
                "详细说明",
                [line.strip() for line in str(values.get("详细说明") or "").split("\n") if line.strip()],
            ),
        ]
        for name, column, value in fields:
            if value is None or value == []:
                continue
            out.emit({name: value}, at(column))
        materials = sorted((r, v) for s, r, v in children if s == MATERIALS_SHEET)
        if materials:
            out.line("materials:", Cell(MATERIALS_SHEET, materials[0][0], "材料名称"))
            for mrow, m in materials:
                cell = Cell(MATERIALS_SHEET, mrow, "材料名称")
                required = self._flag(
                    Cell(MATERIALS_SHEET, mrow, "必交/可容缺"), m.get("必交/可容缺"), labels=(REQUIRED, DEFERRABLE)
                )
                entry: dict[str, Any] = {"name": _text(m.get("材料名称"))}
                entry["required"] = True if required is None else required
                if m.get("说明") is not None:
                    entry["note"] = _text(m.get("说明"))
                out.emit([entry], cell, indent="  ", flow=False)
        faqs = sorted((r, v) for s, r, v in children if s == FAQ_SHEET)
        if faqs:
            out.line("faq:", Cell(FAQ_SHEET, faqs[0][0], "问题"))
            for frow, f in faqs:
                out.emit(
                    [{"q": _text(f.get("问题")), "a": _text(f.get("答案"))}],
                    Cell(FAQ_SHEET, frow, "问题"),
                    indent="  ",
                    flow=False,
                )
        example = self._flag(at("示例数据"), values.get("示例数据"))
        out.emit({"example": True if example is None else example}, at("示例数据"))
        out.emit({"published": split_list(values.get("公开数据字段"))}, at("公开数据字段"))
        regional = sorted((r, v) for s, r, v in children if s == REGIONAL_SHEET)
        if REGIONAL_SHEET not in self.sheets:
            kept = self._kept_regional(str(values.get("键")))
            if kept:
                out.emit({"regional": kept}, at("键"))
        elif regional:
            out.line("regional:", Cell(REGIONAL_SHEET, regional[0][0], "旗县区"))
            for rrow, o in regional:
                entry = {"region": _text(o.get("旗县区"))}
                for name, column in (("department", "责任部门键"), ("window", "窗口"), ("phone", "电话")):
                    if o.get(column) is not None:
                        entry[name] = _text(o.get(column))
                if o.get("审批层级") is not None:
                    entry["level"] = split_list(o.get("审批层级"))
                out.emit([entry], Cell(REGIONAL_SHEET, rrow, "旗县区"), indent="  ", flow=False)
        key = str(values.get("键"))
        self._save(out, self.folder / "items" / f"{key}.yaml", at("键"))

    def _kept_regional(self, key: str) -> list[Any]:
        """The regional overrides of item `key` in the target folder (none when it has no such
        file, or one that does not read: the overrides are then checked by the loader)."""
        if self.target is None:
            return []
        try:
            data = yaml.safe_load((self.target / "items" / f"{key}.yaml").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return []
        regional = data.get("regional") if isinstance(data, dict) else None
        return regional if isinstance(regional, list) else []

    def _departments(self) -> None:
        out = _Emitter()
        rows = self.sheets.get(DEPARTMENTS_SHEET, _Rows(DEPARTMENTS_SHEET)).rows
        out.line("departments:", Cell(DEPARTMENTS_SHEET, rows[0][0] if rows else 1, "键"))
        for row, d in rows:
            entry: dict[str, Any] = {}
            for name, column in (("key", "键"), ("name", "部门")):
                if d.get(column) is not None:
                    entry[name] = _text(d.get(column))
            entry["aliases"] = split_list(d.get("别名"))
            for name, column in (("window", "窗口"), ("phone", "电话"), ("hours", "办公时间"), ("online", "网上办理")):
                if d.get(column) is not None:
                    entry[name] = _text(d.get(column))
            example = self._flag(Cell(DEPARTMENTS_SHEET, row, "示例数据"), d.get("示例数据"))
            entry["example"] = True if example is None else example
            out.emit([entry], Cell(DEPARTMENTS_SHEET, row, "键"), indent="  ", flow=False)
        if not rows:
            out.lines[-1] = "departments: []"
        self._save(out, self.folder / "departments.yaml", Cell(DEPARTMENTS_SHEET, 1, "键"))

    def _phrases(self) -> None:
        if PHRASES_SHEET not in self.sheets:
            return
        lists: dict[str, list[str]] = {kind: [] for kind in PHRASE_KINDS}
        first: dict[str, Cell] = {}
        for row, values in self.sheets[PHRASES_SHEET].rows:
            kind = _PHRASE_FIELDS.get(str(values.get("类别")))
            if kind is None:
                self.book.problem(
                    Cell(PHRASES_SHEET, row, "类别"),
                    f"「{values.get('类别')}」应为 " + "、".join(PHRASE_KINDS.values()),
                )
                continue
            if values.get("短语") is not None:
                lists[kind].append(_text(values.get("短语")))
                first.setdefault(kind, Cell(PHRASES_SHEET, row, "短语"))
        scope = _Emitter()
        scope.emit({"phrases": lists["out_of_scope"]}, first.get("out_of_scope"))
        scope.emit({"always": lists["always"]}, first.get("always"))
        self._save(scope, self.folder / "out_of_scope.yaml", first.get("out_of_scope"))
        talk = _Emitter()
        talk.emit({"phrases": lists["smalltalk"]}, first.get("smalltalk"))
        talk.emit({"alone": lists["alone"]}, first.get("alone"))
        self._save(talk, self.folder / "smalltalk.yaml", first.get("smalltalk") or first.get("alone"))

    def cell_of(self, problem: Problem) -> Cell | None:
        """The cell a loader problem (file, line) is about."""
        path = Path(problem.file)
        resolved = str((path if path.is_absolute() else Path.cwd() / path).resolve())
        origins = self.origins.get(resolved)
        if origins is None:
            return None
        if 1 <= problem.line <= len(origins) and origins[problem.line - 1] is not None:
            return origins[problem.line - 1]
        return self.first_cell.get(resolved)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def import_knowledge_xlsx(path: Path, folder: Path) -> ImportedKnowledge:
    """Check the workbook with the rules of `kb validate` and write it into `folder` as YAML;
    KnowledgeError (each problem at its sheet, row and column) and nothing written on error."""
    book = _Workbook(path)
    sheets = book.read()
    if book.problems:
        raise KnowledgeError(book.problems)
    with tempfile.TemporaryDirectory(prefix="kb_import_") as scratch:
        built = Path(scratch) / "kb"
        builder = _Builder(book, sheets, built, target=folder)
        builder.build()
        if book.problems:
            raise KnowledgeError(book.problems)
        try:
            kb = load_knowledge(built)
        except KnowledgeError as exc:
            for problem in exc.problems:
                cell = builder.cell_of(problem)
                message = f"{problem.field}: {problem.message}" if problem.field != "-" else problem.message
                book.problem(cell, message) if cell else book.problems.append(problem)
            raise KnowledgeError(book.problems) from None
        _replace(built, folder, phrases=PHRASES_SHEET in sheets)
    items = sum(1 for i in kb.items.values() if i.kind == "item")
    return ImportedKnowledge(
        items=items, departments=len(kb.departments), folder=folder, regional_kept=REGIONAL_SHEET not in sheets
    )


def _replace(built: Path, folder: Path, *, phrases: bool) -> None:
    """Put the new YAML files in `folder`, each copied beside its place and renamed over it; only
    then do the item files the workbook no longer has go. A stop half-way leaves every file
    whole, old or new."""
    (folder / "items").mkdir(parents=True, exist_ok=True)
    names = [Path("items") / p.name for p in sorted((built / "items").glob("*.yaml"))]
    names.append(Path("departments.yaml"))
    if phrases:
        names += [Path("out_of_scope.yaml"), Path("smalltalk.yaml")]
    staged: list[tuple[Path, Path]] = []
    try:
        for name in names:
            target = folder / name
            temporary = target.with_name(f".{target.name}.importing")
            shutil.copyfile(built / name, temporary)
            staged.append((temporary, target))
    except BaseException:
        for temporary, _target in staged:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, target in staged:
        os.replace(temporary, target)
    new_items = {name.name for name in names if name.parent == Path("items")}
    for old in (folder / "items").glob("*.yaml"):
        if old.name not in new_items:
            old.unlink()

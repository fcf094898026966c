"""What the cell readers do not say about an .xlsx sheet, read from its XML: the merged ranges
(openpyxl's read-only mode does not load them) and the formula cells without a calculated value
(a workbook written by a program and never opened in Excel or WPS; both readers read them as
empty cells). `filled_merged` gives every cell of a merged range its top-left value, as the
ledger's readers and the knowledge base's import both read a sheet.

The sheet's XML is scanned with regular expressions, chunk by chunk, not parsed: a 100,000-row
ledger is scanned in a fraction of a second, and a sheet with no formula is not searched for them.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CHUNK = 1 << 22

# A cell whose first child is a formula, with the value element after it if any. Child order is
# fixed by the schema (f, v, is); a prefix (x:c) is allowed.
_FORMULA_CELL = re.compile(
    rb"<((?:[A-Za-z_][\w.-]*:)?)c\s([^>]*?)>\s*<\1f\b[^>]*?(?:/>|>[^<]*</\1f>)\s*"
    rb"(<\1v\s*/>|<\1v(?:\s[^>]*)?>([^<]*)</\1v>)?"
)
_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
_TYPE = re.compile(rb'\bt="(\w+)"')
_MERGE = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?mergeCell\s[^>]*?ref="([A-Z]{1,3})([0-9]+)(?::([A-Z]{1,3})([0-9]+))?"')
_FORMULA_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")  # not <formula1>
_PREFIXED_F = re.compile(rb"<[A-Za-z_][\w.-]*:f\b")
_TEXT_TYPES = (b"str", b"s", b"inlineStr")  # an empty text result is a value: =IF(A1="","",…)


@dataclass
class SheetFacts:
    """Merged ranges as (first row, first column, last row, last column), rows 1-based, columns
    0-based; the formula cells without a value as {(row, column): "D4"}."""

    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    uncalculated: dict[tuple[int, int], str] = field(default_factory=dict)


def filled_merged(
    rows: Iterable[tuple[int, Sequence[object]]],
    merged: Iterable[tuple[int, int, int, int]],
    first_column: int = 0,
) -> Iterator[tuple[int, Sequence[object]]]:
    """`rows` ((1-based row number in the sheet, cells)) with every cell of a merged range given its top-left value:
    what an operator means by merging 受理日期 over a project's rows, or 事项键 over an item's materials (Excel
    saves the value in the top-left cell only). `merged` as `SheetFacts.merged`; `first_column` is the sheet column
    (0-based) of the rows' first cell."""
    # row -> [(first column, last column, first row of the range)], in the rows' own columns
    spans: dict[int, list[tuple[int, int, int]]] = {}
    for first_row, first_col, last_row, last_col in merged:
        c0, c1 = first_col - first_column, last_col - first_column
        if c1 < 0 or last_row < first_row:
            continue
        for row in range(first_row, last_row + 1):
            spans.setdefault(row, []).append((max(c0, 0), c1, first_row))
    if not spans:
        yield from rows
        return
    top_left: dict[tuple[int, int], object] = {}  # (first row, first column) -> its value
    for number, cells in rows:
        ranges = spans.get(number)
        if ranges:
            cells = list(cells)
            for c0, c1, first_row in ranges:
                cells.extend([None] * (c1 + 1 - len(cells)))
                if number == first_row:
                    value = top_left[(first_row, c0)] = cells[c0]
                else:
                    value = top_left.get((first_row, c0))
                for column in range(c0, c1 + 1):
                    if column != c0 or number != first_row:
                        cells[column] = value
        yield number, cells


def column_index(letters: bytes | str) -> int:
    """ "A" → 0, "AA" → 26."""
    number = 0
    for char in letters if isinstance(letters, str) else letters.decode():
        number = number * 26 + ord(char) - 64
    return number - 1


def sheet_facts(path: Path, sheet: str) -> SheetFacts:
    """The merged ranges and uncalculated formulas of the sheet named `sheet`; empty facts when
    the workbook's parts cannot be found (the cell reader reports a broken file)."""
    facts = SheetFacts()
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet)
            if part is None:
                return facts
            with archive.open(part) as stream:
                _scan(stream, facts)
    except (OSError, zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        return facts
    return facts


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rid = None
    for element in workbook.iter(f"{_MAIN}sheet"):
        if element.get("name") == sheet:
            rid = element.get(f"{_REL}id")
    if rid is None:
        return None
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter(f"{_PACKAGE_REL}Relationship"):
        if rel.get("Id") == rid:
            target = rel.get("Target") or ""
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
    return None


def _scan(stream: object, facts: SheetFacts) -> None:
    read = stream.read  # type: ignore[attr-defined]
    carry = b""
    formulas = False
    while True:
        chunk = read(_CHUNK)
        data = carry + chunk
        if not chunk:
            _scan_part(data, facts, formulas or _has_formula(data))
            return
        cut = data.rfind(b"</row>")  # a cell never spans two parts
        if cut < 0:
            carry = data
            continue
        cut += len(b"</row>")
        part, carry = data[:cut], data[cut:]
        formulas = formulas or _has_formula(part)
        if formulas:
            _scan_part(part, facts, True)


def _has_formula(data: bytes) -> bool:
    """Some <f> (or <formula1> of a validation: then the cells are searched for nothing)."""
    return b"<f" in data or _PREFIXED_F.search(data) is not None


def _scan_part(data: bytes, facts: SheetFacts, formulas: bool) -> None:
    if formulas:
        for start in _FORMULA_START.finditer(data):
            match = _FORMULA_CELL.match(data, data.rfind(b"<", 0, start.start()))  # the <c> it is in
            if match is None:
                continue
            attributes, value_element, value = match[2], match[3], match[4]
            if value_element is not None and value and value.strip():
                continue
            kind = _TYPE.search(attributes)
            if value_element is not None and kind is not None and kind[1] in _TEXT_TYPES:
                continue
            ref = _REF.search(attributes)
            if ref is not None:
                facts.uncalculated[(int(ref[2]), column_index(ref[1]))] = (ref[1] + ref[2]).decode()
    for match in _MERGE.finditer(data):
        first_row, first_col = int(match[2]), column_index(match[1])
        last_row, last_col = (int(match[4]), column_index(match[3])) if match[3] else (first_row, first_col)
        facts.merged.append((first_row, first_col, last_row, last_col))

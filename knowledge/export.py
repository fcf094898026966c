"""Export the knowledge base to .xlsx, for department staff to review and edit in Excel.

`steward kb import --xlsx` (knowledge/xlsx_import.py) reads the same workbook back, so every
field of every item, department, regional override and phrase list has a column here, and
the export → import round trip is lossless. Lists are joined with 「、」 (or with line breaks
when an element itself holds a 「、」).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from knowledge.atomic_file import replaced
from knowledge.model import KnowledgeBase

LIST_SEPARATOR = "、"
YES, NO = "是", "否"
REQUIRED, DEFERRABLE = "必交", "可容缺"
KIND_LABELS = {"item": "事项", "topic": "主题"}
PHRASE_KINDS = {"out_of_scope": "范围外", "always": "一律范围外", "smalltalk": "寒暄", "alone": "整句寒暄"}

# Sheet → headers. The headers are the file format both ways (export and import).
ITEMS_SHEET = "事项"
ITEM_HEADERS = (
    "键",
    "类型",
    "事项名称",
    "简称",
    "别名",
    "拼音或英文",
    "提示词",
    "责任部门键",
    "责任部门",
    "审批层级",
    "办理渠道",
    "法定时限(工作日)",
    "承诺时限(工作日)",
    "时限说明",
    "收费",
    "可并联",
    "前置事项",
    "前置说明",
    "概述",
    "详细说明",
    "示例数据",
    "公开数据字段",
)
MATERIALS_SHEET = "材料清单"
MATERIAL_HEADERS = ("事项键", "事项", "序号", "材料名称", "必交/可容缺", "说明")
FAQ_SHEET = "常见问题"
FAQ_HEADERS = ("事项键", "问题", "答案")
DEPARTMENTS_SHEET = "部门"
DEPARTMENT_HEADERS = ("键", "部门", "别名", "窗口", "电话", "办公时间", "网上办理", "示例数据")
REGIONAL_SHEET = "地区差异"
REGIONAL_HEADERS = ("事项键", "事项", "旗县区", "责任部门键", "窗口", "电话", "审批层级")
PHRASES_SHEET = "短语"
PHRASE_HEADERS = ("类别", "短语")


def join_list(values: tuple[str, ...]) -> str:
    separator = "\n" if any(LIST_SEPARATOR in v for v in values) else LIST_SEPARATOR
    return separator.join(values)


def _flag(value: bool | None) -> str:
    return "" if value is None else (YES if value else NO)


def _sheet(
    wb: Workbook, title: str, headers: tuple[str, ...], rows: list[list[object]], *, first: bool = False
) -> None:
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text that looks like a formula stays text
    ws.freeze_panes = "A2"
    for column in ws.columns:
        width = max(len(str(c.value or "")) for c in column)
        ws.column_dimensions[column[0].column_letter].width = min(60, max(8, width * 1.6))
        for cell in column:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def export_knowledge_xlsx(kb: KnowledgeBase, path: Path) -> None:
    """Write items, materials, FAQ, departments, regional overrides and phrases as sheets.
    The folder must exist (the command line refuses a missing one before calling this)."""
    wb = Workbook()
    items = sorted(kb.items.values(), key=lambda i: (i.kind, i.key))
    _sheet(
        wb,
        ITEMS_SHEET,
        ITEM_HEADERS,
        [
            [
                i.key,
                KIND_LABELS[i.kind],
                i.name,
                i.short,
                join_list(i.aliases),
                join_list(i.latin),
                join_list(i.hints),
                i.department or "",
                kb.departments[i.department].name if i.department in kb.departments else "",
                join_list(i.level),
                i.apply_at,
                i.statutory_days,
                i.promised_days,
                i.time_note,
                i.fee,
                _flag(i.parallel),
                join_list(i.prerequisites),
                i.prerequisites_note,
                i.summary,
                "\n".join(i.details),
                _flag(i.example),
                join_list(i.published),
            ]
            for i in items
        ],
        first=True,
    )
    _sheet(
        wb,
        MATERIALS_SHEET,
        MATERIAL_HEADERS,
        [
            [i.key, i.name, n, m.name, REQUIRED if m.required else DEFERRABLE, m.note]
            for i in items
            for n, m in enumerate(i.materials, start=1)
        ],
    )
    _sheet(wb, FAQ_SHEET, FAQ_HEADERS, [[i.key, f.q, f.a] for i in items for f in i.faq])
    _sheet(
        wb,
        DEPARTMENTS_SHEET,
        DEPARTMENT_HEADERS,
        [
            [d.key, d.name, join_list(d.aliases), d.window, d.phone, d.hours, d.online, _flag(d.example)]
            for d in kb.departments.values()
        ],
    )
    _sheet(
        wb,
        REGIONAL_SHEET,
        REGIONAL_HEADERS,
        [
            [i.key, i.name, o.region, o.department or "", o.window, o.phone, join_list(o.level)]
            for i in items
            for o in i.regional
        ],
    )
    phrases: list[list[object]] = [
        [PHRASE_KINDS[kind], p]
        for kind, group in (
            ("out_of_scope", kb.out_of_scope),
            ("always", kb.always_out_of_scope),
            ("smalltalk", kb.smalltalk),
            ("alone", kb.smalltalk_alone),
        )
        for p in group
    ]
    _sheet(wb, PHRASES_SHEET, PHRASE_HEADERS, phrases)
    with replaced(path, binary=True) as handle:
        wb.save(handle)

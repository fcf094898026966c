"""Export the knowledge base to .xlsx for operators to review in Excel."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from knowledge.model import KnowledgeBase

_ITEM_HEADERS = ["键", "类型", "事项名称", "简称", "别名", "责任部门", "审批层级", "办理渠道", "法定时限(工作日)",
                 "承诺时限(工作日)", "时限说明", "收费", "可并联", "前置事项", "前置说明", "示例数据", "公开数据字段", "文件"]
_MATERIAL_HEADERS = ["事项键", "事项", "序号", "材料名称", "必交/可容缺", "说明"]
_FAQ_HEADERS = ["事项键", "问题", "答案"]
_DEPT_HEADERS = ["键", "部门", "别名", "窗口", "电话", "办公时间", "网上办理", "示例数据"]


def _sheet(wb: Workbook, title: str, headers: list[str], rows: list[list[object]], *, first: bool = False) -> None:
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"
    for column in ws.columns:
        width = max(len(str(c.value or "")) for c in column)
        ws.column_dimensions[column[0].column_letter].width = min(60, max(8, width * 1.6))
        for cell in column:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def export_knowledge_xlsx(kb: KnowledgeBase, path: Path) -> None:
    """Write items, materials, FAQ and departments as four sheets."""
    wb = Workbook()
    items = sorted(kb.items.values(), key=lambda i: (i.kind, i.key))
    _sheet(wb, "事项", _ITEM_HEADERS, [
        [i.key, "事项" if i.kind == "item" else "主题", i.name, i.short, "、".join(i.aliases),
         kb.departments[i.department].name if i.department in kb.departments else "", "、".join(i.level), i.apply_at,
         i.statutory_days, i.promised_days, i.time_note, i.fee,
         "" if i.parallel is None else ("是" if i.parallel else "否"), "、".join(i.prerequisites), i.prerequisites_note,
         "是" if i.example else "否", "、".join(i.published), i.source_file]
        for i in items
    ], first=True)
    _sheet(wb, "材料清单", _MATERIAL_HEADERS, [
        [i.key, i.name, n, m.name, "必交" if m.required else "可容缺", m.note]
        for i in items for n, m in enumerate(i.materials, start=1)
    ])
    _sheet(wb, "常见问题", _FAQ_HEADERS, [[i.key, f.q, f.a] for i in items for f in i.faq])
    _sheet(wb, "部门", _DEPT_HEADERS, [
        [d.key, d.name, "、".join(d.aliases), d.window, d.phone, d.hours, d.online, "是" if d.example else "否"]
        for d in kb.departments.values()
    ])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)

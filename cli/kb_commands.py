"""`steward kb validate|list|export|import`: the knowledge base as YAML files and as Excel."""

from __future__ import annotations

import argparse
from pathlib import Path

import texts
from cli.common import fail, failing, knowledge_or_exit, settings_or_exit, writable_or_exit
from cli.knowledge_commands import register_train
from cli.question_commands import register_questions
from knowledge.errors import KnowledgeError
from knowledge.export import REGIONAL_SHEET, export_knowledge_xlsx
from knowledge.loader import load_knowledge
from knowledge.xlsx_import import import_knowledge_xlsx


def _problems_or_exit(exc: KnowledgeError, where: object) -> None:
    failing(1)
    for problem in exc.problems:
        print(problem)
    fail(texts.KB_PROBLEMS.format(count=len(exc.problems), path=where))


def cmd_kb_validate(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    path = Path(args.path) if args.path else settings.knowledge_path
    try:
        kb = load_knowledge(path)
    except KnowledgeError as exc:
        _problems_or_exit(exc, path)
        return
    items = sum(1 for i in kb.items.values() if i.kind == "item")
    overrides = sum(len(i.regional) for i in kb.items.values())
    print(texts.KB_VALID.format(items=items, topics=len(kb.items) - items, departments=len(kb.departments)))
    if overrides:
        print(texts.KB_VALID_REGIONAL.format(count=overrides))


def cmd_kb_list(args: argparse.Namespace) -> None:
    kb = knowledge_or_exit(settings_or_exit())
    for item in sorted(kb.items.values(), key=lambda i: (i.kind, i.key)):
        dept = kb.department_of(item)
        print(f"{item.key}\t{item.kind}\t{item.short}\t{item.name}\t{dept.name if dept else '-'}")


def cmd_kb_export(args: argparse.Namespace) -> None:
    path = Path(args.xlsx)
    writable_or_exit(path)
    kb = knowledge_or_exit(settings_or_exit())
    export_knowledge_xlsx(kb, path)
    print(texts.KB_EXPORTED.format(path=path))


def cmd_kb_import(args: argparse.Namespace) -> None:
    source = Path(args.xlsx)
    if not source.is_file():
        fail(texts.CLI_FILE_ERROR.format(path=source, reason=texts.CLI_OS_NOT_FOUND))
    folder = Path(args.to) if args.to else settings_or_exit().knowledge_path
    if not folder.parent.is_dir() or (folder.exists() and not folder.is_dir()):
        fail(texts.CLI_FOLDER_MISSING.format(path=folder, folder=folder.parent))
    try:
        result = import_knowledge_xlsx(source, folder)
    except KnowledgeError as exc:
        _problems_or_exit(exc, source)
        return
    print(texts.KB_IMPORTED.format(items=result.items, departments=result.departments, folder=result.folder))
    if result.regional_kept:
        print(texts.KB_IMPORT_REGIONAL_KEPT.format(sheet=REGIONAL_SHEET))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    kb = sub.add_parser(
        "kb",
        help="知识库：检查、列出、导出和导入（Excel）",
        description="知识库是 YAML 文件（部门、事项、地区差异、短语），也可以导出成 Excel 修改后再导入。",
    )
    kb_sub = kb.add_subparsers(dest="kb_command", required=True, metavar="命令")
    register_train(kb_sub)
    register_questions(kb_sub)
    validate = kb_sub.add_parser("validate", help="检查知识库，列出每个问题的文件、行号和字段")
    validate.add_argument(
        "path", nargs="?", metavar="文件夹", help="知识库文件夹（默认 KNOWLEDGE_PATH 或自带的知识库）"
    )
    validate.set_defaults(func=cmd_kb_validate)
    listing = kb_sub.add_parser("list", help="列出事项和通用主题")
    listing.set_defaults(func=cmd_kb_list)
    export = kb_sub.add_parser("export", help="把知识库导出为 Excel（各工作表可直接修改后导入）")
    export.add_argument("--xlsx", required=True, metavar="文件.xlsx", help="要写入的 .xlsx 文件")
    export.set_defaults(func=cmd_kb_export)
    imp = kb_sub.add_parser(
        "import",
        help="读取 kb export 导出（并修改过）的 Excel，检查后写成 YAML 文件",
        description="按 kb validate 的同样规则检查工作簿，每个问题注明工作表、行和列；有问题时一个文件也不写。",
    )
    imp.add_argument("--xlsx", required=True, metavar="文件.xlsx", help="kb export 格式的工作簿")
    imp.add_argument("--to", metavar="文件夹", help="写入的知识库文件夹（默认 KNOWLEDGE_PATH 或自带的知识库）")
    imp.set_defaults(func=cmd_kb_import)

"""`steward ask` and `steward eval` (`steward kb ...` is in cli/kb_commands.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import texts
from cli.common import fail, knowledge_or_exit, settings_or_exit
from knowledge.answers import compose_answer
from knowledge.evaluation import evaluate, load_labelled
from knowledge.matcher import Matcher, MatchResult, Thresholds
from knowledge.plain import html_to_plain


def _matcher(settings) -> Matcher:  # type: ignore[no-untyped-def]
    kb = knowledge_or_exit(settings)
    return Matcher(
        kb,
        Thresholds(
            answer=settings.match_answer_threshold,
            clarify=settings.match_clarify_threshold,
            min_gap=settings.match_min_gap,
        ),
    )


def _as_json(matcher: Matcher, result: MatchResult) -> str:
    data = result.to_dict()
    data["answer"] = compose_answer(matcher.kb, result)
    return json.dumps(data, ensure_ascii=False)


def _as_text(matcher: Matcher, result: MatchResult) -> str:
    answer = compose_answer(matcher.kb, result)
    if answer is not None:
        return html_to_plain(answer)
    if result.action == "clarify":
        options = "\n".join(f"- {matcher.kb.label(c.item)}（{matcher.kb.items[c.item].name}）" for c in result.candidates)
        return f"{texts.CLARIFY_PROMPT}\n{options}"
    if result.action == "smalltalk":
        return texts.SMALLTALK_REPLY
    return texts.HANDOFF_CLI.format(reason=texts.HANDOFF_REASON.get(result.reason, result.reason))


def cmd_ask(args: argparse.Namespace) -> None:
    matcher = _matcher(settings_or_exit())
    if args.batch:
        path = Path(args.batch)
        source = sys.stdin if args.batch == "-" else path.open(encoding="utf-8")
        with source:
            for line in source:
                question = line.rstrip("\n")
                result = matcher.match(question)
                print(_as_json(matcher, result) if args.json else _as_text(matcher, result), flush=False)
        return
    question = " ".join(args.question).strip()
    if not question:  # `ask ""` is no question (it used to get the greeting)
        fail("请给出问题，例如：steward ask \"环评要什么材料\"", 2)
    result = matcher.match(question)
    print(_as_json(matcher, result) if args.json else _as_text(matcher, result))


def cmd_eval(args: argparse.Namespace) -> None:
    matcher = _matcher(settings_or_exit())
    try:
        cases = load_labelled(Path(args.file))
    except ValueError as exc:
        fail(str(exc))
    started = time.perf_counter()
    report = evaluate(matcher, cases)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.render())
        if args.errors:
            for line in report.error_lines():
                print(line)
    print(f"({len(cases)} questions in {time.perf_counter() - started:.2f} s)", file=sys.stderr)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ask = sub.add_parser("ask", help="用知识库回答一个问题（或一个文件里的每个问题）")
    ask.add_argument("question", nargs="*", metavar="问题", help="要问的问题，如 环评要什么材料")
    ask.add_argument("--json", action="store_true", help="每个问题输出一个 JSON 对象")
    ask.add_argument("--batch", metavar="文件", help="从文件逐行读取问题（- 表示标准输入）")
    ask.set_defaults(func=cmd_ask)

    ev = sub.add_parser("eval", help="用标注好的问题文件给匹配器打分（JSON 行：q、item、intent）")
    ev.add_argument("file", metavar="文件", help="标注文件，如 tests/data/devset.jsonl")
    ev.add_argument("--json", action="store_true", help="以 JSON 输出各项指标")
    ev.add_argument("--errors", action="store_true", help="同时列出每个答错的问题")
    ev.set_defaults(func=cmd_eval)

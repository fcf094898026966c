"""Tests assert against texts.py, never against copies of its sentences (a rewording in texts.py
then changes no test): no string literal in tests/*.py repeats four or more Chinese characters
of a texts.py sentence, unless the words are the domain's own (the knowledge base, the ledger's
columns and labels, the knowledge workbook's sheets) or a question people type."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from string import Formatter

import texts
from tests.texts_match import fragment

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
# Where the domain's words live: a test may name an item, a department, a column or a status.
DOMAIN = [
    *sorted((ROOT / "knowledge" / "data").rglob("*.yaml")),
    ROOT / "knowledge" / "export.py",
    ROOT / "ledger" / "columns.py",
    ROOT / "ledger" / "models.py",
]
# Questions people type, which texts.py also gives as examples (/start, /help).
TYPED = ("能评要多久", "环评要什么材料", "要什么材料")
# Being converted to the constants on other branches: drop a file from here once it is.
PENDING: set[str] = set()
SHORTEST = 4  # Chinese characters: shorter runs are words (环评, 工单), not sentences
_HAN = re.compile(r"[\u4e00-\u9fff]")
_RUN = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]+")
_PUNCTUATION = "".join(chr(c) for c in (*range(0x3000, 0x3040), *range(0xFF00, 0xFFF0)))


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for one in value.values():
            yield from _strings(one)
    elif isinstance(value, list | tuple):
        for one in value:
            yield from _strings(one)


def _sentence_parts() -> list[str]:
    """The fixed parts of every texts.py sentence (around its placeholders)."""
    parts: list[str] = []
    for name, value in vars(texts).items():
        if name.isupper():
            for sentence in _strings(value):
                parts.extend(literal for literal, *_ in Formatter().parse(sentence) if literal)
    return parts


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def copied(source: str, parts: list[str], domain: str) -> list[tuple[int, str]]:
    """(line, words) of each string literal in `source` that repeats a texts.py sentence."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
            continue
        for run in _RUN.findall(node.value):
            words = run.strip(_PUNCTUATION)
            if len(_HAN.findall(words)) < SHORTEST or words in domain or any(q in words for q in TYPED):
                continue
            if any(words in part for part in parts):
                found.append((node.lineno, words))
    return found


def test_the_guard_finds_a_copied_sentence_and_lets_domain_words_and_questions_pass() -> None:
    parts, domain = _sentence_parts(), "环境影响评价"
    copy = fragment(texts.HANDOFF_ACK)  # a fixed part of a sentence
    assert copied(f"assert {copy!r} in text\n", parts, domain) == [(1, copy)]
    assert copied(f"assert {texts.ASPECT['materials']!r} in text\n", parts, domain)
    assert copied("ask('环评要什么材料？')\n", parts, domain) == []  # a typed question
    assert copied("assert '环境影响评价' in text\n", parts, domain) == []  # the domain's words
    assert copied("assert texts.HANDOFF_ACK in text\n", parts, domain) == []  # the constant itself


def test_no_test_copies_a_texts_sentence() -> None:
    parts = _sentence_parts()
    domain = "\n".join(path.read_text(encoding="utf-8") for path in DOMAIN)
    found = [
        f"{path.name}:{line}: 「{words}」"
        for path in sorted(TESTS.glob("*.py"))
        if path.name not in PENDING and path.name != Path(__file__).name
        for line, words in copied(path.read_text(encoding="utf-8"), parts, domain)
    ]
    assert not found, "assert against the texts.py constant (tests/texts_match.py), not a copy:\n" + "\n".join(found)

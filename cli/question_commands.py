"""`steward kb questions`: the learned reader of whether a group message asks (knowledge/question_cue.py)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import texts
from cli.common import fail, split_for_training, undecodable_line, write_or_check
from knowledge.evaluation import load_labelled
from knowledge.guard import DEFAULT_GUARDED
from knowledge.question_cue import (
    CHATTER_BANKS,
    QUESTION_P,
    QUESTION_TURNS_PATH,
    QuestionTurn,
    asks_of,
    cross_validated,
    has_question_mark,
    load_chatter,
    read_question_turns,
    reads_as_question,
    train_reader,
    unmarked_turns,
    write_question_turns,
)

ROOT = Path(__file__).resolve().parent.parent  # the sets of tests/data, from wherever it is run


def register_questions(kb_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    questions = kb_sub.add_parser(
        "questions",
        help="报告“这条群消息是不是在提问”模型的指标，检查（--write 重写）它的训练文件，或给标注文件评分",
        description="群里没有问句标记（？、吗、多久、哪……）的消息由这个模型判断是不是在提问：是就答复或转人工，不是就不打扰。",
    )
    questions.add_argument("--write", action="store_true", help="把读过的数据写入训练文件")
    questions.add_argument("--file", default=str(QUESTION_TURNS_PATH), metavar="文件", help="训练文件（默认自带的）")
    questions.add_argument(
        "--score",
        nargs="+",
        metavar="标注文件.jsonl",
        help="给标注文件评分：闲聊集（text、question）或问题/对话集（steward eval 的格式）",
    )
    questions.set_defaults(func=cmd_kb_questions)


def read_turns() -> list[QuestionTurn]:
    """The labelled messages with no question mark of the read sets and the chatter banks, the `train` split's."""
    sets = [(p.stem, load_labelled(ROOT / p)) for p in DEFAULT_GUARDED]
    banks = [(p.stem, load_chatter(ROOT / p)) for p in CHATTER_BANKS]
    return unmarked_turns([*sets, *banks])


def cmd_kb_questions(args: argparse.Namespace) -> None:
    """Report the reader's figures, check or write its turns file, and score labelled files."""
    turns, test = split_for_training(read_turns())
    print(texts.QUESTIONS_READ.format(turns=len(turns), asks=sum(t.question for t in turns)))
    folded = cross_validated(turns)
    for threshold in (0.9, QUESTION_P, 0.5):
        _print_line(texts.QUESTIONS_FOLDS_LABEL, threshold, folded, turns)
    reader = train_reader(turns)
    if reader is not None and test:
        label = texts.QUESTIONS_TEST_LABEL.format(turns=len(test))
        _print_line(label, QUESTION_P, reader.probabilities([t.q for t in test]), test)
    for name in args.score or ():
        _score(Path(name), reader)
    write_or_check(
        Path(args.file),
        turns,
        write=args.write,
        save=write_question_turns,
        load=read_question_turns,
        stale=texts.QUESTIONS_FILE_STALE,
        current=texts.QUESTIONS_FILE_CURRENT,
    )


def _print_line(label: str, threshold: float, probabilities: np.ndarray, turns: Sequence[QuestionTurn]) -> None:
    asked = [p >= threshold for p in probabilities]
    asks = sum(t.question for t in turns)
    caught = sum(a and t.question for a, t in zip(asked, turns, strict=True))
    taken = sum(a and not t.question for a, t in zip(asked, turns, strict=True))
    chatter = len(turns) - asks
    print(
        texts.QUESTIONS_LINE.format(
            label=label,
            threshold=threshold,
            caught=caught,
            asks=asks,
            caught_rate=_rate(caught, asks),
            taken=taken,
            chatter=chatter,
            taken_rate=_rate(taken, chatter),
        )
    )


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "0.0"


def _score(path: Path, reader) -> None:  # type: ignore[no-untyped-def]
    """How many messages of a labelled file read as asking: by the question marks alone, and with the reader."""
    first: object = {}
    number = 0
    try:
        with path.open(encoding="utf-8") as file:
            for text in file:
                number += 1
                if text.strip():
                    first = json.loads(text)
                    break
        lines: list[tuple[str, bool]]
        if isinstance(first, dict) and "question" in first and "text" in first:
            lines = [(line.q, line.question) for line in load_chatter(path)]
        else:
            lines = [(case.q, said) for case in load_labelled(path) if (said := asks_of(case)) is not None]
    except UnicodeDecodeError:
        fail(texts.CLI_NOT_TEXT_FILE.format(path=path, line=undecodable_line(path)))
    except json.JSONDecodeError as exc:
        fail(texts.CLI_BAD_JSONL.format(path=path, line=number, reason=exc.msg))
    except ValueError as exc:  # load_labelled / load_chatter name the file and line
        fail(texts.CLI_BAD_LABELLED_FILE.format(detail=exc))
    asks = [q for q, a in lines if a]
    chatter = [q for q, a in lines if not a]
    marked = sum(has_question_mark(q) for q in asks)
    read = sum(reads_as_question(q, reader) for q in asks)
    marked_chatter = sum(has_question_mark(q) for q in chatter)
    read_chatter = sum(reads_as_question(q, reader) for q in chatter)
    print(
        texts.QUESTIONS_SCORE.format(
            path=path,
            asks=len(asks),
            marked=marked,
            marked_rate=_rate(marked, len(asks)),
            read=read,
            read_rate=_rate(read, len(asks)),
            chatter=len(chatter),
            marked_chatter=marked_chatter,
            marked_chatter_rate=_rate(marked_chatter, len(chatter)),
            read_chatter=read_chatter,
            read_chatter_rate=_rate(read_chatter, len(chatter)),
        )
    )

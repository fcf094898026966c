"""`steward ask` and `steward eval` (`steward kb ...` is in cli/kb_commands.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import texts
from cli.common import fail, knowledge_or_exit, settings_or_exit, split_for_training, write_or_check
from knowledge.answer_doubt import (
    DOUBT_HANDOFF,
    DOUBT_OFFER,
    KEPT_ANSWERS_PATH,
    SWITCH_DOUBT_OFFER,
    read_kept_answers,
    replayed_kept_answers,
    train_doubt,
    write_kept_answers,
)
from knowledge.answer_doubt import cross_validated as doubts_cross_validated
from knowledge.answers import compose_answer
from knowledge.context import MemoryContexts
from knowledge.evaluation import (
    EvalReport,
    LabelledQuestion,
    Prediction,
    cross_validate,
    evaluate,
    leave_one_set_out,
    load_labelled,
    score,
)
from knowledge.follow_up_gate import (
    FOLDS,
    FOLLOW_UPS_PATH,
    GATE_ANSWER,
    GATE_OFFER,
    cross_validated,
    read_follow_ups,
    replayed_follow_ups,
    train_gate,
    write_follow_ups,
)
from knowledge.guard import DEFAULT_GUARDED, GUARD_PATH, diff_guard, guard_entries, read_guard, write_guard
from knowledge.matcher import Matcher, MatchResult, Thresholds
from knowledge.model import KnowledgeBase
from knowledge.model_file import write_model
from knowledge.model_text import LABELLED_PATH, load_training, train_model
from knowledge.plain import html_to_plain
from knowledge.training_file import AlreadyJoined, join_sets


def _matcher(settings, follow_ups: Path | None = FOLLOW_UPS_PATH) -> Matcher:  # type: ignore[no-untyped-def]
    kb = knowledge_or_exit(settings)
    return Matcher.trained(
        kb,
        Thresholds(
            answer=settings.match_answer_threshold,
            clarify=settings.match_clarify_threshold,
            min_gap=settings.match_min_gap,
            guess=settings.match_guess_threshold,
        ),
        model_path=settings.model_file,
        follow_ups=follow_ups,
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
        options = "\n".join(
            f"- {matcher.kb.label(c.item)}（{matcher.kb.items[c.item].name}）" for c in result.candidates
        )
        return f"{texts.CLARIFY_PROMPT}\n{options}"
    if result.action == "smalltalk":
        return texts.SMALLTALK_REPLY
    return texts.HANDOFF_CLI.format(reason=texts.HANDOFF_REASON.get(result.reason, result.reason))


def _batch_turn(line: str) -> tuple[str, tuple[int, int] | None]:
    """A batch line: a JSON dialogue turn {"chat", "user", "text"} or a plain question."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
            return str(data["text"]), (int(data["chat"]), int(data["user"]))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            pass
    return line.rstrip("\n"), None


def cmd_ask(args: argparse.Namespace) -> None:
    matcher = _matcher(settings_or_exit())
    if args.batch:
        path = Path(args.batch)
        # bytes, decoded line by line: a line that is not UTF-8 is named exactly
        stdin = getattr(sys.stdin, "buffer", sys.stdin)
        source = stdin if args.batch == "-" else path.open("rb")  # OSError: one line (cli.main)
        contexts = MemoryContexts()  # per (chat, user), in file order, as the bot keeps them
        number = 0
        with source:
            try:
                for raw in source:
                    number += 1
                    question, asker = _batch_turn(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
                    result = matcher.match(question, contexts.recall(*asker) if asker else None)
                    if asker:
                        contexts.follow(*asker, result)
                    print(_as_json(matcher, result) if args.json else _as_text(matcher, result), flush=False)
            except UnicodeDecodeError:
                sys.stdout.flush()
                fail(texts.CLI_NOT_TEXT_FILE.format(path=args.batch, line=number))
        return
    question = " ".join(args.question).strip()
    if not question:  # `ask ""` is no question (it used to get the greeting)
        fail(texts.CLI_ASK_EMPTY, 2)
    result = matcher.match(question)
    print(_as_json(matcher, result) if args.json else _as_text(matcher, result))


def cmd_kb_train(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    kb = knowledge_or_exit(settings)
    rows = load_training()
    model, seconds = write_model(kb, settings.model_file)  # OSError: one line naming the file (cli.main)
    again = train_model(kb, reuse=False)
    same = again.fingerprint == model.fingerprint and all(
        np.array_equal(a, b)
        for a, b in (
            (model.intent_classifier.coef_, again.intent_classifier.coef_),
            (model.item_classifier.coef_, again.item_classifier.coef_),
        )
    )
    print(
        texts.TRAIN_DONE.format(
            examples=model.examples,
            seconds=f"{seconds:.2f}",
            fingerprint=model.fingerprint,
            repeatable=texts.TRAIN_REPEATABLE_YES if same else texts.TRAIN_REPEATABLE_NO,
        )
    )
    print(texts.TRAIN_WRITTEN.format(path=settings.model_file, fingerprint=model.fingerprint))
    test = [r for r in rows if r.split == "test" and r.dialogue is None]
    cases = [LabelledQuestion(r.q, r.item, r.intent, r.style) for r in test]
    print(texts.TRAIN_TEST_SPLIT_HEADING.format(count=len(test)))
    matcher = Matcher(kb, model=model)
    print(evaluate(matcher, cases).render())
    for source in sorted({r.source for r in test}):
        _print_set(source, evaluate(matcher, [c for r, c in zip(test, cases, strict=True) if r.source == source]))
    if args.folds > 1:
        predictions = cross_validate(kb, rows, folds=args.folds)
        questions = [r for r in rows if r.dialogue is None]
        every = [LabelledQuestion(r.q, r.item, r.intent, r.style, r.asks) for r in questions]
        print(texts.TRAIN_FOLDS_HEADING.format(count=len(every), folds=args.folds))
        print(score("k-fold", predictions.__getitem__, every).render())
        for source in sorted({r.source for r in questions}):
            part = [c for r, c in zip(questions, every, strict=True) if r.source == source]
            _print_set(source, score(source, predictions.__getitem__, part))
    if args.by_set:
        _print_by_set(kb, rows)
    if not same:
        sys.exit(1)


def _print_by_set(kb: KnowledgeBase, rows: list) -> None:  # type: ignore[type-arg]
    """Each blind set scored by a model trained on all the others (leave one set out)."""
    by_source = leave_one_set_out(kb, rows)
    everything: dict[str, Prediction] = {}
    cases: list[LabelledQuestion] = []
    for source, predictions in by_source.items():
        everything.update(predictions)
        cases += [
            LabelledQuestion(r.q, r.item, r.intent, r.style, r.asks)
            for r in rows
            if r.source == source and r.dialogue is None
        ]
    print(texts.TRAIN_BY_SET_HEADING.format(count=len(cases), sets=len(by_source)))
    print(score("by set", everything.__getitem__, cases).render())
    for source, predictions in by_source.items():
        _print_set(source, score(source, predictions.__getitem__, [c for c in cases if c.q in predictions]))


def _print_set(source: str, report: EvalReport) -> None:
    print(texts.TRAIN_SET_LINE.format(source=source, **report.to_dict()))


def register_train(kb_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`steward kb train` (registered by cli/kb_commands.py under `steward kb`)."""
    train = kb_sub.add_parser(
        "train", help="训练意图/事项模型，检查可复现，并报告从未训练的测试集和 5 折交叉验证的指标"
    )
    train.add_argument("--folds", type=int, default=5, help="交叉验证的折数（默认 5；0 表示不做）")
    train.add_argument(
        "--by-set",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="逐套留出：每套盲测集用其余各套训练的模型评分（默认做；--no-by-set 不做）",
    )
    train.set_defaults(func=cmd_kb_train)
    join = kb_sub.add_parser(
        "join",
        help="把读过的标注集并入训练文件（五分之一按文本哈希留作从未训练的测试集；已有的问题不重复）",
        description="评测集在读过错例之前是盲测；读过之后才并入训练。有一行读不了时一行也不写。",
    )
    join.add_argument("files", nargs="+", metavar="标注文件.jsonl", help="问题或对话轮次（steward eval 的格式）")
    join.add_argument("--training", default=str(LABELLED_PATH), metavar="文件", help="训练文件（默认自带的）")
    join.set_defaults(func=cmd_kb_join)
    gate = kb_sub.add_parser(
        "follow-ups",
        help="重放读过的对话集，报告后续问题模型的指标，检查（--write 重写）它的训练文件",
        description="后续问题模型读的是规则转人工、又没有事项的后续问题：它判断这句是不是还在问上一轮的事项。",
    )
    gate.add_argument("--write", action="store_true", help="把重放结果写入训练文件")
    gate.add_argument("--file", default=str(FOLLOW_UPS_PATH), metavar="文件", help="后续问题的训练文件（默认自带的）")
    gate.set_defaults(func=cmd_kb_follow_ups)
    doubts = kb_sub.add_parser(
        "doubts",
        help="重放读过的对话集，报告“沿用上一轮事项的回答可能答错”模型的指标，检查（--write 重写）它的训练文件",
        description="后续问题沿用上一轮的事项作答时，这个模型判断作答会不会答错；够可疑的改为让用户选择。",
    )
    doubts.add_argument("--write", action="store_true", help="把重放结果写入训练文件")
    doubts.add_argument("--file", default=str(KEPT_ANSWERS_PATH), metavar="文件", help="训练文件（默认自带的）")
    doubts.set_defaults(func=cmd_kb_doubts)


def cmd_kb_follow_ups(args: argparse.Namespace) -> None:
    """Replay the read dialogue sets without the gate, report the gate's figures, and check or write its turns."""
    settings = settings_or_exit()
    # the default thresholds, whatever this machine's settings say: the file is the bundled data's, one for all
    matcher = Matcher.trained(
        knowledge_or_exit(settings), Thresholds(), model_path=settings.model_file, follow_ups=None, kept_answers=None
    )
    sets = _read_dialogue_sets()
    turns, test = split_for_training(replayed_follow_ups(matcher, sets))
    print(texts.GATE_REPLAYED.format(sets=len(sets), turns=len(turns), earlier=sum(t.earlier for t in turns)))
    folded = cross_validated(turns)
    for threshold in sorted({0.9, GATE_ANSWER, 0.7, GATE_OFFER}, reverse=True):
        _print_gate_line(texts.GATE_FOLDS_LABEL.format(folds=FOLDS), threshold, folded, turns)
    gate = train_gate(turns)
    if gate is not None and test:
        label = texts.GATE_TEST_LABEL.format(turns=len(test))
        for threshold in (GATE_ANSWER, GATE_OFFER):
            _print_gate_line(label, threshold, gate.probabilities([t.q for t in test]), test)
    write_or_check(
        Path(args.file),
        turns,
        write=args.write,
        save=write_follow_ups,
        load=read_follow_ups,
        stale=texts.GATE_FILE_STALE,
        current=texts.GATE_FILE_CURRENT,
    )


def _read_dialogue_sets() -> list[tuple[str, list]]:  # type: ignore[type-arg]
    """The read dialogue sets of the guard, from tests/data wherever the command is run."""
    root = Path(__file__).resolve().parent.parent
    return [(p.stem, load_labelled(root / p)) for p in DEFAULT_GUARDED if "dialogues" in p.stem]


def cmd_kb_doubts(args: argparse.Namespace) -> None:
    """Replay the read dialogue sets with the gate and without the doubt, report the doubt's figures, and check or
    write its answers."""
    settings = settings_or_exit()
    matcher = Matcher.trained(
        knowledge_or_exit(settings), Thresholds(), model_path=settings.model_file, kept_answers=None
    )
    sets = _read_dialogue_sets()
    answers, test = split_for_training(replayed_kept_answers(matcher, sets))
    folded = doubts_cross_validated(answers, items=matcher.model)
    doubt = train_doubt(answers, matcher.model)
    for switched, offer, replayed_line in (
        (False, DOUBT_OFFER, texts.DOUBT_REPLAYED),
        (True, SWITCH_DOUBT_OFFER, texts.DOUBT_REPLAYED_SWITCHED),
    ):
        kind = [n for n, a in enumerate(answers) if a.switched == switched]
        print(replayed_line.format(sets=len(sets), answers=len(kind), wrong=sum(answers[n].wrong for n in kind)))
        for threshold in sorted({offer * 2, offer * 1.5, offer, offer * 0.8}, reverse=True):
            label = texts.GATE_FOLDS_LABEL.format(folds=FOLDS)
            _print_doubt_line(label, round(threshold, 3), folded[kind], [answers[n] for n in kind])
        held = [a for a in test if a.switched == switched]
        if doubt is not None and held:
            _print_doubt_line(texts.DOUBT_TEST_LABEL.format(answers=len(held)), offer, doubt.of(held), held)
        if not switched:  # a kept answer the doubt finds more likely wrong than right goes to a person
            label = texts.GATE_FOLDS_LABEL.format(folds=FOLDS)
            kept = [answers[n] for n in kind]
            _print_doubt_line(label, DOUBT_HANDOFF, folded[kind], kept, line=texts.DOUBT_HANDOFF_LINE)
            if doubt is not None and held:
                label = texts.DOUBT_TEST_LABEL.format(answers=len(held))
                _print_doubt_line(label, DOUBT_HANDOFF, doubt.of(held), held, line=texts.DOUBT_HANDOFF_LINE)
    write_or_check(
        Path(args.file),
        answers,
        write=args.write,
        save=write_kept_answers,
        load=read_kept_answers,
        stale=texts.GATE_FILE_STALE,
        current=texts.GATE_FILE_CURRENT,
    )


def _print_doubt_line(label: str, threshold: float, probabilities, answers, line: str = texts.DOUBT_LINE) -> None:  # type: ignore[no-untyped-def]
    taken = [a for a, p in zip(answers, probabilities, strict=True) if p >= threshold]
    wrong = sum(a.wrong for a in taken)
    caught = f"{100 * wrong / max(1, sum(a.wrong for a in answers)):.1f}"
    print(
        line.format(
            label=label, threshold=threshold, taken=len(taken), wrong=wrong, right=len(taken) - wrong, caught=caught
        )
    )


def _print_gate_line(label: str, threshold: float, probabilities, turns) -> None:  # type: ignore[no-untyped-def]
    taken = [t for t, p in zip(turns, probabilities, strict=True) if p >= threshold]
    right = sum(t.earlier for t in taken)
    share = f"{100 * (len(taken) - right) / len(taken):.1f}" if taken else "0.0"
    print(
        texts.GATE_FOLDS_LINE.format(
            label=label, threshold=threshold, taken=len(taken), right=right, wrong=len(taken) - right, share=share
        )
    )


def cmd_kb_join(args: argparse.Namespace) -> None:
    try:
        joined = join_sets(Path(args.training), [Path(f) for f in args.files])
    except AlreadyJoined as exc:
        fail(texts.TRAIN_ALREADY_JOINED.format(path=exc.path, source=exc.source))
        return
    except ValueError as exc:  # OSError: one line naming the file (cli.main)
        fail(str(exc))
        return
    for part in joined:
        print(texts.TRAIN_JOINED.format(source=part.source, rows=part.rows, known=part.known))


def cmd_eval(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    matcher = _matcher(settings)
    sets: list[tuple[str, list]] = []  # type: ignore[type-arg]
    for name in args.files or [str(p) for p in DEFAULT_GUARDED]:
        try:
            sets.append((name, load_labelled(Path(name))))
        except ValueError as exc:  # OSError: one line naming the file (cli.main)
            fail(str(exc))
    if args.diff:
        _eval_diff(matcher, sets, Path(args.guard), write=args.write_guard)
        return
    started = time.perf_counter()
    reports = {}
    for name, cases in sets:
        reports[name] = evaluate(matcher, cases, name=name)
    total = sum(len(c) for _, c in sets)
    if args.json:
        payload = {name: r.to_dict() for name, r in reports.items()}
        print(json.dumps(payload if len(sets) > 1 else next(iter(payload.values())), ensure_ascii=False, indent=2))
    else:
        for name, report in reports.items():
            if len(sets) > 1:
                print(texts.EVAL_SET_HEADING.format(name=name))
            print(report.render())
            if args.errors:
                for line in report.error_lines():
                    print(line)
    print(texts.EVAL_DONE.format(count=total, seconds=f"{time.perf_counter() - started:.2f}"), file=sys.stderr)


def _eval_diff(matcher: Matcher, sets: list, guard: Path, *, write: bool) -> None:  # type: ignore[type-arg]
    """List what a change flipped against the guard file; exit 1 on a right→wrong flip it does not accept."""
    current = guard_entries(matcher, sets)
    if write:
        write_guard(guard, current)
        print(texts.CLI_GUARD_WRITTEN.format(path=guard, count=len(current)))
        return
    expected = read_guard(guard)
    flips = diff_guard(expected, current)
    for flip in flips:
        print(flip.render())
    broken = [f for f in flips if f.kind == "right→wrong" and not f.accepted]
    print(
        texts.GUARD_SUMMARY.format(
            flips=len(flips),
            fixed=sum(f.kind == "wrong→right" for f in flips),
            broken=sum(f.kind == "right→wrong" for f in flips),
            refused=len(broken),
        ),
        file=sys.stderr,
    )
    if broken:
        sys.exit(1)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ask = sub.add_parser("ask", help="用知识库回答一个问题（或一个文件里的每个问题）")
    ask.add_argument("question", nargs="*", metavar="问题", help="要问的问题，如 环评要什么材料")
    ask.add_argument("--json", action="store_true", help="每个问题输出一个 JSON 对象")
    ask.add_argument(
        "--batch",
        metavar="文件",
        help="从文件逐行读取问题（- 表示标准输入）；JSON 行 {chat, user, text} 按 (chat, user) 带上下文",
    )
    ask.set_defaults(func=cmd_ask)

    ev = sub.add_parser(
        "eval", help="用标注好的问题文件给匹配器打分（JSON 行：q、item、intent，或对话轮次 chat、user、text）"
    )
    ev.add_argument(
        "files", nargs="*", metavar="文件", help="标注文件，如 tests/data/devset.jsonl（默认：回归基线里的各个文件）"
    )
    ev.add_argument(
        "--diff",
        action="store_true",
        help="与回归基线文件对比，列出 对→错 和 错→对 的问题；有未接受的 对→错 时退出码为 1",
    )
    ev.add_argument("--guard", default=str(GUARD_PATH), help="回归基线文件（默认：%(default)s）")
    ev.add_argument("--write-guard", action="store_true", help="与 --diff 一起用：把当前结果写成回归基线")
    ev.add_argument("--json", action="store_true", help="以 JSON 输出各项指标")
    ev.add_argument("--errors", action="store_true", help="同时列出每个答错的问题")
    ev.set_defaults(func=cmd_eval)

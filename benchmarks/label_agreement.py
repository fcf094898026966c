"""How often two people label the same dialogue turns alike, beside how often the matcher agrees with them.

A second writer, who saw neither the code nor any set, labelled turns of sets already written (the brief of
`tests/data/brief/`, the texts only, no labels): `tests/data/second_labels/<set>.jsonl`, one line per turn of
`tests/data/<set>.jsonl`, in its order. The table compares, over all turns and over the later turns of each
dialogue (the first has no context):
- item and intent agreement of the two writers, and of the matcher (in context, as `steward eval` reads the turns)
  with each;
- on the turns the matcher answers: its wrong answers by the first writer's labels and by the second's, how often
  the second writer's item differs from the first's (a second person answering those turns), and the matcher's
  wrong answers on the turns where both writers agree.

    .venv/bin/python -m benchmarks.label_agreement            # every set with second labels
    .venv/bin/python -m benchmarks.label_agreement bankAN_dialogues
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from config.settings import BUNDLED_KNOWLEDGE_PATH
from knowledge.context import MemoryContexts
from knowledge.evaluation import LabelledQuestion, item_right, load_labelled, prediction_of
from knowledge.loader import load_knowledge
from knowledge.matcher import Matcher, MatchResult

DATA = Path("tests/data")
SECOND = DATA / "second_labels"


@dataclass(frozen=True)
class Turn:
    case: LabelledQuestion
    second_item: str | None
    second_intent: str
    later: bool  # not the first turn of its dialogue
    result: MatchResult


def read_set(matcher: Matcher, name: str, *, data: Path = DATA, second_labels: Path = SECOND) -> list[Turn]:
    """The turns of one set with both labels and the matcher's reading in context."""
    cases = load_labelled(data / f"{name}.jsonl")
    path = second_labels / f"{name}.jsonl"
    second = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if len(second) != len(cases) or any(s["text"] != c.q for s, c in zip(second, cases, strict=True)):
        raise SystemExit(f"{path} does not follow {data / name}.jsonl turn by turn")
    contexts = MemoryContexts()
    turns, seen = [], set()
    for case, other in zip(cases, second, strict=True):
        if case.chat is None or case.user is None:
            raise SystemExit(f"{data / name}.jsonl: not a set of dialogue turns")
        result = matcher.match(case.q, contexts.recall(case.chat, case.user))
        contexts.follow(case.chat, case.user, result)  # no press: the two writers may mean different items
        dialogue = (case.chat, case.user, case.dialogue)
        turns.append(Turn(case, other["item"], other["intent"], dialogue in seen, result))
        seen.add(dialogue)
    return turns


@dataclass
class Tally:
    turns: int = 0
    writers_item: int = 0
    writers_intent: int = 0
    matcher_item: int = 0  # with the first writer
    matcher_intent: int = 0
    matcher_item_second: int = 0
    matcher_intent_second: int = 0
    answered: int = 0
    wrong: int = 0  # by the first writer's labels
    wrong_second: int = 0
    second_differs: int = 0  # of the answered turns, the second writer's item is not the first's
    agreed: int = 0  # answered turns where the writers agree on the item
    wrong_agreed: int = 0

    def add(self, turn: Turn) -> None:
        case, result = turn.case, turn.result
        pred = prediction_of(result)
        self.turns += 1
        self.writers_item += case.item == turn.second_item
        self.writers_intent += case.intent == turn.second_intent
        self.matcher_item += item_right(pred, case.item)
        self.matcher_intent += result.intent == case.intent
        self.matcher_item_second += item_right(pred, turn.second_item)
        self.matcher_intent_second += result.intent == turn.second_intent
        if result.action != "answer":
            return
        self.answered += 1
        self.wrong += not item_right(pred, case.item)
        self.wrong_second += not item_right(pred, turn.second_item)
        self.second_differs += case.item != turn.second_item
        if case.item == turn.second_item:
            self.agreed += 1
            self.wrong_agreed += not item_right(pred, case.item)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def render(tallies: dict[str, Tally]) -> str:
    head = (
        "| turns | n | writers agree: item / intent | matcher ~ 1st writer: item / intent | matcher ~ 2nd writer: "
        "item / intent | answered | matcher wrong (1st) | matcher wrong (2nd) | 2nd writer differs from 1st | "
        "matcher wrong where both agree |"
    )
    lines = [head, "|" + "---|" * 10]
    for name, t in tallies.items():
        lines.append(
            f"| {name} | {t.turns:,} | {_pct(t.writers_item, t.turns)} / {_pct(t.writers_intent, t.turns)} | "
            f"{_pct(t.matcher_item, t.turns)} / {_pct(t.matcher_intent, t.turns)} | "
            f"{_pct(t.matcher_item_second, t.turns)} / {_pct(t.matcher_intent_second, t.turns)} | {t.answered:,} | "
            f"{t.wrong} ({_pct(t.wrong, t.answered)}) | {t.wrong_second} ({_pct(t.wrong_second, t.answered)}) | "
            f"{t.second_differs} ({_pct(t.second_differs, t.answered)}) | "
            f"{t.wrong_agreed} of {t.agreed:,} ({_pct(t.wrong_agreed, t.agreed)}) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", help="set names (default: every set in tests/data/second_labels)")
    args = parser.parse_args()
    names = args.sets or sorted(p.stem for p in SECOND.glob("*.jsonl"))
    if not names:
        raise SystemExit(f"no second labels in {SECOND}")
    matcher = Matcher.trained(load_knowledge(BUNDLED_KNOWLEDGE_PATH))
    tallies = {"all": Tally(), "first turns": Tally(), "later turns": Tally()}
    for name in names:
        for turn in read_set(matcher, name):
            tallies["all"].add(turn)
            tallies["later turns" if turn.later else "first turns"].add(turn)
    print(f"Sets: {', '.join(names)}\n")
    print(render(tallies))


if __name__ == "__main__":
    main()

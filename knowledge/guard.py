"""The regression guard: the expected (item, intent, action) of every labelled question, kept in a file.

`steward eval --diff` compares the matcher now with the file and lists what a change flipped,
right→wrong and wrong→right; a right→wrong flip fails unless its line in the file says `"accept": true`
(tests/test_regression_guard.py). `steward eval --diff --write-guard` records the current results.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import texts
from knowledge.context import TurnReader
from knowledge.evaluation import LabelledQuestion

if TYPE_CHECKING:
    from knowledge.matcher import MatchResult

GUARD_PATH = Path("tests/data/guard.jsonl")
DEFAULT_GUARDED = tuple(
    Path("tests/data") / f"{name}.jsonl"
    for name in (
        "devset",
        "devset_more",
        "holdout",
        "blind",
        "blind2",
        "dialogues",
        "blind3",
        "blind3_dialogues",
        "blind4",
        "blind4_dialogues",
        "blind5",
        "blind5_dialogues",
        "blind6",
        "blind6_dialogues",
        "blind7",
        "blind7_dialogues",
        "blind8",
        "blind8_dialogues",
        "bankA",
        "bankB",
        "blind9",
        "blind9_dialogues",
        "blind10",
        "blind10_dialogues",
        "blind11",
        "blind11_dialogues",
        "blind12",
        "blind12_dialogues",
        "blind13",
        "blind13_dialogues",
        "bankE",
        "bankF_dialogues",
        "bankG",
        "bankH_dialogues",
        "blind19_dialogues",
        # the eleventh pass: the read sets of earlier passes, blind20 (judged, then read) and a training bank
        "blind14",
        "blind14_dialogues",
        "blind15_dialogues",
        "blind16",
        "blind16_dialogues",
        "blind17",
        "blind17_dialogues",
        "blind18",
        "blind18_dialogues",
        "blind20",
        "blind20_dialogues",
        "bankI_dialogues",
        # the twelfth pass: blind21 (judged, then read) and four training banks
        "blind21",
        "blind21_dialogues",
        "bankJ",
        "bankK_dialogues",
        "bankL",
        "bankM_dialogues",
        # the thirteenth pass: blind23, blind24 and blind25 (judged, then read) and a training bank of dialogues
        "blind23",
        "blind23_dialogues",
        "blind24",
        "blind24_dialogues",
        "bankN_dialogues",
        "blind25",
        "blind25_dialogues",
        # the fourteenth pass's read sets (blind26–blind29 judged, then read) and training banks, and the fifteenth's
        "blind26",
        "blind26_dialogues",
        "blind27",
        "blind27_dialogues",
        "blind28",
        "blind28_dialogues",
        "blind29",
        "blind29_dialogues",
        "bankO_dialogues",
        "bankP_dialogues",
        "bankQ_dialogues",
        "bankR_dialogues",
        "bankS_dialogues",
        "bankT_dialogues",
        "bankU_dialogues",
        "bankV_dialogues",
        "bankW_dialogues",
        "bankX_dialogues",
        # the seventeenth pass: the dialogue turns of blind30–blind33 (judged in earlier passes, then read; their
        # single questions are still unread) and three training banks of dialogues
        "blind30_dialogues",
        "blind31_dialogues",
        "blind32_dialogues",
        "blind33_dialogues",
        "bankY_dialogues",
        "bankZ_dialogues",
        "bankAA_dialogues",
        # the eighteenth pass: three banks of dialogues, written blind and scored unseen, then read
        "bankAB_dialogues",
        "bankAC_dialogues",
        "bankAD_dialogues",
        "bankAE_dialogues",
        "bankAF_dialogues",
        "bankAG_dialogues",
        "bankAH_dialogues",
        "bankAI_dialogues",
        "bankAJ_dialogues",
        "bankAK_dialogues",
        "bankAL_dialogues",
        "bankAM_dialogues",
        # the nineteenth pass: six banks of dialogues, written blind and scored unseen, then read; since this pass
        # every read bank's turns also train the intent model (`steward kb join`)
        "bankAN_dialogues",
        "bankAO_dialogues",
        "bankAP_dialogues",
        "bankAQ_dialogues",
        "bankAR_dialogues",
        "bankAS_dialogues",
        # the twentieth pass: six more banks of dialogues, written blind, scored unseen, read, then joined
        "bankAT_dialogues",
        "bankAU_dialogues",
        "bankAV_dialogues",
        "bankAW_dialogues",
        "bankAX_dialogues",
        "bankAY_dialogues",
        "bankAZ_dialogues",
        "bankBA_dialogues",
        "bankBB_dialogues",
        "bankBC_dialogues",
        "bankBD_dialogues",
        "bankBE_dialogues",
        "bankBF_dialogues",
        "bankBG_dialogues",
        "bankBH_dialogues",
        "bankBI_dialogues",
        "bankBJ_dialogues",
        "bankBK_dialogues",
        "bankBL_dialogues",
        "bankBM_dialogues",
        "bankBN_dialogues",
        # the twenty-fifth pass: seven banks of dialogues, written blind, scored unseen, read, then joined
        "bankBO_dialogues",
        "bankBP_dialogues",
        "bankBQ_dialogues",
        "bankBR_dialogues",
        "bankBS_dialogues",
        "bankBT_dialogues",
        "bankBU_dialogues",
        # the twenty-sixth pass: banks of dialogues, written blind, scored unseen, read, then joined
        "bankBV_dialogues",
        "bankBW_dialogues",
        "bankBX_dialogues",
        "bankBY_dialogues",
        "bankBZ_dialogues",
    )
)


def _key(set_name: str, number: int, question: str) -> str:
    return f"{Path(set_name).stem}:{number}\t{question}"


def _right(case: LabelledQuestion, result: MatchResult) -> bool:
    """Right as `knowledge.evaluation.score` counts it: the intent, and the item — or, of an answer covering
    several asks, the item among those it answers."""
    covered = result.action == "answer" and case.item is not None and case.item in {a.item for a in result.asks}
    return (result.item == case.item or covered) and result.intent == case.intent


def guard_entries(matcher, sets: Sequence[tuple[str, list[LabelledQuestion]]]) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    """What the matcher says of every labelled question (dialogue turns in their context)."""
    entries: dict[str, dict] = {}  # type: ignore[type-arg]
    for set_name, cases in sets:
        turns = TurnReader(matcher)
        for number, case in enumerate(cases, start=1):
            _, result = turns.read(case)
            entries[_key(set_name, number, case.q)] = {
                "set": Path(set_name).stem,
                "n": number,
                "q": case.q,
                "item": result.item,
                "intent": result.intent,
                "action": result.action,
                "right": _right(case, result),
            }
    return entries


def write_guard(path: Path, entries: dict[str, dict]) -> None:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries.values()), encoding="utf-8")


def read_guard(path: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            entries[_key(entry["set"], entry["n"], entry["q"])] = entry
    return entries


@dataclass(frozen=True)
class Flip:
    kind: str  # "right→wrong" or "wrong→right"
    key: str
    expected: dict  # type: ignore[type-arg]
    got: dict  # type: ignore[type-arg]
    accepted: bool

    def render(self) -> str:
        e, g = self.expected, self.got
        return texts.GUARD_FLIP.format(
            kind=texts.GUARD_FLIP_KINDS[self.kind],
            accepted=texts.GUARD_FLIP_ACCEPTED if self.accepted else "",
            set_name=g["set"],
            n=g["n"],
            question=repr(g["q"]),
            was_item=e["item"],
            was_intent=e["intent"],
            was_action=e["action"],
            now_item=g["item"],
            now_intent=g["intent"],
            now_action=g["action"],
        )


def diff_guard(expected: dict[str, dict], current: dict[str, dict]) -> list[Flip]:  # type: ignore[type-arg]
    """Questions whose rightness changed; a question new to the file counts as previously wrong."""
    flips = []
    for key, got in current.items():
        was = expected.get(key)
        was_right = bool(was and was.get("right"))
        if was_right != got["right"]:
            kind = "right→wrong" if was_right else "wrong→right"
            flips.append(
                Flip(
                    kind,
                    key,
                    was or {**got, "item": None, "intent": "-", "action": "-"},
                    got,
                    bool(was and was.get("accept")),
                )
            )
    return flips

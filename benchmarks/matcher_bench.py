"""The matcher benchmark: accuracy against two baselines, latency, start-up and memory.

    python -m benchmarks.matcher_bench [--set tests/data/devset.jsonl] [--faq 5000] [--repeat 3] [--markdown]

(`make bench` runs it.) One run prints:

Table 1  four systems side by side on the labelled set, and again on each further set (`--sets`
         FILE...: by default devset_more, holdout, blind, blind2 and dialogues; any labelled file,
         plain or dialogue turns): the steward matcher (exact evidence + the learned model), the
         same model scored only on questions it never trained on (5-fold for the bundled labelled
         questions, as is for any other question), the rule matcher (exact evidence + ordered cue
         rules, no model) and the rapidfuzz `extractOne` and BM25-over-jieba baselines. Each baseline's cut-off is tuned on the
         labelled set to its own best item accuracy (ties: lower wrong-auto-answer rate, then the
         stricter cut-off), so the comparison is fair to the baselines; the further sets use the
         same cut-offs.
Table 2  start-up of the bundled knowledge base and of a synthetic one with `--faq` generated FAQ entries, each
         in fresh interpreter processes, cold (no model file: load + training + writing the file + index)
         and warm (load + reading the model file checked against the data + index); the matcher's latency
         on both, queried with the labelled questions plus generated ones; and memory: tracemalloc
         peak and net retained size of building the matcher, and the process peak RSS.
Targets  the issue's targets beside the measured figures, PASS or FAIL.

Latency is per `match`/`predict` call after start-up, warm: the set runs once untimed, then
`--repeat` timed passes; p50/p99 are over every timed call. The normaliser's lru_cache is
cleared before each timed call (outside the timed region), so a repeated pass does not get
the normalised text for free: in a chat every message is new text.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from knowledge.evaluation import Prediction

P = TypeVar("P")  # what a predictor returns
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT / "tests" / "data" / "devset.jsonl"
HOLDOUT_SET = ROOT / "tests" / "data" / "holdout.jsonl"
OTHER_SETS = [
    ROOT / "tests" / "data" / "devset_more.jsonl",  # a second dev set, also tuned on
    HOLDOUT_SET,  # written apart; its errors were read once during development
    ROOT / "tests" / "data" / "blind.jsonl",  # written blind; never tuned on
    ROOT / "tests" / "data" / "blind2.jsonl",  # written blind; its errors were read once
    ROOT / "tests" / "data" / "dialogues.jsonl",  # dialogue turns, context applied per (chat, user)
    ROOT / "tests" / "data" / "blind3.jsonl",  # written blind; measured twice, then read: a dev set
    ROOT / "tests" / "data" / "blind3_dialogues.jsonl",  # its dialogue turns, likewise
    ROOT / "tests" / "data" / "blind4.jsonl",  # written blind; measured once before the third pass, then read
    ROOT / "tests" / "data" / "blind4_dialogues.jsonl",  # its dialogue turns, likewise
    ROOT / "tests" / "data" / "blind5.jsonl",  # written blind; measured once before the fourth pass, then read
    ROOT / "tests" / "data" / "blind5_dialogues.jsonl",  # its dialogue turns, likewise
    ROOT / "tests" / "data" / "blind6.jsonl",  # written blind; measured once before the fifth pass, then read
    ROOT / "tests" / "data" / "blind6_dialogues.jsonl",  # its dialogue turns, likewise
    ROOT / "tests" / "data" / "blind7.jsonl",  # written blind; measured before the sixth pass, then read
    ROOT / "tests" / "data" / "blind7_dialogues.jsonl",  # its dialogue turns, likewise
    ROOT / "tests" / "data" / "blind8.jsonl",  # written blind; measured before the seventh pass, then read
    ROOT / "tests" / "data" / "blind8_dialogues.jsonl",  # its dialogue turns, likewise
    ROOT / "tests" / "data" / "blind9.jsonl",  # written blind; measured in the seventh pass, read in the eighth
    ROOT / "tests" / "data" / "blind9_dialogues.jsonl",  # its dialogue turns, likewise
    ROOT / "tests" / "data" / "blind10.jsonl",  # written blind; scored around the seventh pass, read in the eighth
    ROOT / "tests" / "data" / "blind10_dialogues.jsonl",  # its dialogue turns, likewise
    ROOT / "tests" / "data" / "blind11.jsonl",  # written blind; scored before, during and after the eighth pass
    ROOT / "tests" / "data" / "blind11_dialogues.jsonl",  # its dialogue turns, likewise
    ROOT / "tests" / "data" / "blind12.jsonl",  # written blind; scored at the end of the eighth pass only
    ROOT / "tests" / "data" / "blind12_dialogues.jsonl",  # its dialogue turns, likewise
]
SET_NOTES = {
    "devset_more.jsonl": "second dev set, tuned on",
    "holdout.jsonl": "written apart, errors read once",
    "blind.jsonl": "written blind, never tuned on",
    "blind2.jsonl": "written blind, errors read once",
    "dialogues.jsonl": "dialogue turns written with the context feature, a dev set",
    "blind3.jsonl": "written blind, measured before and after the first pass, then read: a dev set",
    "blind3_dialogues.jsonl": "blind3's dialogue turns, in context; a dev set likewise",
    "blind4.jsonl": "written blind, measured before the third pass, then read: a dev set",
    "blind4_dialogues.jsonl": "blind4's dialogue turns, in context; a dev set likewise",
    "blind5.jsonl": "written blind, measured before the fourth pass, then read: a dev set",
    "blind5_dialogues.jsonl": "blind5's dialogue turns, in context; a dev set likewise",
    "blind6.jsonl": "written blind, measured once before the fifth pass, then read: a dev set",
    "blind6_dialogues.jsonl": "blind6's dialogue turns, in context; a dev set likewise",
    "blind7.jsonl": "written blind, measured once before the sixth pass, then read: a dev set",
    "blind7_dialogues.jsonl": "blind7's dialogue turns, in context; a dev set likewise",
    "blind8.jsonl": "written blind, measured once before the seventh pass, then read: a dev set",
    "blind8_dialogues.jsonl": "blind8's dialogue turns, in context; a dev set likewise",
    "blind9.jsonl": "written blind, measured in the seventh pass, errors read in the eighth: a dev set",
    "blind9_dialogues.jsonl": "blind9's dialogue turns, in context; a dev set likewise",
    "blind10.jsonl": "written blind, scored around the seventh pass, errors read in the eighth: a dev set",
    "blind10_dialogues.jsonl": "blind10's dialogue turns, in context; a dev set likewise",
    "blind11.jsonl": "written blind, never read or trained on, scored before, during and after the eighth pass",
    "blind11_dialogues.jsonl": "blind11's dialogue turns, in context; unseen likewise",
    "blind12.jsonl": "written blind to differ from textbook wording, never read or trained on: the cleanest unseen measure",
    "blind12_dialogues.jsonl": "blind12's dialogue turns, in context; unseen likewise",
}
GENERATED_QUERIES = 200
FAQ_SEED = 20240601
QUERY_SEED = 7

# Issue 7's targets on unseen questions (wrong: of the automatic answers).
T_ITEM, T_INTENT, T_WRONG, T_OOS = 95.0, 93.0, 1.0, 95.0
T_LEAD = 10.0
T_P99_BUNDLED_MS, T_P99_SYNTHETIC_MS, T_STARTUP_S = 5.0, 25.0, 2.0
MIB = 1024 * 1024
CPU_SHARES: list[float] = []  # per timed loop: CPU time / wall time (well below 1: the machine was busy)


# -- measuring --------------------------------------------------------------------------------
def _cases(path: Path):  # type: ignore[no-untyped-def]
    from knowledge.evaluation import load_labelled

    return load_labelled(path)


def timed_predictions(
    predict: Callable[[str], P], questions: Sequence[str], repeat: int
) -> tuple[list[P], list[float]]:
    """Warm up once untimed, then time `repeat` passes; return the first timed pass and all latencies (ms)."""
    from knowledge.normalize import normalize

    for q in questions:
        predict(q)
    latencies: list[float] = []
    first: list[P] | None = None
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    for _ in range(max(1, repeat)):
        gc.collect()
        run: list[P] = []
        for q in questions:
            normalize.cache_clear()  # every chat message is new text; keep the cache out of the timing
            started = time.perf_counter()
            pred = predict(q)
            latencies.append((time.perf_counter() - started) * 1000)
            run.append(pred)
        if first is None:
            first = run
        elif run != first:
            raise RuntimeError("predictions differ between passes: the predictor is not deterministic")
    CPU_SHARES.append((time.thread_time() - cpu0) / max(time.perf_counter() - wall0, 1e-9))
    return first or [], latencies


def measure(name: str, predict: Callable[[str], Prediction], cases, repeat: int):  # type: ignore[no-untyped-def]
    """An EvalReport (metrics as knowledge.evaluation defines them) with warm, repeated latencies."""
    from knowledge.evaluation import score

    preds, latencies = timed_predictions(predict, [c.q for c in cases], repeat)
    replay = iter(preds)
    report = score(name, lambda _q: next(replay), cases)
    report.latencies_ms = latencies
    report.predictions = preds  # type: ignore[attr-defined]  # kept for the notes (actions)
    return report


def measure_set(name: str, predict: Callable[[str], Prediction], cases, repeat: int, matcher=None):  # type: ignore[no-untyped-def]
    """`measure`, except for a set of dialogue turns scored by a matcher: turns in order, in context (one pass)."""
    if matcher is not None and any(c.chat is not None for c in cases):
        from knowledge.evaluation import evaluate

        report = evaluate(matcher, cases, name=name)
        report.predictions = []  # type: ignore[attr-defined]
        return report
    return measure(name, predict, cases, repeat)


def matcher_predict(matcher):  # type: ignore[no-untyped-def]
    from knowledge.evaluation import Prediction

    def predict(q: str) -> Prediction:
        r = matcher.match(q)
        return Prediction(r.item, r.intent, r.action)

    return predict


# -- baseline cut-offs ------------------------------------------------------------------------
@dataclass
class Tuned:
    cutoff: float
    default: float
    item_accuracy: float
    wrong_rate: float
    default_item_accuracy: float
    default_wrong_rate: float


def _fuzz_raw(baseline, question: str) -> tuple[float | None, str | None]:  # type: ignore[no-untyped-def]
    """What FuzzBaseline.predict compares with its cut-off: best WRatio and its item."""
    from rapidfuzz import fuzz, process

    from knowledge.normalize import normalize

    norm = normalize(question)
    best = process.extractOne(norm, baseline.texts, scorer=fuzz.WRatio) if norm else None
    return (float(best[1]), baseline.owners[best[2]]) if best else (None, None)


def _bm25_raw(baseline, question: str) -> tuple[float | None, str | None]:  # type: ignore[no-untyped-def]
    """What Bm25Baseline.predict compares with its cut-off: best BM25 score and its item."""
    from knowledge.normalize import normalize

    tokens = baseline._tokens(normalize(question))
    if not tokens:
        return None, None
    scores = baseline.bm25.get_scores(tokens)
    best = max(range(len(scores)), key=scores.__getitem__)
    return float(scores[best]), baseline.owners[best]


def _rates(raw: list[tuple[float | None, str | None]], cases, cutoff: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    correct = wrong = 0
    for (value, owner), case in zip(raw, cases):
        answered = value is not None and value >= cutoff
        item = owner if answered else None
        correct += item == case.item
        wrong += answered and owner != case.item
    n = len(cases) or 1
    return round(100 * correct / n, 1), round(100 * wrong / n, 1)


def tune_cutoff(raw, cases, grid: Sequence[float], default: float) -> Tuned:  # type: ignore[no-untyped-def]
    """The cut-off of best item accuracy; ties go to the lower wrong rate, then the stricter cut-off."""
    best = max(grid, key=lambda c: (_rates(raw, cases, c)[0], -_rates(raw, cases, c)[1], c))
    acc, wrong = _rates(raw, cases, best)
    dacc, dwrong = _rates(raw, cases, default)
    return Tuned(best, default, acc, wrong, dacc, dwrong)


# -- start-up and memory probes (fresh interpreter processes) ---------------------------------
def _probe_startup(kb_path: Path, model_path: Path | None) -> dict[str, object]:
    """One start-up as the bot's (`build_services`): load the knowledge, get the model (`model_for`: the model file
    when it matches the data, else training and writing it), train the follow-up gate, build the matcher, read the
    question reader's turns and the doubt's answers; then, timed apart (`reader_s`, `doubt_s`: until each is ready, both counted from the end of the start-up), the
    reader's training, which the bot runs in a thread from its post_init while it connects to Telegram, and the
    doubt's."""
    started = time.perf_counter()
    from knowledge.answer_doubt import KEPT_ANSWERS_PATH, read_kept_answers
    from knowledge.follow_up_gate import gate_for
    from knowledge.loader import load_knowledge
    from knowledge.matcher import Matcher
    from knowledge.model_file import model_for
    from knowledge.question_cue import QUESTION_TURNS_PATH, read_question_turns, reader_in_background

    imported, cpu = time.perf_counter(), time.process_time()
    kb = load_knowledge(kb_path)
    loaded = time.perf_counter()
    source = model_for(kb, model_path, write_later=True)
    modelled = time.perf_counter()
    read_kept_answers(KEPT_ANSWERS_PATH)  # as Matcher.trained: the file is read at start-up, trained from post_init
    matcher = Matcher(kb, model=source.model, gate=gate_for(), doubt=KEPT_ANSWERS_PATH)
    if source.file is not None:
        source.file.start()  # as Matcher.trained: a model trained now is written once the matcher is built
    turns = read_question_turns(QUESTION_TURNS_PATH)
    indexed = time.perf_counter()
    matcher.start_kept_doubt()  # the bot's first answer taken from a conversation starts it, and waits for it
    reader = reader_in_background(turns).result()
    read = time.perf_counter()
    assert matcher.kept_doubt is not None  # the first follow-up answer taken from the conversation waits for it
    assert matcher.reaches_gate is not None and reader is not None
    return {
        "reader_s": read - indexed,
        "doubt_s": time.perf_counter() - indexed,
        "import_s": imported - started,
        "load_s": loaded - imported,
        "model_s": modelled - loaded,
        "index_s": indexed - modelled,
        "total_s": indexed - imported,
        "cpu_s": time.process_time() - cpu,  # every thread's CPU time: the load-independent part of the wall time
        "how": source.how,
        "faq": sum(len(i.faq) for i in kb.items.values()),
    }


def _probe_memory(faq: int, set_path: Path, repeat: int) -> dict[str, object]:
    from benchmarks.synthetic import generated_queries, synthetic_kb
    from config.settings import BUNDLED_KNOWLEDGE_PATH
    from knowledge.evaluation import score
    from knowledge.loader import load_knowledge
    from knowledge.matcher import Matcher
    from knowledge.normalize import normalize

    cases = _cases(set_path)
    kb = load_knowledge(BUNDLED_KNOWLEDGE_PATH)
    if faq:
        kb = synthetic_kb(kb, faq, seed=FAQ_SEED, exclude=[c.q for c in cases])
    queries = [c.q for c in cases] + generated_queries(kb, GENERATED_QUERIES, seed=QUERY_SEED)

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    matcher = Matcher.trained(kb)
    current, peak = tracemalloc.get_traced_memory()
    normalize.cache_clear()
    gc.collect()
    without_cache = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()

    predict = matcher_predict(matcher)
    preds, latencies = timed_predictions(predict, queries, repeat)
    replay = iter(preds[: len(cases)])
    report = score("steward matcher", lambda _q: next(replay), cases).to_dict()
    return {
        "items": len(kb.items),
        "faq": sum(len(i.faq) for i in kb.items.values()),
        "queries": len(queries),
        "calls": len(latencies),
        "p50_ms": statistics.median(latencies),
        "p99_ms": _percentile(latencies, 99),
        "trace_peak_mib": (peak - before) / MIB,
        "trace_net_mib": (current - before) / MIB,
        "trace_net_without_cache_mib": (without_cache - before) / MIB,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "set_item_accuracy": report["item_accuracy"],
        "set_wrong_rate": report["wrong_auto_answer_rate"],
        "cpu_share": min(CPU_SHARES),
    }


def _percentile(values: list[float], pct: float) -> float:
    from knowledge.evaluation import percentile

    return percentile(values, pct)


def _run_probe(args: list[str]) -> dict:  # type: ignore[type-arg]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.matcher_bench", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"probe {' '.join(args)} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def startup(kb_path: Path, runs: int) -> dict[str, dict[str, float]]:
    """Cold and warm start-up, each `runs` fresh processes: a cold run finds no model file (it trains and writes
    one), the warm run after it reads that file. Medians of each part, and the worst total."""
    results: dict[str, list[dict]] = {"cold": [], "warm": []}  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory(prefix="steward-model-") as folder:
        for run in range(runs):
            path = Path(folder) / f"model-{run}.npz"
            for kind, expected in (("cold", "trained"), ("warm", "loaded")):
                result = _run_probe(["--probe", "startup", "--kb-path", str(kb_path), "--model-path", str(path)])
                if result["how"] != expected:
                    raise SystemExit(f"{kind} start-up of {kb_path}: the model was {result['how']}, not {expected}")
                results[kind].append(result)
    return {
        kind: {
            "load_s": statistics.median(r["load_s"] for r in rows),
            "model_s": statistics.median(r["model_s"] for r in rows),
            "index_s": statistics.median(r["index_s"] for r in rows),
            "total_s": statistics.median(r["total_s"] for r in rows),
            "max_total_s": max(r["total_s"] for r in rows),
            "reader_s": statistics.median(r["reader_s"] for r in rows),
            "max_reader_s": max(r["reader_s"] for r in rows),
            "doubt_s": statistics.median(r["doubt_s"] for r in rows),
            "max_doubt_s": max(r["doubt_s"] for r in rows),
            "cpu_s": statistics.median(r["cpu_s"] for r in rows),
            "import_s": statistics.median(r["import_s"] for r in rows),
            "faq": rows[0]["faq"],
        }
        for kind, rows in results.items()
    }


# -- rendering --------------------------------------------------------------------------------
def render_table(title: str, header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        cells = [
            c + " " * (w - _width(c)) if i == 0 else " " * (w - _width(c)) + c
            for i, (c, w) in enumerate(zip(row, widths))
        ]
        return "  ".join(cells).rstrip()

    rule = "-" * len(line(header))
    return "\n".join([title, rule, line(header), rule, *map(line, rows), rule])


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def _ms(value: float) -> str:
    return f"{value:.2f}"


def _table1_rows(reports: list[tuple[str, object]]) -> list[list[str]]:
    rows = []
    for label, report in reports:
        d = report.to_dict()  # type: ignore[attr-defined]
        rows.append(
            [
                label,
                _pct(d["item_accuracy"]),
                _pct(d["intent_accuracy"]),
                _pct(d["auto_answer_rate"]),
                _pct(d["wrong_auto_answer_rate"]),
                _pct(d["out_of_scope_handoff_rate"]),
                _ms(d["latency_p50_ms"]),
                _ms(d["latency_p99_ms"]),
            ]
        )
    return rows


TABLE1_HEADER = [
    "System",
    "Item acc.",
    "Intent acc.",
    "Auto-answered",
    "Wrong auto-answer",
    "OOS handoff",
    "p50 ms",
    "p99 ms",
]


# -- main -------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.matcher_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--set", type=Path, default=DEFAULT_SET, help="labelled question file (JSON lines of q, item, intent)"
    )
    parser.add_argument(
        "--sets",
        "--holdout",
        dest="holdout",
        type=Path,
        nargs="*",
        default=OTHER_SETS,
        help="further labelled sets, each shown in its own table when it exists",
    )
    parser.add_argument("--faq", type=int, default=5000, help="generated FAQ entries of the synthetic knowledge base")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes after one untimed warm-up pass")
    parser.add_argument("--startup-runs", type=int, default=3, help="fresh processes per start-up measurement")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown (for the README)")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target fails")
    parser.add_argument("--probe", choices=["startup", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--kb-path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model-path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.probe == "startup":
        print(json.dumps(_probe_startup(args.kb_path, args.model_path)))
        return 0
    if args.probe == "memory":
        print(json.dumps(_probe_memory(args.faq, args.set, args.repeat)))
        return 0

    wall = time.perf_counter()
    if not args.set.exists():
        parser.error(f"labelled set not found: {args.set}")
    if args.faq < 0 or args.repeat < 1 or args.startup_runs < 1:
        parser.error("--faq must be >= 0, --repeat and --startup-runs >= 1")

    # Start-up first, in fresh processes, before this process has warmed anything.
    from config.settings import BUNDLED_KNOWLEDGE_PATH

    start_bundled = startup(BUNDLED_KNOWLEDGE_PATH, args.startup_runs)
    memory_bundled = _run_probe(
        ["--probe", "memory", "--faq", "0", "--set", str(args.set), "--repeat", str(args.repeat)]
    )
    start_synth = memory_synth = None
    if args.faq:
        from benchmarks.synthetic import synthetic_kb, write_knowledge_folder
        from knowledge.loader import load_knowledge

        cases_for_exclude = _cases(args.set)
        skb = synthetic_kb(
            load_knowledge(BUNDLED_KNOWLEDGE_PATH), args.faq, seed=FAQ_SEED, exclude=[c.q for c in cases_for_exclude]
        )
        with tempfile.TemporaryDirectory(prefix="steward-bench-") as tmp:
            folder = Path(tmp) / "knowledge"
            write_knowledge_folder(BUNDLED_KNOWLEDGE_PATH, skb, folder)
            start_synth = startup(folder, args.startup_runs)
        expected_faq = sum(len(i.faq) for i in skb.items.values())
        if start_synth["cold"]["faq"] != expected_faq:
            raise SystemExit(
                f"synthetic knowledge folder loaded {start_synth['cold']['faq']} FAQ entries, expected {expected_faq}"
            )
        del skb
        memory_synth = _run_probe(
            ["--probe", "memory", "--faq", str(args.faq), "--set", str(args.set), "--repeat", str(args.repeat)]
        )

    # Table 1: the matcher and the two baselines, in this process.
    from benchmarks.baselines import Bm25Baseline, FuzzBaseline
    from knowledge.evaluation import cross_validate
    from knowledge.loader import load_knowledge
    from knowledge.matcher import Matcher
    from knowledge.model_text import load_training

    kb = load_knowledge(BUNDLED_KNOWLEDGE_PATH)
    cases = _cases(args.set)
    matcher = Matcher.trained(kb)
    rules = Matcher(kb)  # the exact evidence and the cue rules alone, no model
    unseen = cross_validate(
        kb, load_training()
    )  # each bundled labelled question, predicted by a model not trained on it
    fuzz_probe, bm25_probe = FuzzBaseline(kb), Bm25Baseline(kb)
    fuzz_raw = [_fuzz_raw(fuzz_probe, c.q) for c in cases]
    bm25_raw = [_bm25_raw(bm25_probe, c.q) for c in cases]
    fuzz_top = max((v for v, _ in fuzz_raw if v is not None), default=100.0)
    bm25_top = max((v for v, _ in bm25_raw if v is not None), default=10.0)
    fuzz_tuned = tune_cutoff(fuzz_raw, cases, [float(c) for c in range(int(fuzz_top) + 2)], fuzz_probe.cutoff)
    bm25_tuned = tune_cutoff(bm25_raw, cases, [c / 4 for c in range(int(bm25_top * 4) + 2)], bm25_probe.cutoff)
    fuzz_bl = FuzzBaseline(kb, cutoff=fuzz_tuned.cutoff)
    bm25_bl = Bm25Baseline(kb, cutoff=bm25_tuned.cutoff)

    model_predict = matcher_predict(matcher)

    def never_trained(q: str):  # type: ignore[no-untyped-def]
        return unseen[q] if q in unseen else model_predict(q)

    systems = [
        ("steward matcher (model + evidence)", model_predict),
        ("  same, never trained on the question", never_trained),
        ("rule matcher (evidence + cue rules)", matcher_predict(rules)),
        (f"rapidfuzz extractOne (WRatio ≥ {fuzz_tuned.cutoff:g})", fuzz_bl.predict),
        (f"BM25 over jieba (score ≥ {bm25_tuned.cutoff:g})", bm25_bl.predict),
    ]
    dev = [(label, measure_set(label, predict, cases, args.repeat)) for label, predict in systems]
    for (label, report), tuned in zip(dev[3:], (fuzz_tuned, bm25_tuned)):
        d = report.to_dict()
        if (d["item_accuracy"], d["wrong_auto_answer_rate"]) != (tuned.item_accuracy, tuned.wrong_rate):
            raise SystemExit(  # the sweep re-implements the baselines' scoring; it must agree with them
                f"{label}: the cut-off sweep says item {tuned.item_accuracy}% / wrong {tuned.wrong_rate}%, the baseline "
                f"scores {d['item_accuracy']}% / {d['wrong_auto_answer_rate']}%: benchmarks/baselines.py has changed"
            )
    # Dialogue turns need the matcher itself (context); no bundled dialogue turn is in the training file.
    matchers = {systems[0][0]: matcher, systems[1][0]: matcher, systems[2][0]: rules}
    others = []
    for other in args.holdout:
        if other.exists() and other.resolve() != args.set.resolve():
            hcases = _cases(other)
            others.append(
                (
                    other,
                    len(hcases),
                    [
                        (label, measure_set(label, predict, hcases, args.repeat, matchers.get(label)))
                        for label, predict in systems
                    ],
                )
            )

    # Targets.
    m, u, _rules, f, b = (r.to_dict() for _, r in dev)
    on = "dev set" if args.set.resolve() == DEFAULT_SET.resolve() else args.set.name
    checks: list[tuple[str, str, str, bool]] = [
        (
            f"Item accuracy ({on}, never trained on)",
            f"≥ {T_ITEM:g}%",
            _pct(u["item_accuracy"]),
            u["item_accuracy"] >= T_ITEM,
        ),
        (
            f"Intent accuracy ({on}, never trained on)",
            f"≥ {T_INTENT:g}%",
            _pct(u["intent_accuracy"]),
            u["intent_accuracy"] >= T_INTENT,
        ),
        (
            f"Wrong auto-answer, of the automatic answers ({on}, never trained on)",
            f"≤ {T_WRONG:g}%",
            _pct(u["wrong_of_answered_rate"]),
            u["wrong_of_answered_rate"] <= T_WRONG,
        ),
        (
            f"Out-of-scope handoff ({on}, never trained on)",
            f"≥ {T_OOS:g}%",
            _pct(u["out_of_scope_handoff_rate"]),
            u["out_of_scope_handoff_rate"] >= T_OOS,
        ),
    ]
    for name, d in (("rapidfuzz", f), ("BM25", b)):
        lead = round(u["item_accuracy"] - d["item_accuracy"], 1)
        checks.append((f"Item accuracy lead over {name}", f"≥ {T_LEAD:g} pts", f"{lead:+.1f} pts", lead >= T_LEAD))
        checks.append(
            (
                f"Wrong auto-answer below {name}",
                f"< {_pct(d['wrong_auto_answer_rate'])}",
                _pct(u["wrong_auto_answer_rate"]),
                u["wrong_auto_answer_rate"] < d["wrong_auto_answer_rate"],
            )
        )
    checks.append(
        (
            f"p99 latency, bundled KB ({on})",
            f"≤ {T_P99_BUNDLED_MS:g} ms",
            f"{m['latency_p99_ms']:.2f} ms",
            m["latency_p99_ms"] <= T_P99_BUNDLED_MS,
        )
    )
    if memory_synth is not None:
        checks.append(
            (
                f"p99 latency, {args.faq:,} FAQ KB",
                f"≤ {T_P99_SYNTHETIC_MS:g} ms",
                f"{memory_synth['p99_ms']:.2f} ms",
                memory_synth["p99_ms"] <= T_P99_SYNTHETIC_MS,
            )
        )
    # The target is judged on the cold start-up (training included) of the bundled knowledge base; the
    # others are shown against the same figure.
    for label, start in (("bundled KB", start_bundled), (f"{args.faq:,} FAQ KB", start_synth)):
        if start is None:
            continue
        for kind, words in (("cold", "cold, training included"), ("warm", "warm, model file read")):
            checks.append(
                (
                    f"Start-up, {label}, {words} (worst run)",
                    f"≤ {T_STARTUP_S:g} s",
                    f"{start[kind]['max_total_s']:.2f} s",
                    start[kind]["max_total_s"] <= T_STARTUP_S,
                )
            )

    # Output.
    md = args.markdown
    out: list[str] = []
    out.append(
        render_table(
            f"Table 1. Matcher vs baselines on the labelled set ({args.set.name}, {len(cases)} questions, "
            f"{sum(c.item is None for c in cases)} out of scope or vague)",
            TABLE1_HEADER,
            _table1_rows(dev),
            md,
        )
    )
    for letter, (other, n, reports) in zip("bcdefg", others):
        note = SET_NOTES.get(other.name, "")
        out.append(
            render_table(
                f"Table 1{letter}. {other.name} ({n} questions{'; ' + note if note else ''}; baseline cut-offs as tuned on "
                f"{args.set.name})",
                TABLE1_HEADER,
                _table1_rows(reports),
                md,
            )
        )

    rows2 = []
    for label, start, mem in (
        ("bundled", start_bundled, memory_bundled),
        (f"synthetic +{args.faq:,} FAQ", start_synth, memory_synth),
    ):
        if start is None or mem is None:
            continue
        cold, warm = start["cold"], start["warm"]
        rows2.append(
            [
                label,
                str(mem["items"]),
                f"{mem['faq']:,}",
                f"{cold['load_s']:.3f}",
                f"{cold['model_s']:.3f}",
                f"{cold['total_s']:.3f} / {cold['max_total_s']:.3f}",
                f"{warm['model_s']:.3f}",
                f"{warm['total_s']:.3f} / {warm['max_total_s']:.3f}",
                f"{mem['calls']:,}",
                _ms(mem["p50_ms"]),
                _ms(mem["p99_ms"]),
                f"{mem['trace_peak_mib']:.1f}",
                f"{mem['trace_net_mib']:.1f}",
                f"{mem['rss_mib']:.0f}",
                f"{_pct(mem['set_item_accuracy'])} / {_pct(mem['set_wrong_rate'])}",
            ]
        )
    out.append(
        render_table(
            "Table 2. Start-up (cold: no model file; warm: the model file read), latency and memory of the steward matcher",
            [
                "Knowledge base",
                "Items",
                "FAQ",
                "Load s",
                "Cold: train + write s",
                "Cold start-up s (median / worst)",
                "Warm: read model s",
                "Warm start-up s (median / worst)",
                "Timed calls",
                "p50 ms",
                "p99 ms",
                "Build peak MiB",
                "Build net MiB",
                "Peak RSS MiB",
                f"{on}: item acc. / wrong",
            ],
            rows2,
            md,
        )
    )

    out.append(
        render_table(
            "Targets",
            ["Target", "Required", "Measured", "Result"],
            [[n, r, v, "PASS" if ok else "FAIL"] for n, r, v, ok in checks],
            md,
        )
    )

    share = min([*CPU_SHARES, memory_bundled["cpu_share"], *([memory_synth["cpu_share"]] if memory_synth else [])])
    matcher_report = dev[0][1]
    clarified = sum(p.action == "clarify" for p in matcher_report.predictions)
    clarified_right = sum(p.action == "clarify" and p.item == c.item for p, c in zip(matcher_report.predictions, cases))
    notes = [
        (
            f"Baseline cut-offs tuned on {args.set.name} to each baseline's own best item accuracy (ties: lower wrong rate, "
            f"then stricter): rapidfuzz WRatio ≥ {fuzz_tuned.cutoff:g} (shipped default {fuzz_tuned.default:g}: item "
            f"{_pct(fuzz_tuned.default_item_accuracy)}, wrong {_pct(fuzz_tuned.default_wrong_rate)}); BM25 ≥ "
            f"{bm25_tuned.cutoff:g} (shipped default {bm25_tuned.default:g}: item {_pct(bm25_tuned.default_item_accuracy)}, "
            f"wrong {_pct(bm25_tuned.default_wrong_rate)}). Tuning on the scored set favours the baselines."
        ),
        (
            "Item accuracy counts a hand-off on an out-of-scope question as correct, and a clarify whose top candidate is "
            f"right as correct (the matcher clarified {clarified} questions of {args.set.name}, {clarified_right} with the right top candidate); the baselines only answer or "
            "hand off. The baselines' intent comes from the steward's own intent detector (without item-name spans)."
        ),
        (
            f"Latency: one untimed warm-up pass, then {args.repeat} timed pass{'es' if args.repeat != 1 else ''}; p50/p99 over every timed call; the "
            "normaliser's cache is cleared before each call. Table 2 queries each KB with the labelled questions plus "
            f"{GENERATED_QUERIES} generated ones."
        ),
        "Start-up: load_knowledge + model_for(kb, model file) + the follow-up gate + Matcher(kb, model=...) + reading the "
        "question reader's turns, as the bot starts; the reader's training, which the bot runs in a thread from its "
        "post_init while it connects to Telegram, is timed apart (a message with no question mark before it is ready "
        f"waits for it): cold {start_bundled['cold']['reader_s']:.2f} / {start_bundled['cold']['max_reader_s']:.2f} s, "
        f"warm {start_bundled['warm']['reader_s']:.2f} / {start_bundled['warm']['max_reader_s']:.2f} s bundled (median / "
        "worst); the doubt of kept answers, trained when the first answer taken from a conversation needs it (which "
        "waits for it), timed from the end of the start-up beside the reader's: cold "
        f"{start_bundled['cold']['doubt_s']:.2f} / {start_bundled['cold']['max_doubt_s']:.2f} s, warm "
        f"{start_bundled['warm']['doubt_s']:.2f} / {start_bundled['warm']['max_doubt_s']:.2f} s; cold: no model "
        "file, so the model is trained and the file written (a fresh folder each run); warm: the next process reads the "
        f"file the cold one wrote, after checking its fingerprint against the data. {args.startup_runs} cold and "
        f"{args.startup_runs} warm fresh process{'es' if args.startup_runs != 1 else ''} per KB (imports, "
        f"~{start_bundled['cold']['import_s']:.2f} s including scikit-learn's, not included). CPU time of the same "
        f"start-ups (median, every thread; the wall time on an idle machine is about this or less, as the item model "
        f"trains in a thread): cold {start_bundled['cold']['cpu_s']:.2f} s, warm {start_bundled['warm']['cpu_s']:.2f} s "
        "bundled"
        + (
            f", cold {start_synth['cold']['cpu_s']:.2f} s, warm {start_synth['warm']['cpu_s']:.2f} s with {args.faq:,} FAQ"
            if start_synth
            else ""
        )
        + (
            "; the synthetic KB is written as YAML and loaded from files, as an operator's large KB would be."
            if args.faq
            else "."
        ),
        (
            "The never-trained row predicts each bundled labelled question with a model trained on the other 4 of 5 folds "
            "(and any other question with the shipped model, which never saw it); the steward row uses the shipped model, "
            "which trained on the train split of every set but blind-written new sets. The rule matcher uses the same exact "
            "evidence and the cue file read as ordered rules (first specific cue wins), as before the model; its cues were "
            "tuned on every bundled set."
        ),
        "Memory: tracemalloc peak and net retained while building Matcher.trained(kb) (training included) in a fresh process (net includes the "
        f"normaliser's lru_cache filled by the build: without it {memory_bundled['trace_net_without_cache_mib']:.1f} MiB"
        + (f" bundled, {memory_synth['trace_net_without_cache_mib']:.1f} MiB synthetic" if memory_synth else "")
        + "); peak RSS is ru_maxrss of that process.",
        f"Whole benchmark: {time.perf_counter() - wall:.1f} s on {os.cpu_count()} CPUs. The timed loops got at least "
        f"{share:.0%} of a CPU"
        + (
            " — other processes competed for the CPU, so latencies are inflated; rerun on an idle machine."
            if share < 0.9
            else "."
        ),
    ]
    if md:
        out.append("\n".join(f"- {n}" for n in notes))
    else:
        out.append("Notes\n" + "\n".join(f"* {n}" for n in notes))
    print("\n\n".join(out))
    failed = [n for n, _, _, ok in checks if not ok]
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Validate Steward labelled question sets (devset.jsonl, holdout.jsonl)."""

import json
import re
import sys
import unicodedata
from collections import Counter

DOMAIN = "/work/shared/DOMAIN.md"
DATA = "/work/main/tests/data"
INTENTS = {"materials", "department", "time_limit", "process", "fee", "tolerance", "status", "other"}
STYLES = {
    "colloquial",
    "long",
    "abbrev",
    "typo",
    "traditional",
    "latin",
    "emoji",
    "indirect",
    "mixed",
    "oos",
    "vague",
    "greeting",
}
NULL_STYLES = {"oos", "vague", "greeting"}
errors = []

with open(DOMAIN, encoding="utf-8") as domain:
    keys = [m.group(1) for m in re.finditer(r"^\| ([a-z_]+) \|", domain.read(), re.M) if m.group(1) != "key"]
assert len(keys) == 35, f"expected 29 items + 6 topics, got {len(keys)}"
KEYS = set(keys)


def load(fn):
    rows = []
    with open(f"{DATA}/{fn}", encoding="utf-8") as f:
        lines = f.read().splitlines()
    for i, ln in enumerate(lines, 1):
        try:
            r = json.loads(ln)
        except json.JSONDecodeError as e:
            errors.append(f"{fn}:{i} bad JSON: {e}")
            continue
        if set(r) != {"q", "item", "intent", "style"}:
            errors.append(f"{fn}:{i} wrong fields {sorted(r)}")
        if not isinstance(r.get("q"), str) or not r["q"].strip():
            errors.append(f"{fn}:{i} empty q")
        if r.get("item") is not None and r.get("item") not in KEYS:
            errors.append(f"{fn}:{i} bad item {r.get('item')!r}")
        if r.get("intent") not in INTENTS:
            errors.append(f"{fn}:{i} bad intent {r.get('intent')!r}")
        if r.get("style") not in STYLES:
            errors.append(f"{fn}:{i} bad style {r.get('style')!r}")
        if r.get("item") is None and r.get("style") not in NULL_STYLES | {"mixed"}:
            errors.append(f"{fn}:{i} null item with style {r.get('style')}")
        if r.get("item") is not None and r.get("style") in NULL_STYLES:
            errors.append(f"{fn}:{i} item {r['item']} with style {r['style']}")
        r["_loc"] = f"{fn}:{i}"
        rows.append(r)
    return rows


def norm(q):
    q = unicodedata.normalize("NFKC", q).lower()
    return "".join(c for c in q if unicodedata.category(c)[0] in "LNS")


def need(cond, msg):
    if not cond:
        errors.append(msg)


dev, hold = load("devset.jsonl"), load("holdout.jsonl")


def report(name, rows):
    st = Counter(r["style"] for r in rows)
    it = Counter(r["intent"] for r in rows)
    nul = sum(r["item"] is None for r in rows)
    print(f"== {name}: {len(rows)} lines, item=null: {nul}")
    print("  styles :", dict(st.most_common()))
    print("  intents:", dict(it.most_common()))
    return st, it, nul


# dev requirements
st, it, nul = report("devset", dev)
need(len(dev) >= 240, f"devset has {len(dev)} < 240 lines")
per_key = Counter(r["item"] for r in dev if r["item"])
for k in keys:
    need(per_key[k] >= 4, f"devset: key {k} appears {per_key[k]} < 4 times")
    n_int = len({r["intent"] for r in dev if r["item"] == k})
    need(n_int >= 3, f"devset: key {k} has only {n_int} distinct intents")
for s, m in {"typo": 20, "traditional": 15, "latin": 15, "emoji": 10, "long": 20, "indirect": 20}.items():
    need(st[s] >= m, f"devset: style {s} {st[s]} < {m}")
need(st["abbrev"] + st["colloquial"] >= 40, "devset: abbrev+colloquial < 40")
need(nul >= 40, f"devset: only {nul} null-item lines")
for s in NULL_STYLES:
    need(st[s] >= 3, f"devset: too few {s} lines")
item_int = Counter(r["intent"] for r in dev if r["item"])
main4 = min(item_int[i] for i in ("materials", "department", "time_limit", "process"))
minor = max(item_int[i] for i in ("fee", "tolerance", "status", "other"))
need(main4 > minor, f"devset: main intents not most common {dict(item_int)}")

# holdout requirements
hst, hit, hnul = report("holdout", hold)
need(80 <= len(hold) <= 120, f"holdout has {len(hold)} lines, want about 100")
hper = Counter(r["item"] for r in hold if r["item"])
for k in keys:
    need(hper[k] >= 2, f"holdout: key {k} appears {hper[k]} < 2 times")
need(hnul >= 15, f"holdout: only {hnul} null-item lines")
for s in ("typo", "traditional", "latin", "emoji", "long", "indirect", "oos", "vague", "greeting"):
    need(hst[s] >= 2, f"holdout: too few {s} lines")

# duplicates within / across files (after normalisation)
seen: dict[str, str] = {}
for r in dev + hold:
    n = norm(r["q"]) or r["q"]
    if n in seen:
        errors.append(f"duplicate question {r['q']!r} at {r['_loc']} and {seen[n]}")
    else:
        seen[n] = r["_loc"]


# near-duplicates holdout vs dev (character-bigram Jaccard)
def grams(q):
    n = norm(q)
    return {n[i : i + 2] for i in range(len(n) - 1)} or {n}


dg = [(r, grams(r["q"])) for r in dev]
for h in hold:
    hg = grams(h["q"])
    for d, g in dg:
        j = len(hg & g) / len(hg | g)
        if j >= 0.5 and len(hg) > 2:
            errors.append(f"near-duplicate ({j:.2f}): holdout {h['q']!r} ~ dev {d['q']!r}")

if errors:
    print("\nFAIL")
    for e in errors:
        print(" -", e)
    sys.exit(1)
print("\nOK")

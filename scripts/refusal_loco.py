"""Choose the refusal threshold's quantile and margin across corpora, leave one out.

The threshold for a language is ``quantile(support of the off-topic probes) + margin``
(assistant/answer/refusal.py). This script measures, on each eval chapter indexed alone and
on the 12-chapter union, the support of every probe and of every question and whether the
rules refuse it, then for each candidate (quantile, margin) counts refusals: each
unanswerable question refused counts +1 (off-topic ones ``--off-weight`` times), each
answerable one refused -1. Leave-one-chapter-out: the candidate best on eleven chapters is
scored on the twelfth, both with the chapters indexed alone and with their questions on the
union index. Run from the repository root (takes a while: every chapter is indexed):

    .venv/bin/python scripts/refusal_loco.py [--off-weight 2] [--out results.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.answer.refusal import by_pair, heading_questions, support
from assistant.evaluation.union import UNION, UnionBed, set_of
from assistant.settings import Settings
from assistant.text import detect_language

QUANTILES = (1.0, 0.95, 0.9, 0.8)
MARGINS = tuple(round(m, 4) for m in np.arange(-0.03, 0.0301, 0.0025))


def collect(assistant, questions) -> dict:
    """Probe supports per language pair, heading-question supports, and per question its
    language, kind, support per sentence language and whether the rules refuse it."""
    answers = assistant.answers
    policy = answers.policy
    bank = policy.bank
    rules = replace(policy, thresholds=None)
    off = by_pair(
        [
            (lang, support(answers.evidence(q), bank, n))
            for n, (lang, q) in enumerate(bank.questions)
        ]
    )
    headings = heading_questions(assistant.index.chunks)
    own = by_pair([(lang, support(answers.evidence(q), bank)) for lang, q in headings])
    rows = []
    for q in questions:
        ev = answers.evidence(q.question)
        ruled = rules.refusal(ev, [unit for unit, _ in answers.choose(ev)]) is not None
        kind = "A" if q.answerable else ("O" if "off-topic" in q.tags else "N")
        value = support(ev, bank) if ev.scored else {}
        rows.append(
            {
                "set": set_of(q.id),
                "lang": detect_language(q.question),
                "kind": kind,
                "ruled": ruled,
                "support": value,
            }
        )
    return {"off": off, "own": own, "rows": rows}


def thresholds(data: dict, quantile: float, margin: float) -> dict[str, float]:
    """Per ``question/sentence`` language pair, as :func:`threshold_rule` computes them."""
    out = {}
    for pair, values in data["off"].items():
        if len(values) < 10:
            continue
        threshold = float(np.quantile(values, quantile)) + margin
        own = data["own"].get(pair, [])
        if pair.split("/")[0] == pair.split("/")[1] and len(own) >= 5:
            threshold = min(threshold, float(np.percentile(own, 10)))
        out[pair] = threshold
    return out


def count(rows: list[dict], limits: dict[str, float]) -> dict[str, int]:
    out = dict.fromkeys(("A", "O", "N", "A_refused", "O_refused", "N_refused"), 0)
    for row in rows:
        cleared = [
            value >= limits[f"{row['lang']}/{lang}"]
            for lang, value in row["support"].items()
            if f"{row['lang']}/{lang}" in limits
        ]
        refused = row["ruled"] or not any(cleared)
        out[row["kind"]] += 1
        out[f"{row['kind']}_refused"] += refused
    return out


def utility(c: dict[str, int], off_weight: float) -> float:
    return off_weight * c["O_refused"] + c["N_refused"] - c["A_refused"]


def loco(per_set: dict[str, dict], sets: list[str], off_weight: float) -> tuple[list, dict]:
    """``per_set[set][(q, m)]`` counts → the held-out rows and their total."""
    grid = list(itertools.product(QUANTILES, MARGINS))
    held, total = [], dict.fromkeys(("A", "O", "N", "A_refused", "O_refused", "N_refused"), 0)
    for name in sets:
        others = [s for s in sets if s != name]
        best = max(
            grid,
            key=lambda g: (sum(utility(per_set[s][g], off_weight) for s in others), -abs(g[1])),
        )
        c = per_set[name][best]
        held.append((name, best, c))
        for key in total:
            total[key] += c[key]
    return held, total


def fmt(c: dict[str, int]) -> str:
    return (
        f"off-topic {c['O_refused']}/{c['O']}, near misses {c['N_refused']}/{c['N']}, "
        f"answerable refused {c['A_refused']}/{c['A']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--off-weight", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    bed = UnionBed(Settings())
    bed.build()
    questions = bed.questions()
    data = {
        name: collect(a, [q for q in questions if set_of(q.id) == name])
        for name, a in bed.alone().items()
    }
    data[UNION] = collect(bed.assistant, questions)
    if args.out:
        args.out.write_text(json.dumps(data))
    sets = [name for name in data if name != UNION]
    grid = list(itertools.product(QUANTILES, MARGINS))
    alone = {s: {g: count(data[s]["rows"], thresholds(data[s], *g)) for g in grid} for s in sets}
    limits = {g: thresholds(data[UNION], *g) for g in grid}
    union = {
        s: {g: count([r for r in data[UNION]["rows"] if r["set"] == s], limits[g]) for g in grid}
        for s in sets
    }
    for title, per_set in (("each chapter indexed alone", alone), ("on the union index", union)):
        held, total = loco(per_set, sets, args.off_weight)
        print(f"{title}, leave one chapter out (quantile, margin fitted on the other eleven):")
        for name, (q, m), c in held:
            print(f"  {name:10} q={q} m={m:+.4f}: {fmt(c)}")
        print(f"  held-out total: {fmt(total)}")
    for q, m in [(0.95, 0.0)]:
        print(f"union with q={q} m={m}: {fmt(count(data[UNION]['rows'], limits[(q, m)]))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

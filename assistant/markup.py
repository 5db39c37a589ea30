"""Text made safe to show and to take away: Markdown → inert HTML, Markdown and BibTeX escapes.

Answer and corpus text may hold anything (an LLM's reply, a hostile chapter). Rendered by
:func:`render_markdown`, raw HTML is escaped, images are not loaded and only ``http(s)``
links stay links (they open in a new tab); everything else shows as text. Spans of the
source can be marked before rendering (:func:`insert_marks`) and wrapped after it
(:func:`wrap_marks`) without breaking the HTML: a mark that crosses elements (a table row's
cells) becomes one ``<mark>`` per text run.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

SAFE_URL = re.compile(r"^https?://[^\s<>\"'`]+$", re.IGNORECASE)
ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}")
"""A canonical arXiv ID (new style, or old style with its archive)."""
ARXIV_REF = re.compile(
    r"(?<![\[\w/])arXiv:\s?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?![\]\w])",
    re.IGNORECASE,
)
"""``arXiv:ID`` written in running text (not already a link's text)."""
ARXIV_ABS = "https://arxiv.org/abs/{}"

_PRIVATE = re.compile("[\ue000-\uf8ff]")
_OPEN = 0xE100
_MAX_MARKS = 0x700
_CLOSE = "\ue001"
_OPENS = f"{chr(_OPEN)}-{chr(_OPEN + _MAX_MARKS - 1)}"
_MARKED = re.compile(f"([{_OPENS}])(.*?){_CLOSE}", re.DOTALL)
_STRAY = re.compile(f"[{_CLOSE}{_OPENS}]")
_TAG = re.compile(r"(<[^>]*>)")


def esc(value: object) -> str:
    """HTML-escape anything for markup we write ourselves."""
    return html.escape(str(value), quote=True)


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) URL, else None (``javascript:``, ``data:``, …)."""
    if url and SAFE_URL.match(url.strip()):
        return url.strip()
    return None


def arxiv_url(arxiv_id: str | None) -> str | None:
    """The abstract page of a well-formed arXiv ID, else None (nothing is linked)."""
    if arxiv_id and ARXIV_ID.fullmatch(arxiv_id):
        return ARXIV_ABS.format(arxiv_id)
    return None


def strip_private(text: str) -> str:
    """``text`` without private-use characters, which mark spans while rendering."""
    return _PRIVATE.sub("", text)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    return md.enable(["table", "strikethrough"]).disable("image")


def _inert_links(children: list[Token]) -> list[Token]:
    """Links whose target is not http(s) become their text; the rest open in a new tab."""
    out: list[Token] = []
    dropped: list[bool] = []
    for token in children:
        if token.type == "link_open":
            url = safe_url(str(token.attrs.get("href", "")))
            dropped.append(url is None)
            if url is None:
                continue
            token.attrs = {"href": url, "target": "_blank", "rel": "noopener noreferrer"}
        elif token.type == "link_close" and dropped and dropped.pop():
            continue
        out.append(token)
    return out


def render_markdown(text: str) -> str:
    """Markdown → HTML with nothing active in it, on one line (``\\n`` as ``&#10;``, so the
    result stays one HTML block inside a Markdown message)."""
    md = _markdown()
    tokens = md.parse(text)
    for token in tokens:
        if token.type == "inline" and token.children:
            token.children = _inert_links(token.children)
    return md.renderer.render(tokens, md.options, {}).strip().replace("\n", "&#10;")


def insert_marks(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with span ``i`` of ``spans`` enclosed in private-use characters that survive
    rendering (spans must not overlap; empty ones are skipped)."""
    edits = sorted(
        (pos, order, mark)
        for i, (start, end) in enumerate(spans[:_MAX_MARKS])
        if end > start
        for pos, order, mark in ((start, 1, chr(_OPEN + i)), (end, 0, _CLOSE))
    )
    out, last = [], 0
    for pos, _order, mark in edits:
        out.append(text[last:pos])
        out.append(mark)
        last = pos
    out.append(text[last:])
    return "".join(out)


def wrap_runs(fragment: str, open_tag: Callable[[bool], str], close_tag: str) -> str:
    """Every text run of an HTML fragment wrapped in a tag (``open_tag(first)``), so the
    wrapping never crosses an element boundary."""
    parts, first = [], True
    for part in _TAG.split(fragment):
        if not part or part.startswith("<") or not part.replace("&#10;", "").strip():
            parts.append(part)
            continue
        parts.append(f"{open_tag(first)}{part}{close_tag}")
        first = False
    return "".join(parts)


def wrap_marks(rendered: str, wrap: Callable[[int, str], str]) -> str:
    """Rendered HTML with each span marked by :func:`insert_marks` replaced by
    ``wrap(i, fragment)``; marks that lost their pair are dropped."""
    return _STRAY.sub("", _MARKED.sub(lambda m: wrap(ord(m[1]) - _OPEN, m[2]), rendered))


# -- exports ---------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~])")
_BIB_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
}
_BIB_RE = re.compile("|".join(re.escape(c) for c in _BIB_SPECIAL))


def markdown_text(text: str) -> str:
    """Plain text written so that Markdown shows it as it is (no markup, no HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def inert_markdown(text: str) -> str:
    """Markdown that renders ``text`` without HTML, script links or remote images, keeping
    its lists, emphasis and http(s) links: ``<`` and ``&`` escaped, other link targets and
    images broken with a backslash; ``arXiv:ID`` mentions linked to the paper."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace("![", "!\\[")
    text = re.sub(r"\]\((?!\s*(?:&lt;)?https?://)", "]\\\\(", text, flags=re.IGNORECASE)
    text = re.sub(
        r"^([ \t]{0,3})\[([^\]\n]*)\]:(?!\s*(?:&lt;)?https?://)",
        r"\1\\[\2]:",
        text,
        flags=re.MULTILINE | re.IGNORECASE,
    )
    return ARXIV_REF.sub(lambda m: f"[arXiv:{m[1]}]({ARXIV_ABS.format(m[1])})", text)


def bibtex_text(text: str) -> str:
    """A BibTeX field value: LaTeX specials escaped, whitespace on one line."""
    return _BIB_RE.sub(lambda m: _BIB_SPECIAL[m[0]], " ".join(text.split()))

"""The chat UI: a Gradio Blocks app over :class:`assistant.interfaces.api.Assistant`.

This module only formats: questions go to ``Assistant.stream`` and everything shown comes
from the :class:`~assistant.models.Answer` it returns (text, citations, hits, timings).

Safety: answer text (from the corpus or an LLM) is made inert before Gradio renders it as
Markdown: ``<`` is escaped, so no HTML tag survives; links and images whose target is not
``http(s)://`` are defused. The sources and side panels are HTML we build ourselves, with
every value passed through :func:`html.escape` and only ``http(s)`` URLs linked. Gradio's
chatbot sanitiser runs on top of that, but ``gr.HTML`` does not sanitise at all, so the
escaping here is what keeps hostile text from running.
"""

from __future__ import annotations

import html
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from assistant.answer.probe import BackendStatus
from assistant.answer.units import render_inline
from assistant.errors import AssistantError
from assistant.ingest.audit import mislink_note
from assistant.models import ARXIV_ABS_URL, Answer, Citation, Hit
from assistant.prompts import phrase

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # (the environment above must be set before the import)

log = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "bm25")
SNIPPET_CONTEXT = 160
"""Characters of chunk text shown on each side of a cited span."""
MAX_AUTHORS = 3


class ChatBackend(Protocol):
    """What the UI needs from :class:`assistant.interfaces.api.Assistant` (tests pass a fake)."""

    settings: Any

    def stream(self, question: str, history: list[dict] | None = None, **kw: Any) -> Iterator:
        """Text deltas, then the final :class:`Answer`."""

    def info(self) -> dict[str, object]: ...

    def backend_status(self) -> BackendStatus: ...

    def sections(self) -> list: ...

    def build_index(self, rebuild: bool = False, progress: bool = True) -> Any: ...

    def prepare_answers(self, progress: bool = False) -> int: ...


@dataclass
class Turn:
    """One question of a conversation and what came back (kept in the session state)."""

    question: str
    partial: str = ""
    answer: Answer | None = None
    problem: str | None = None
    """One-line message when the question could not be answered at all."""


@dataclass
class Session:
    turns: list[Turn] = field(default_factory=list)


# -- making text inert -----------------------------------------------------------------------

_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`]+$", re.IGNORECASE)
_LINK_OPEN = re.compile(r"\]\(\s*(?:&lt;)?")
_REF_DEF = re.compile(r"^([ \t]{0,3})\[([^\]\n]*)\]:(?!\s*(?:&lt;)?https?://)", re.MULTILINE)
_MARKER = re.compile(r"(?<!\\)\[(\d{1,3})\](?![(:\[])")
_ARXIV_MENTION = re.compile(
    r"(?<![\[\w/])arXiv:\s?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?![\]\w])",
    re.IGNORECASE,
)
_HEADING_MARK = re.compile(r"^#+\s*", re.MULTILINE)


def esc(value: object) -> str:
    """HTML-escape anything for our own markup."""
    return html.escape(str(value), quote=True)


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) URL, else None (``javascript:``, ``data:``, …)."""
    if url and _SAFE_URL.match(url.strip()):
        return url.strip()
    return None


def safe_markdown(text: str) -> str:
    """Markdown that renders ``text`` without any HTML, script link or remote image.

    ``<`` and ``&`` are escaped everywhere (code spans included: a code span is not worth
    the risk of our idea of one differing from the renderer's); an inline link or
    reference definition whose target is not http(s) is broken with a backslash so it
    shows as text; images are never loaded. Citation markers ``[n]`` become badges and
    ``arXiv:ID`` mentions links to the paper.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    text = text.replace("![", "!\\[")

    def link(match: re.Match[str]) -> str:
        rest = text[match.end() : match.end() + 8].lower()
        return match.group(0) if rest.startswith(("http://", "https:/")) else "]\\("

    text = _LINK_OPEN.sub(link, text)
    text = _REF_DEF.sub(r"\1\\[\2]:", text)
    text = _ARXIV_MENTION.sub(lambda m: f"[arXiv:{m[1]}]({ARXIV_ABS_URL.format(m[1])})", text)
    return _MARKER.sub(r'<span class="cite">\1</span>', text)


def plain(text: str) -> str:
    """Chunk Markdown as one line of text, written the way quotes are: links → their
    text, arXiv links → ``anchor (arXiv:ID)``, no emphasis or heading marks."""
    return render_inline(_HEADING_MARK.sub("", text))[0]


def _link_arxiv(escaped: str) -> str:
    """``arXiv:ID`` mentions in already escaped text → links to the paper."""

    def link(m: re.Match[str]) -> str:
        url = esc(ARXIV_ABS_URL.format(m[1]))
        return f'<a href="{url}" target="_blank" rel="noopener noreferrer">{m[0]}</a>'

    return _ARXIV_MENTION.sub(link, escaped)


def _tail(text: str, n: int) -> str:
    """The last ``n`` characters, starting at a word if one starts near the cut."""
    if len(text) <= n:
        return text
    cut = text[-n:]
    space = cut.find(" ")
    return "…" + (cut[space + 1 :] if 0 <= space < 20 else cut)


def _head(text: str, n: int) -> str:
    if len(text) <= n:
        return text
    cut = text[:n]
    space = cut.rfind(" ")
    return (cut[:space] if space > n - 20 else cut) + "…"


# -- answers and their sources -----------------------------------------------------------------


def snippet_html(chunk_text: str, quote: str, context: int = SNIPPET_CONTEXT) -> str:
    """The chunk around ``quote`` with the quote highlighted, escaped, on one line."""
    text = plain(chunk_text)
    quote = plain(quote)
    at = text.find(quote) if quote else -1
    if at < 0:
        if quote:
            return f"<mark>{_link_arxiv(esc(quote))}</mark>"
        return _link_arxiv(esc(_head(text, 2 * context)))
    before = _tail(text[:at], context)
    after = _head(text[at + len(quote) :], context)
    return _link_arxiv(f"{esc(before)}<mark>{esc(quote)}</mark>{esc(after)}")


def _authors(authors: Sequence[str]) -> str:
    names = [" ".join(a.split()) for a in authors]
    shown = ", ".join(names[:MAX_AUTHORS])
    return shown + (" et al." if len(names) > MAX_AUTHORS else "")


def audit_note(citation: Citation, hit: Hit | None) -> str | None:
    """Why the link audit doubts this source's arXiv link, if it does: the answer
    pipeline's :attr:`Citation.flagged`, else the audit's note on the cited chunk."""
    if citation.flagged:
        return " ".join(citation.flagged.split())
    return mislink_note(hit.chunk) if hit else None


def source_html(citation: Citation, hits_by_id: dict[str, Hit]) -> str:
    """One source card: marker badge, section or paper, snippet with the cited span."""
    hit = hits_by_id.get(citation.chunk_id)
    text = hit.chunk.text if hit else ""
    title = hit.chunk.title if hit else None
    if title and text.startswith(title) and plain(citation.quote) not in plain(title):
        text = text[len(title) :]  # an abstract chunk: its title is already in the head
    snippet = snippet_html(text, citation.quote)
    marker = f'<span class="marker">{int(citation.marker)}</span>'
    note = audit_note(citation, hit)
    flag = f'<span class="flag">⚠ link audit: {esc(note)}</span>' if note else ""
    if citation.kind == "arxiv":
        arxiv_id = citation.arxiv_id or ""
        url = safe_url(citation.url) or safe_url(ARXIV_ABS_URL.format(arxiv_id))
        ident = esc(f"arXiv:{arxiv_id}")
        if url:
            ident = f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{ident}</a>'
        title = esc(citation.title or "")
        head = f'<span class="ident">{ident}</span> <span class="title">{title}</span>'
        if citation.authors:
            head += f' <span class="authors">{esc(_authors(citation.authors))}</span>'
    else:
        number = citation.section or ""
        ident = f"§{number}" if number[:1].isdigit() else "§"
        head = (
            f'<span class="ident">{esc(ident)}</span> '
            f'<span class="title">{esc(citation.section_title or number)}</span>'
        )
    return (
        f'<div class="src src-{esc(citation.kind)}">{marker}<div class="src-body">'
        f'<div class="src-head">{head}{flag}</div>'
        f'<div class="snippet">{snippet}</div></div></div>'
    )


def sources_html(answer: Answer) -> str:
    """All citations of an answer as one HTML block (no newlines: Markdown keeps it whole)."""
    if not answer.citations:
        return ""
    hits_by_id = {h.chunk.id: h for h in answer.hits}
    cards = "".join(source_html(c, hits_by_id) for c in answer.citations)
    return f'<div class="sources"><div class="sources-label">Sources</div>{cards}</div>'


def _ms(timings: dict[str, float]) -> dict[str, float]:
    """Stage → milliseconds, whether keys are ``total`` or ``total_ms``."""
    return {k.removesuffix("_ms"): v for k, v in timings.items()}


def footer_html(answer: Answer) -> str:
    """Backend, grounding and total time in small print; stage timings on hover."""
    parts = ["extractive" if answer.backend == "none" else answer.backend]
    if answer.refused:
        parts.append("not covered by the survey")
    elif answer.citations:
        parts.append(f"grounded {answer.grounded:.0%}")
    timings = _ms(answer.timings)
    total = timings.get("total")
    if total is not None:
        parts.append(f"{total / 1000:.1f} s" if total >= 1000 else f"{total:.0f} ms")
    detail = " · ".join(f"{k} {v:.0f} ms" for k, v in timings.items() if k != "total")
    return f'<div class="meta" title="{esc(detail)}">{esc(" · ".join(parts))}</div>'


def split_notices(answer: Answer) -> tuple[str, str | None]:
    """The answer body and the pipeline's fixed "no LLM configured" notice, if present.

    The notice (and the lead-in of a failed LLM, which the warning line replaces) are
    fixed sentences from :mod:`assistant.prompts`; taking them out of the body lets the
    page show them quietly instead of as part of the answer.
    """
    text = answer.text.strip()
    notice = None
    for language in ("zh", "en"):
        if answer.error:
            lead = phrase("fallback", language, error=answer.error)
            if text.startswith(lead):
                text = text[len(lead) :].lstrip()
        tail = phrase("no_llm", language)
        if text.endswith(tail):
            text, notice = text[: -len(tail)].rstrip(), tail
    return text, notice


def warn_line(text: str) -> str:
    """A one-line warning (cut with an ellipsis on screen; the whole text on hover)."""
    line = " ".join(text.split())
    return f'<div class="warn" title="{esc(line)}">⚠ {esc(line)}</div>'


def answer_content(answer: Answer) -> str:
    """The chat message for a finished answer: warning, text, sources, small print."""
    blocks = []
    if answer.error:
        error = " ".join(answer.error.split())
        lead = "Showing quoted passages instead — " if answer.fallback else ""
        blocks.append(warn_line(f"{lead}{error}"))
    body, notice = split_notices(answer)
    blocks.append(safe_markdown(body))
    sources = sources_html(answer)
    if sources:
        blocks.append(sources)
    if notice:
        blocks.append(f'<div class="note">{esc(notice)}</div>')
    blocks.append(footer_html(answer))
    return "\n\n".join(blocks)


def turn_content(turn: Turn) -> str:
    if turn.answer is not None:
        return answer_content(turn.answer)
    if turn.problem is not None:
        return warn_line(turn.problem)
    if turn.partial:
        return safe_markdown(turn.partial) + ' <span class="caret">▍</span>'
    return '<span class="pending">Searching the survey…</span>'


def chat_messages(session: Session) -> list[dict[str, str]]:
    """The Chatbot's value: user and assistant messages, rendered from the session."""
    messages = []
    for turn in session.turns:
        messages.append({"role": "user", "content": safe_markdown(turn.question)})
        messages.append({"role": "assistant", "content": turn_content(turn)})
    return messages


def conversation(session: Session) -> list[dict[str, str]]:
    """History for follow-ups: the plain question and answer texts of finished turns."""
    history = []
    for turn in session.turns:
        if turn.answer is None:
            continue
        history.append({"role": "user", "content": turn.question})
        history.append({"role": "assistant", "content": turn.answer.text})
    return history


def hits_html(hits: Sequence[Hit]) -> str:
    """What retrieval found for the latest question, with scores and retrievers."""
    if not hits:
        return '<p class="muted">Nothing retrieved yet.</p>'
    rows = []
    for hit in hits:
        chunk = hit.chunk
        found = ", ".join(f"{esc(name)} #{int(rank)}" for name, rank in hit.retrievers.items())
        text = plain(chunk.text)
        short = text[:280] + ("…" if len(text) > 280 else "")
        rows.append(
            f'<div class="hit"><div class="hit-head"><b>{int(hit.rank)}.</b> '
            f'{esc(chunk.label)} <span class="muted">score {hit.score:.4f} · {found}</span>'
            f'</div><div class="snippet">{esc(short)}</div></div>'
        )
    return "".join(rows)


# -- side panel ----------------------------------------------------------------------------------


def _when(stamp: object) -> str:
    try:
        return datetime.fromisoformat(str(stamp)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(stamp)


def _facts(rows: Sequence[tuple[str, object]]) -> str:
    cells = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    return f'<dl class="facts">{cells}</dl>'


def index_html(info: dict[str, object]) -> str:
    """Index facts from :meth:`Assistant.info`."""
    manifest = info.get("manifest")
    if not isinstance(manifest, dict):
        return (
            '<p class="warn">No index yet: press <b>Re-index</b> '
            "or run <code>python -m assistant index</code>.</p>"
        )
    return _facts(
        [
            (
                "chunks",
                f"{manifest.get('chunks')} ({manifest.get('sections')} section, "
                f"{manifest.get('abstracts')} abstract)",
            ),
            ("embedder", f"{manifest.get('embedder')} · dim {manifest.get('dim')}"),
            ("corpus", str(manifest.get("corpus_hash", ""))[:12]),
            ("built", _when(manifest.get("built_at", ""))),
        ]
    )


def backend_html(status: BackendStatus, last: Answer | None = None) -> str:
    """Which LLM answers and whether it does: the probe's verdict at page load, then how
    the last question went."""
    if status.state == "extractive":
        return (
            '<p class="backend"><span class="dot off"></span> <b>Extractive</b> — no LLM '
            "configured; answers quote the best passages.</p>"
            '<p class="muted">Set <code>ASSISTANT_LLM_BACKEND</code> to '
            "<code>openai-compatible</code> or <code>ollama</code> to add one.</p>"
        )
    if last is not None and last.error:
        state, note = "down", f"failed on the last question: {' '.join(last.error.split())}"
    elif last is not None and last.backend == status.backend:
        state, note = "on", "answered the last question"
    elif status.state == "reachable":
        state, note = "on", "reachable"
    elif status.state == "misconfigured":
        state, note = "down", f"not configured: {status.detail}"
    else:
        state = "down"
        note = f"unreachable ({status.detail}); answers fall back to quoted passages"
    return (
        f'<p class="backend"><span class="dot {state}"></span> <b>{esc(status.backend)}</b> · '
        f"{esc(status.model or 'no model set')}</p>"
        f'<p class="muted">{esc(status.where or "")}</p>'
        f'<p class="muted clip" title="{esc(note)}">{esc(note)}</p>'
    )


def example_questions(sections: Sequence[Any], configured: Sequence[str] = ()) -> list[str]:
    """Configured examples, else two Chinese and two English ones made from section titles.

    Picks the sections with the most text and the most linked papers so the examples
    show both kinds of source, whatever the corpus.
    """
    if configured:
        return list(configured)
    filled = [s for s in sections if getattr(s, "chunks", 0) > 0 and getattr(s, "title", "")]
    if not filled:
        return ["这份综述的主要结论是什么？", "What are the main trends this survey identifies?"]

    def name(s: Any) -> str:
        return f"§{s.section} {s.title}" if str(s.section)[:1].isdigit() else s.title

    by_text = sorted(filled, key=lambda s: -s.chunks)
    by_links = sorted(filled, key=lambda s: -len(s.arxiv_ids))
    linked = by_links[0] if by_links[0].arxiv_ids else by_text[-1]
    other = next((s for s in by_text if s is not linked), by_text[0])
    return [
        f"「{other.title}」这一节的要点是什么？",
        f"{linked.title}方面，综述提到了哪些代表性工作？",
        f"Which papers does the survey cite in {name(linked)}, and what do they propose?",
        f"What are the key points of {name(other)}?",
    ]


# -- the app --------------------------------------------------------------------------------------

CSS = """
.gradio-container { font-family: ui-sans-serif, system-ui, "Noto Sans CJK SC",
  "WenQuanYi Zen Hei", "PingFang SC", "Microsoft YaHei", sans-serif; }
#app-head h1 { font-size: 1.35rem; margin: 0; }
#app-head p { margin: .15rem 0 0; color: var(--body-text-color-subdued); font-size: .9rem; }
#chat .message-content { line-height: 1.7; }
.cite, .src .marker { display: inline-block; min-width: 1.35em; padding: 0 .3em;
  border-radius: .6em; background: var(--color-accent-soft); color: var(--color-accent);
  font-size: .72em; font-weight: 600; text-align: center; line-height: 1.5;
  vertical-align: .35em; margin: 0 .1em; }
.sources { margin-top: .4rem; border-top: 1px solid var(--border-color-primary);
  padding-top: .5rem; }
.sources-label { font-size: .72rem; text-transform: uppercase; letter-spacing: .06em;
  color: var(--body-text-color-subdued); margin-bottom: .3rem; }
.src { display: flex; gap: .5rem; align-items: baseline; margin: .35rem 0 .55rem; }
.src .marker { vertical-align: baseline; flex: none; font-size: .78em; }
.src-body { min-width: 0; }
.src-head { font-size: .9em; }
.src-head .ident { font-weight: 600; margin-right: .25em; }
.src-head .authors { color: var(--body-text-color-subdued); font-size: .9em; }
.snippet { font-size: .84em; color: var(--body-text-color-subdued); line-height: 1.6;
  margin-top: .1rem; }
.snippet mark { background: rgba(255, 212, 59, .35); color: var(--body-text-color);
  padding: 0 .1em; border-radius: 2px; }
.flag { display: inline-block; margin-left: .4em; padding: 0 .45em; border-radius: .6em;
  background: rgba(245, 159, 0, .15); color: #b35c00; font-size: .78em; }
.note { font-size: .75rem; color: var(--body-text-color-subdued); margin-top: .2rem; }
.meta { font-size: .72rem; color: var(--body-text-color-subdued); opacity: .8;
  margin-top: .2rem; }
.warn { font-size: .85em; color: #9a5b00; background: rgba(245, 159, 0, .1);
  border-left: 3px solid #f59f00; padding: .25rem .6rem; border-radius: 3px; }
#chat .warn { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.clip { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;
  overflow: hidden; }
.pending, .caret, .muted { color: var(--body-text-color-subdued); }
.caret { animation: blink 1s steps(2) infinite; }
@keyframes blink { 50% { opacity: 0; } }
.muted { font-size: .82em; }
.facts { display: grid; grid-template-columns: auto 1fr; gap: .15rem .7rem; margin: 0;
  font-size: .85em; }
.facts dt { color: var(--body-text-color-subdued); }
.facts dd { margin: 0; word-break: break-word; }
.backend { margin: 0 0 .2rem; font-size: .9em; }
.dot { display: inline-block; width: .55em; height: .55em; border-radius: 50%;
  background: #adb5bd; }
.dot.on { background: #2f9e44; } .dot.off { background: #adb5bd; }
.dot.down { background: #e03131; }
.dot.unknown { background: #f59f00; }
.hit { margin: .3rem 0 .6rem; font-size: .88em; }
#side .block { box-shadow: none; }
"""

PLACEHOLDER = (
    "**Ask the survey** in 中文 or English.\n\n"
    "Answers quote the survey and the arXiv papers it links; each claim carries a marker "
    "that points at its source below the answer."
)


def _theme() -> gr.themes.Base:
    return gr.themes.Soft(
        primary_hue="indigo",
        neutral_hue="slate",
        font=["ui-sans-serif", "system-ui", "Noto Sans CJK SC", "WenQuanYi Zen Hei", "sans-serif"],
    )


def create_app(assistant: ChatBackend) -> gr.Blocks:
    """The chat app for ``assistant`` (start it with :func:`launch`)."""
    settings = assistant.settings
    try:
        examples = example_questions(assistant.sections(), settings.ui_examples)
    except AssistantError as exc:
        log.warning("no example questions: %s", exc)
        examples = example_questions([], settings.ui_examples)

    probed: list[BackendStatus] = []

    def probe(fresh: bool = False) -> BackendStatus:
        """The backend's status, probed again on each page load (one cheap request)."""
        if fresh or not probed:
            probed[:] = [assistant.backend_status()]
        return probed[0]

    def respond(question: str, mode: str, k: float, session: Session | None):
        session = Session(list(session.turns)) if session else Session()
        history = conversation(session)
        turn = Turn(question=question or "")
        session.turns.append(turn)
        yield chat_messages(session), session, "", gr.skip(), gr.skip()
        try:
            for item in assistant.stream(question, history=history, k=int(k), mode=mode):
                if isinstance(item, Answer):
                    turn.answer = item
                else:
                    turn.partial += item
                    yield chat_messages(session), session, gr.skip(), gr.skip(), gr.skip()
        except AssistantError as exc:
            turn.problem = " ".join(str(exc).split())
        except Exception:
            log.exception("chat request failed")
            turn.problem = "internal error while answering; see the server log"
        if turn.answer is None and turn.problem is None:
            turn.problem = "no answer came back; see the server log"
        yield (
            chat_messages(session),
            session,
            gr.skip(),
            hits_html(turn.answer.hits if turn.answer else []),
            backend_html(probe(), turn.answer),
        )

    def clear():
        return [], Session(), "", hits_html([])

    def panel():
        return index_html(assistant.info()), backend_html(probe(fresh=True))

    def reindex(rebuild: bool, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        progress(0, desc="Reading the corpus")
        try:
            report = assistant.build_index(rebuild=bool(rebuild), progress=True)
            if not report.unchanged:
                progress(0.9, desc="Embedding the sentences answers quote")
                assistant.prepare_answers(progress=True)
        except AssistantError as exc:
            return index_html(assistant.info()), f'<p class="warn">⚠ {esc(exc)}</p>'
        if report.unchanged:
            note = "Index is up to date."
        else:
            note = (
                f"Indexed: {report.embedded} embedded, {report.reused} reused, "
                f"{report.removed} removed."
            )
        return index_html(assistant.info()), f'<p class="muted">{esc(note)}</p>'

    with gr.Blocks(title="Survey assistant", fill_height=False) as app:
        session = gr.State(Session())
        with gr.Row(elem_id="app-head"):
            gr.HTML(
                "<h1>Survey assistant</h1><p>Cited answers from the survey and the arXiv "
                "papers it links · 中文 / English</p>"
            )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(
                    elem_id="chat",
                    show_label=False,
                    height="calc(100vh - 330px)",
                    min_height=420,
                    layout="bubble",
                    placeholder=PLACEHOLDER,
                    sanitize_html=True,
                    feedback_options=None,
                    buttons=["copy"],
                )
                with gr.Row():
                    question = gr.Textbox(
                        elem_id="question",
                        label="Question",
                        show_label=False,
                        placeholder="Ask a question about the survey, in 中文 or English",
                        max_lines=6,
                        scale=8,
                        autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    clear_btn = gr.Button("Clear", scale=1, elem_id="clear")
                gr.Examples(examples=[[q] for q in examples], inputs=[question], label="Try")
                with gr.Accordion("Retrieved passages (latest question)", open=False):
                    hits = gr.HTML(hits_html([]), label="Retrieved passages", elem_id="hits")
            with gr.Column(scale=1, min_width=260, elem_id="side"):
                gr.Markdown("#### Retrieval")
                mode = gr.Radio(
                    list(MODES),
                    value=settings.retrieval_mode,
                    label="Mode",
                    info="hybrid fuses dense (meaning) and BM25 (words)",
                )
                k = gr.Slider(1, 20, value=settings.answer_k, step=1, label="Passages read (k)")
                gr.Markdown("#### Answers")
                backend = gr.HTML(label="Answer backend", elem_id="backend")
                gr.Markdown("#### Index")
                facts = gr.HTML(elem_id="index-facts")
                rebuild = gr.Checkbox(False, label="re-embed everything")
                reindex_btn = gr.Button("Re-index", size="sm", elem_id="reindex")
                reindex_note = gr.HTML()

        gr.on(
            [question.submit, send.click],
            respond,
            inputs=[question, mode, k, session],
            outputs=[chatbot, session, question, hits, backend],
            api_name="chat",
            concurrency_limit=settings.ui_concurrency,
            concurrency_id="chat",
            show_progress="hidden",
        )
        gr.on(
            [clear_btn.click, chatbot.clear],
            clear,
            outputs=[chatbot, session, question, hits],
            api_name="clear",
            queue=False,
        )
        reindex_btn.click(
            reindex,
            inputs=[rebuild],
            outputs=[facts, reindex_note],
            show_progress_on=[reindex_note],
            api_name="reindex",
            concurrency_limit=1,
            concurrency_id="index",
        )
        app.load(
            panel,
            outputs=[facts, backend],
            api_visibility="private",
            queue=False,
            show_progress="hidden",
        )
    app.queue(default_concurrency_limit=settings.ui_concurrency)
    return app


def launch(
    app: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    block: bool = True,
) -> str:
    """Serve ``app`` (no share link, no analytics); return its local URL.

    With ``block=False`` the server runs in a background thread (tests); close it with
    ``app.close()``.
    """
    credentials = tuple(auth.split(":", 1)) if auth else None
    app.launch(
        server_name=host,
        server_port=port,
        auth=credentials,
        share=False,
        prevent_thread_lock=not block,
        quiet=True,
        show_error=False,
        theme=_theme(),
        css=CSS,
        footer_links=["api"],
        run_history=False,
        enable_monitoring=False,
        ssr_mode=False,
        mcp_server=False,
    )
    return app.local_url or f"http://{host}:{port}/"

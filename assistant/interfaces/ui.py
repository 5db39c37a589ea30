"""The chat UI: a Gradio Blocks app over :class:`assistant.interfaces.api.Assistant`.

This module lays the page out and drives it: questions go to ``Assistant.stream``; what a
message shows is built by :mod:`assistant.interfaces.chat_html` from the
:class:`~assistant.models.Answer` that comes back. A small page script (:data:`HEAD`) makes
a marker click bring its source card into view with the quoted sentence highlighted, makes
the copy buttons copy, and gives chat messages a plain-text ``aria-label`` (Gradio labels
a message with its raw HTML).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from assistant.answer.probe import BackendStatus
from assistant.errors import AssistantError
from assistant.interfaces.chat_html import (
    answer_html,
    hits_html,
    partial_html,
    question_html,
    standing_notice,
    warn_line,
)
from assistant.invocation import command
from assistant.markup import esc
from assistant.models import Answer, Paper

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Gradio's queue otherwise rebuilds a pandas table of every past event after each event,
# for a monitoring page this app does not serve (a cost that grows with the server's age).
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(2**31))
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1")

import gradio as gr  # (the environment above must be set before the import)

log = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "bm25")
LAUNCH_ATTEMPTS = 3


class ChatBackend(Protocol):
    """What the UI needs from :class:`assistant.interfaces.api.Assistant` (tests pass a fake)."""

    settings: Any

    def stream(self, question: str, history: list[dict] | None = None, **kw: Any) -> Iterator:
        """Text deltas, then the final :class:`Answer`."""

    def info(self) -> dict[str, object]: ...

    def backend_status(self) -> BackendStatus: ...

    def sections(self) -> list: ...

    def papers(self) -> Mapping[str, Paper]: ...

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
    html: str | None = None
    """The finished answer's message, rendered once."""


@dataclass
class Session:
    turns: list[Turn] = field(default_factory=list)


# -- the conversation --------------------------------------------------------------------------


def turn_content(turn: Turn, number: int, show_notice: bool, papers: Mapping[str, Paper]) -> str:
    if turn.answer is not None:
        if turn.html is None:
            turn.html = answer_html(turn.answer, number, show_notice, papers)
        return turn.html
    if turn.problem is not None:
        return warn_line(turn.problem)
    if turn.partial:
        return partial_html(turn.partial)
    return '<span class="pending">Searching the survey…</span>'


def chat_messages(session: Session, papers: Mapping[str, Paper] | None = None) -> list[dict]:
    """The Chatbot's value: user and assistant messages, rendered from the session. The
    standing note answers carry (no LLM configured) is shown under the first one only."""
    messages = []
    noted = False
    for number, turn in enumerate(session.turns, 1):
        messages.append({"role": "user", "content": question_html(turn.question)})
        show = not noted
        noted = noted or bool(
            turn.answer and standing_notice(turn.answer) and not turn.answer.error
        )
        messages.append(
            {"role": "assistant", "content": turn_content(turn, number, show, papers or {})}
        )
    return messages


def conversation(session: Session) -> list[dict[str, str]]:
    """History for follow-ups: the plain question and answer texts of finished turns."""
    history = []
    for turn in session.turns:
        if turn.answer is None:
            continue
        history.append({"role": "user", "content": turn.question})
        history.append({"role": "assistant", "content": turn.answer.body})
    return history


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
            f"or run <code>{esc(command('index'))}</code>.</p>"
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
  "WenQuanYi Zen Hei", "PingFang SC", "Microsoft YaHei", sans-serif;
  --ink: var(--neutral-800); --ink-2: var(--neutral-600); --cite: var(--primary-700);
  --cite-bg: var(--primary-100); --hl: #fde68a; --hl-strong: #fbbf24; --hl-row: #fffbeb;
  --bad: #b42318; --bad-bg: #fef3f2; --ok: #2b7a3b; }
.dark .gradio-container, .gradio-container.dark { --ink: var(--neutral-100);
  --ink-2: var(--neutral-300); --cite: var(--primary-100); --cite-bg: var(--primary-800);
  --hl: rgba(250, 204, 21, .30); --hl-strong: rgba(250, 204, 21, .55);
  --hl-row: rgba(250, 204, 21, .08); --bad: #fda29b; --bad-bg: rgba(180, 35, 24, .25);
  --ok: #86efac; }
#app-head h1 { font-size: 1.35rem; margin: 0; }
#app-head p { margin: .15rem 0 0; color: var(--ink-2); font-size: .9rem; }
#chat .message-content { line-height: 1.7; color: var(--ink); }
#chat .answer-body > :first-child { margin-top: 0; }
#chat .answer-body ul, #chat .answer-body ol { margin: .2rem 0 .3rem; }
.cite, .src .marker { display: inline-block; min-width: 1.45em; padding: 0 .32em;
  border-radius: .6em; background: var(--cite-bg); color: var(--cite); font-size: .74em;
  font-weight: 700; text-align: center; line-height: 1.5; vertical-align: .3em;
  margin: 0 .1em; text-decoration: none !important; }
a.cite { cursor: pointer; }
a.cite:hover, a.cite:focus-visible { background: var(--cite); color: var(--cite-bg);
  outline: 2px solid var(--cite); outline-offset: 1px; }
.sources { margin-top: .6rem; border-top: 1px solid var(--border-color-primary);
  padding-top: .45rem; }
.sources-label { font-size: .72rem; text-transform: uppercase; letter-spacing: .06em;
  color: var(--ink-2); margin-bottom: .2rem; }
.src { display: flex; gap: .55rem; align-items: flex-start; margin: .25rem -.5rem .4rem;
  padding: .35rem .5rem; border: 1px solid transparent; border-radius: 8px;
  scroll-margin: 1.5rem; transition: background-color .3s, border-color .3s; }
.src:focus { outline: none; }
.src.current, .src:target { border-color: var(--primary-300);
  background: var(--background-fill-primary); box-shadow: 0 0 0 3px var(--primary-100); }
.src .marker { vertical-align: baseline; flex: none; font-size: .8em; margin-top: .25em; }
.src-body { min-width: 0; flex: 1; }
.src-head { font-size: .92em; color: var(--ink); }
.src-head .ident { font-weight: 700; margin-right: .25em; }
.src-head .authors { color: var(--ink-2); font-size: .92em; }
#chat .excerpt, #chat .passage, #hits .passage { font-size: .9em; color: var(--ink);
  line-height: 1.65; margin-top: .15rem; }
#chat .excerpt p, #chat .passage p, #hits .passage p { margin: .25rem 0; }
#chat .excerpt :is(ul, ol), #chat .passage :is(ul, ol), #hits .passage :is(ul, ol) {
  margin: .2rem 0; padding-left: 1.5em; }
#chat .excerpt li, #chat .passage li, #hits .passage li { margin: .1rem 0; }
#chat .excerpt table, #chat .passage table, #hits .passage table { border-collapse: collapse;
  margin: .3rem 0; font-size: .95em; width: auto; }
:is(#chat .excerpt, #chat .passage, #hits .passage) :is(th, td) { padding: .15rem .5rem;
  border: 1px solid var(--border-color-primary); text-align: left; vertical-align: top; }
:is(#chat .excerpt, #chat .passage, #hits .passage) th {
  background: var(--background-fill-secondary); font-weight: 600; }
:is(#chat .excerpt, #chat .passage) tr:has(mark.quote) td { background: var(--hl-row); }
mark.quote { background: var(--hl); color: inherit; padding: .05em 0; border-radius: 2px;
  transition: background-color .3s, box-shadow .3s; }
mark.quote.current { background: var(--hl-strong); box-shadow: 0 0 0 2px var(--hl-strong); }
.loose { font-style: italic; }
details.whole { margin-top: .2rem; }
details.whole summary { cursor: pointer; font-size: .8em; color: var(--ink-2); width: max-content; }
details.whole .passage { border-left: 2px solid var(--border-color-primary);
  padding-left: .6rem; }
.flag { display: inline-block; margin-left: .4em; padding: 0 .45em; border-radius: .6em;
  background: #fff4e5; color: #8a4600; font-size: .78em; }
.unsupported { text-decoration: underline wavy var(--bad) 1px;
  text-underline-offset: 3px; }
.unsupported-tag { display: inline-block; margin-left: .3em; padding: 0 .45em;
  border-radius: .6em; background: var(--bad-bg); color: var(--bad); font-size: .72em;
  font-weight: 700; vertical-align: .2em; }
.unsupported-list { margin-top: .4rem; font-size: .88em; color: var(--ink); }
.note { font-size: .8rem; color: var(--ink-2); margin-top: .5rem; }
.notice { font-size: .85em; color: var(--ink); background: var(--hl-row);
  border-left: 3px solid #f59f00; padding: .25rem .6rem; border-radius: 3px;
  margin-bottom: .4rem; }
.tools { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin-top: .55rem; }
#chat button.copy-export { font: inherit; font-size: .78rem; line-height: 1.4;
  padding: .15rem .65rem; border-radius: 6px; cursor: pointer; color: var(--ink);
  border: 1px solid var(--border-color-primary); background: var(--background-fill-primary); }
#chat button.copy-export:hover, #chat button.copy-export:focus-visible {
  border-color: var(--primary-500); }
#chat button.copy-export.done { border-color: var(--ok); color: var(--ok); }
#chat pre.export { display: none; }
#chat pre.export.shown { display: block; white-space: pre-wrap; font-size: .78rem; }
.copied { font-size: .78rem; color: var(--ok); }
.meta { font-size: .74rem; color: var(--ink-2); margin-top: .3rem; }
.warn { font-size: .85em; color: #7a4100; background: #fff4e5;
  border-left: 3px solid #f59f00; padding: .25rem .6rem; border-radius: 3px; }
#chat .warn { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.clip { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;
  overflow: hidden; }
.pending, .caret, .muted { color: var(--ink-2); }
.caret { animation: blink 1s steps(2) infinite; }
@keyframes blink { 50% { opacity: 0; } }
@media (prefers-reduced-motion: reduce) { .caret { animation: none; }
  .src, mark.quote { transition: none; } }
.muted { font-size: .82em; }
#examples { flex-wrap: wrap; gap: .4rem; align-items: center; }
#examples .chips-label { flex: none; font-size: .85rem; color: var(--ink-2); }
#examples button.chip { flex: 0 1 auto; min-width: 0; width: auto; max-width: 100%;
  white-space: normal; text-align: left; height: auto; font-weight: 400; }
.facts { display: grid; grid-template-columns: auto 1fr; gap: .15rem .7rem; margin: 0;
  font-size: .85em; }
.facts dt { color: var(--ink-2); }
.facts dd { margin: 0; word-break: break-word; }
.backend { margin: 0 0 .2rem; font-size: .9em; }
.dot { display: inline-block; width: .55em; height: .55em; border-radius: 50%;
  background: #adb5bd; }
.dot.on { background: #2f9e44; } .dot.off { background: #adb5bd; }
.dot.down { background: #e03131; }
.dot.unknown { background: #f59f00; }
.hit { margin: .3rem 0 .7rem; font-size: .88em; }
#hits .passage { max-height: 16em; overflow: auto; padding-right: .4rem; }
#side .block { box-shadow: none; }
"""

HEAD = """<script>
(() => {
  // A marker click: bring its source card into view, highlight the sentence it quotes.
  const smooth = () => !matchMedia("(prefers-reduced-motion: reduce)").matches;
  function show(link) {
    const card = document.getElementById(link.getAttribute("href").slice(1));
    if (!card) return false;
    document.querySelectorAll(".src.current, mark.quote.current")
      .forEach((el) => el.classList.remove("current"));
    const quote = [...link.classList].find((name) => /^q\\d+$/.test(name));
    const marks = quote ? card.querySelectorAll(".excerpt mark." + quote) : [];
    card.classList.add("current");
    marks.forEach((mark) => mark.classList.add("current"));
    (marks[0] || card).scrollIntoView({ block: "nearest", behavior: smooth() ? "smooth" : "auto" });
    card.focus({ preventScroll: true });
    return true;
  }
  // The copy buttons under an answer: Markdown with references, or BibTeX.
  async function copy(button) {
    const id = button.id.replace(/-copy$/, "");
    const source = document.getElementById(id);
    const status = document.getElementById(id.replace(/-(md|bib)$/, "-status"));
    if (!source) return;
    const what = id.endsWith("-bib") ? "BibTeX" : "Markdown";
    let done = false;
    try {
      await navigator.clipboard.writeText(source.textContent);
      done = true;
    } catch (error) {
      const area = document.createElement("textarea");
      area.value = source.textContent;
      area.style.cssText = "position:fixed;top:0;left:0;opacity:0";
      document.body.appendChild(area);
      area.select();
      try { done = document.execCommand("copy"); } catch (ignored) { done = false; }
      area.remove();
    }
    if (!done) source.classList.add("shown");
    if (status) status.textContent = done
      ? what + " copied to the clipboard" : "Could not copy: select the " + what + " below";
    button.classList.toggle("done", done);
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(() => {
      button.classList.remove("done");
      if (status) status.textContent = "";
    }, 4000);
  }
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.cite[href^='#']");
    if (link && show(link)) { event.preventDefault(); return; }
    const button = event.target.closest("button.copy-export");
    if (button) { event.preventDefault(); copy(button); }
  });
  // Gradio labels a chat message with its raw content: give it the text instead.
  let queued = false;
  function relabel() {
    queued = false;
    document.querySelectorAll("#chat [aria-label*=\\"'s message: \\"]").forEach((el) => {
      const label = el.getAttribute("aria-label");
      const body = el.querySelector(".answer-body") || el.querySelector(".message-content");
      if (!body) return;
      const text = (body.innerText || body.textContent).replace(/\\s+/g, " ").trim();
      const want = label.slice(0, label.indexOf(": ") + 2) + text;
      if (label !== want) el.setAttribute("aria-label", want);
    });
  }
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(relabel); }
  }).observe(document.documentElement, {
    subtree: true, childList: true, characterData: true,
    attributes: true, attributeFilter: ["aria-label"],
  });
})();
</script>"""
"""The page script (``launch(head=…)``). Gradio drops inline handlers and ``data-*`` from
chat messages, so it listens on the document and reads ids and classes."""

PLACEHOLDER = (
    "**Ask the survey** in 中文 or English.\n\n"
    "Answers quote the survey and the arXiv papers it links; each claim carries a marker "
    "that points at its source below the answer."
)


def _theme() -> gr.themes.Base:
    """Gradio's Soft theme, its secondary text darkened to pass WCAG AA (slate-400 on white
    is 2.6:1; slate-600 is 7.6:1)."""
    return gr.themes.Soft(
        primary_hue="indigo",
        neutral_hue="slate",
        font=["ui-sans-serif", "system-ui", "Noto Sans CJK SC", "WenQuanYi Zen Hei", "sans-serif"],
    ).set(body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300")


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

    def papers() -> Mapping[str, Paper]:
        """The abstracts metadata BibTeX exports are made from (none when unreadable)."""
        try:
            return assistant.papers()
        except AssistantError as exc:
            log.warning("no paper metadata for BibTeX exports: %s", exc)
            return {}

    def respond(question: str, mode: str, k: float, session: Session | None):
        """The question at once, then the answer as it streams, then the finished answer.

        Text is shown one delta behind (a delta is rendered when the next one arrives), so
        that text the :class:`Answer` follows at once (a quoted answer, a refusal) costs no
        streamed update: every update re-renders and re-sends the whole conversation.
        Until the answer is done the side panels get the values they already show rather
        than ``gr.skip()``, for which Gradio builds a new component per update (a few times
        dearer); the question box is skipped after the first update, so that what the user
        types meanwhile stays."""
        session = Session(list(session.turns)) if session else Session()
        before = session.turns[-1].answer if session.turns else None
        shown = hits_html(before.hits if before else []), backend_html(probe(), before)
        history = conversation(session)
        turn = Turn(question=question or "")
        session.turns.append(turn)
        yield chat_messages(session), session, "", *shown
        try:
            for item in assistant.stream(question, history=history, k=int(k), mode=mode):
                if isinstance(item, Answer):
                    turn.answer = item
                    continue
                if turn.partial:  # one delta behind: text the Answer follows at once
                    yield chat_messages(session), session, gr.skip(), *shown
                turn.partial += item
        except AssistantError as exc:
            turn.problem = " ".join(str(exc).split())
        except Exception:
            log.exception("chat request failed")
            turn.problem = "internal error while answering; see the server log"
        if turn.answer is None and turn.problem is None:
            turn.problem = "no answer came back; see the server log"
        yield (
            chat_messages(session, papers()),
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
                    buttons=[],
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
                with gr.Row(elem_id="examples"):
                    gr.HTML('<span class="chips-label">Try</span>', elem_classes="chips-label")
                    chips = [
                        gr.Button(q, size="sm", scale=0, min_width=0, elem_classes="chip")
                        for q in examples
                    ]
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
        for chip in chips:  # fills the question box (in the browser: no round trip)
            chip.click(None, None, question, js=f"() => {json.dumps(chip.value)}")
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
    for attempt in range(LAUNCH_ATTEMPTS):
        try:
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
                head=HEAD,
                footer_links=["api"],
                run_history=False,
                enable_monitoring=False,
                ssr_mode=False,
                mcp_server=False,
            )
            break
        except ValueError as exc:
            # Gradio checks its own page once started, with 3-second requests; on a busy
            # machine that check can time out although the server is fine.
            if "localhost is not accessible" not in str(exc) or attempt == LAUNCH_ATTEMPTS - 1:
                raise
            log.warning("the server's self-check timed out; starting it again")
            app.close()
    return app.local_url or f"http://{host}:{port}/"

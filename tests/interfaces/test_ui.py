"""The chat UI: the side panel, the served app (gradio_client), a real browser, load.

What a message shows is tested in test_chat_html.py; here it is tested as served and as a
reader sees it in Chromium.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from assistant import Assistant, InvalidInput
from assistant.answer.probe import BackendStatus
from assistant.evaluation.loadtest import run_load
from assistant.interfaces import ui
from assistant.models import Answer
from assistant.settings import Settings
from tests.conftest import BUNDLED_CORPUS, ROOT, free_port
from tests.stubs.fake_assistant import (
    FakeAssistant,
    cite,
    networld_answer,
    paper_hit,
    section_hit,
)
from tests.stubs.hostile import HOSTILE
from tests.stubs.openai_server import OpenAIStub, Reply

_answer = networld_answer


# -- side panel ----------------------------------------------------------------------------------


def test_side_panel_escapes_and_says_what_answers():
    info = {
        "llm_backend": "none",
        "manifest": {
            "chunks": 16,
            "sections": 9,
            "abstracts": 7,
            "embedder": "<b>e</b>",
            "dim": 384,
            "corpus_hash": "441bd22c0e19e788aa",
            "built_at": "2026-11-25T16:01:46+00:00",
        },
    }
    facts = ui.index_html(info)
    assert "16 (9 section, 7 abstract)" in facts and "&lt;b&gt;e&lt;/b&gt;" in facts
    assert "441bd22c0e19<" in facts and "2026-11-25 16:01" in facts
    assert "No index yet" in ui.index_html({"manifest": None})
    assert "Extractive" in ui.backend_html(BackendStatus(backend="none", state="extractive"))
    up = BackendStatus(backend="openai-compatible", state="reachable", model="m<x>", where="u")
    assert "dot on" in ui.backend_html(up) and "reachable" in ui.backend_html(up)
    assert "m&lt;x&gt;" in ui.backend_html(up)
    failed = ui.backend_html(up, _answer(error="timeout", backend="none"))
    assert "dot down" in failed and "failed on the last question: timeout" in failed
    answered = ui.backend_html(up, _answer(backend="openai-compatible"))
    assert "dot on" in answered and "answered the last question" in answered
    down = up.model_copy(update={"state": "unreachable", "detail": "connection refused"})
    assert "unreachable (connection refused)" in ui.backend_html(down)
    wrong = up.model_copy(update={"state": "misconfigured", "detail": "set ASSISTANT_LLM_MODEL"})
    assert "not configured: set ASSISTANT_LLM_MODEL" in ui.backend_html(wrong)


def test_example_questions_come_from_section_titles_in_both_languages(assistant):
    rows = assistant.sections()
    examples = ui.example_questions(rows)
    assert len(examples) == 4
    titles = [r.title for r in rows]
    assert all(any(t in q for t in titles) for q in examples)
    assert sum(bool(re.search(r"[\u4e00-\u9fff]{2}", q.split(" ")[0])) for q in examples) >= 2
    assert sum(q.startswith(("Which", "What")) for q in examples) == 2
    assert ui.example_questions(rows, ["only this?"]) == ["only this?"]


# -- the served app --------------------------------------------------------------------------------


@contextlib.contextmanager
def served(backend, auth: str | None = None):
    app = ui.create_app(backend)
    url = ui.launch(app, port=free_port(), auth=auth, block=False)
    try:
        yield url
    finally:
        app.close()


def _client(url, **kw):
    from gradio_client import Client

    return Client(url, verbose=False, **kw)


def _reply(result) -> str:
    """The text of the last assistant message in a /chat result."""
    message = result[0][-1]
    assert message["role"] == "assistant"
    return " ".join(part["text"] for part in message["content"])


@pytest.fixture
def scripted():
    return FakeAssistant(lambda q, history, k, mode: _answer(question=q), delay=0.001)


def test_launch_starts_again_when_gradios_self_check_times_out(scripted, monkeypatch):
    from gradio import networking

    checks = []
    real = networking.url_ok

    def slow_once(url):  # a busy machine: the first 3-second check times out
        checks.append(url)
        return len(checks) > 1 and real(url)

    monkeypatch.setattr(networking, "url_ok", slow_once)
    with served(scripted) as url:
        assert len(checks) == 2 and httpx.get(url).status_code == 200


def test_chat_passes_history_mode_and_k_and_clear_resets(scripted):
    with served(scripted) as url:
        client = _client(url)
        first = client.predict("NetWorld 是什么？", "bm25", 3, api_name="/chat")
        assert "arxiv.org/abs/2602.00558" in _reply(first)
        client.predict("它用于什么场景？", "dense", 7, api_name="/chat")
        assert [(c["mode"], c["k"]) for c in scripted.calls] == [("bm25", 3), ("dense", 7)]
        assert scripted.calls[0]["history"] == []
        assert scripted.calls[1]["history"] == [
            {"role": "user", "content": "NetWorld 是什么？"},
            {"role": "assistant", "content": _answer().text},
        ]
        client.predict(api_name="/clear")
        after = client.predict("new topic", "hybrid", 5, api_name="/chat")
        assert scripted.calls[2]["history"] == []
        assert len(after[0]) == 2  # the cleared conversation is gone from the chat too


def test_chat_shows_input_errors_as_a_message(scripted):
    def invalid(*_):
        raise InvalidInput("the question is empty")

    scripted.answerer = invalid
    with served(scripted) as url:
        reply = _reply(_client(url).predict("   ", "hybrid", 5, api_name="/chat"))
    assert reply == '<div class="warn" title="the question is empty">⚠ the question is empty</div>'


def test_chat_survives_unexpected_errors_without_a_traceback(scripted):
    def boom(*_):
        raise RuntimeError("secret internals")

    scripted.answerer = boom
    with served(scripted) as url:
        reply = _reply(_client(url).predict("q", "hybrid", 5, api_name="/chat"))
    assert "internal error" in reply and "secret" not in reply


def test_reindex_reports_progress_and_result(scripted):
    scripted.manifest = {"chunks": 3, "sections": 2, "abstracts": 1, "embedder": "hash", "dim": 8}
    with served(scripted) as url:
        facts, note = _client(url).predict(True, api_name="/reindex")
    assert scripted.builds == [True] and scripted.prepared == 1  # sentences embedded too
    assert "3 (2 section, 1 abstract)" in facts and "3 embedded, 5 reused" in note


def test_real_answers_cite_sections_and_papers_in_both_languages(assistant):
    """Through the served app, a question naming a linked paper gets its section and ID."""
    with served(assistant) as url:
        client = _client(url)
        question = "综述说 NetWorld 在无线网络中引入了什么？"
        zh = _reply(client.predict(question, "hybrid", 8, api_name="/chat"))
        client.predict(api_name="/clear")
        en = _reply(client.predict("What does NetWorld propose?", "hybrid", 8, api_name="/chat"))
    assert 'class="sources"' in zh and '<span class="ident">§17.4.2</span>' in zh
    body = zh[: zh.index('class="sources"')]
    assert '<a href="https://arxiv.org/abs/2602.00558"' in body  # named in the answer → linked
    assert '<a href="https://arxiv.org/abs/2602.00558"' in en and "arXiv:2602.00558" in en
    for reply in (zh, en):
        markers = re.findall(r'<a class="cite q\d+" href="#t1-s(\d+)"[^>]*>(\d+)</a>', reply)
        assert markers and all(card == n for card, n in markers)  # each links to its card
        assert all(f'id="t1-s{n}"' in reply for _, n in markers)
        assert 'class="meta"' in reply and 'class="warn"' not in reply


def test_a_quoted_answer_costs_no_streamed_update(assistant):
    """Without an LLM the answer's text and the Answer come at once: the chat shows the
    question, then the finished answer, and no partial render in between."""
    with served(assistant) as url:
        job = _client(url).submit("What does NetWorld propose?", "hybrid", 5, api_name="/chat")
        final = job.result(timeout=120)
        outputs = job.outputs()
    replies = [_reply(o) for o in outputs if o[0] and o[0][-1]["role"] == "assistant"]
    assert replies and not any('class="caret"' in r for r in replies)
    assert 'class="pending"' in replies[0] and 'class="sources"' in _reply(final)


def test_a_mislinked_paper_gets_the_audit_badge_in_the_chat(assistant):
    with served(assistant) as url:
        reply = _reply(_client(url).predict("What is VJEPA?", "hybrid", 8, api_name="/chat"))
    assert "arXiv:2601.14354" in reply
    card = reply[reply.index("arXiv:2601.14354") :]
    assert 'class="flag"' in card and "Active Inference UAV Swarm" in card


def _llm(index_dir, base_url: str) -> Assistant:
    """An assistant over the session index whose LLM is the stub server at ``base_url``."""
    return Assistant(
        Settings(
            corpus_dir=BUNDLED_CORPUS,
            index_dir=index_dir,
            llm_backend="openai-compatible",
            llm_base_url=base_url,
            llm_model="stub",
        )
    )


def test_llm_answers_stream_into_the_chat_with_sources(built_index):
    """A real LLM backend (the stub server) streams; the final answer keeps valid markers."""
    text = (
        "NetWorld 是一个面向无线网络多智能体强化学习的扩散世界模型 [1]。"
        "它在无线网络中引入世界模型 [2]。"
    )
    with OpenAIStub() as stub:
        stub.replies.append(Reply(text=text, chunk_size=3))
        llm = _llm(built_index, stub.base_url)
        with served(llm) as url:
            client = _client(url)
            job = client.submit("NetWorld 用在了什么场景？", "hybrid", 8, api_name="/chat")
            final = job.result(timeout=120)
            outputs = job.outputs()
            stub.replies.append(Reply(status=500))
            client.predict(api_name="/clear")
            failed = client.predict("NetWorld 是什么？", "hybrid", 8, api_name="/chat")
    partial = [_reply(o) for o in outputs[:-1] if o[0] and o[0][-1]["role"] == "assistant"]
    assert any('class="caret"' in p for p in partial)  # text arrived before the answer was done
    reply = _reply(final)
    assert "扩散世界模型" in reply and 'class="sources"' in reply and 'class="warn"' not in reply
    assert "answered the last question" in final[3]
    failed_reply = _reply(failed)
    assert failed_reply.startswith(
        '<div class="answer" id="t1"><div class="warn" title="Showing quoted passages instead — LLM'
    )
    assert 'class="sources"' in failed_reply  # the quoted fallback, with its sources
    assert "failed on the last question" in failed[3]


def test_chat_passes_k_and_mode_to_retrieval(assistant, monkeypatch):
    seen = []
    retrieve = type(assistant).retrieve

    def spy(self, question, k=None, mode=None, timings=None):
        seen.append((k, mode))
        return retrieve(self, question, k=k, mode=mode, timings=timings)

    monkeypatch.setattr(type(assistant), "retrieve", spy)
    with served(assistant) as url:
        reply = _reply(_client(url).predict("NetWorld 是什么？", "bm25", 3, api_name="/chat"))
    assert seen == [(3, "bm25")]
    assert 'class="sources"' in reply


@pytest.mark.parametrize("client", ["http", "gradio"])
def test_load_small(assistant, client):
    """A small bounded load run against the served app (the full run: scripts/load_test.py),
    with each of the two load generators."""
    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    with served(assistant) as url:
        report = run_load(url, questions, clients=5, per_client=4, client=client)
    print("load:", report.to_json())
    assert report.errors == []
    assert report.requests == 20 and len(report.latencies) == 20
    assert report.throughput > 0 and report.percentile(95) >= report.percentile(50)


def test_slow_llm_does_not_block_other_users():
    """One request stuck in a slow LLM call; another user's question is answered meanwhile."""
    import threading

    release = threading.Event()

    def answerer(q, history, k, mode):
        if q == "slow":
            release.wait(30)
        return _answer(question=q)

    backend = FakeAssistant(answerer)
    with served(backend) as url:
        slow = _client(url).submit("slow", "hybrid", 5, api_name="/chat")
        while not backend.calls:
            time.sleep(0.05)
        fast = _client(url).predict("fast", "hybrid", 5, api_name="/chat")
        still_waiting = not slow.done()
        release.set()
        slow.result(timeout=30)
    assert "arXiv:2602.00558" in _reply(fast)
    assert still_waiting


# -- the CLI ---------------------------------------------------------------------------------------


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=2)
            return
        time.sleep(0.5)
    raise AssertionError(f"{url} did not come up")


@pytest.mark.slow
def test_serve_binds_localhost_and_requires_auth(built_index):
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_CORPUS_DIR": str(BUNDLED_CORPUS),
        "ASSISTANT_INDEX_DIR": str(built_index),
        "ASSISTANT_AUTH": "reader:s3cret",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for(url, proc)
        assert httpx.get(url + "config").status_code == 401
        assert (
            httpx.post(url + "login", data={"username": "reader", "password": "no"}).status_code
            == 400
        )
        client = _client(url, auth=("reader", "s3cret"))
        assert "/chat" in client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert not [ip for ip in _own_addresses() if _reachable(ip, port)]
    finally:
        proc.terminate()
        proc.wait(30)


def _own_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses."""
    import psutil

    return [
        a.address
        for addrs in psutil.net_if_addrs().values()
        for a in addrs
        if a.family.name == "AF_INET" and not a.address.startswith("127.")
    ]


def _reachable(host: str, port: int) -> bool:
    try:
        httpx.get(f"http://{host}:{port}/", timeout=2)
        return True
    except httpx.HTTPError:
        return False


# -- a real browser --------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def page():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/browser-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": 1360, "height": 1300})
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        browser.close()
        assert errors == []  # the page script never failed


def _open(page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)


def _ask(page, question: str) -> None:
    """Ask through the page and wait until this question's answer is complete."""
    done = page.locator("#chat .meta, #chat .warn").count()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(
        f"document.querySelectorAll('#chat .meta, #chat .warn').length > {done}",
        timeout=120_000,
    )


IN_VIEW = """el => {
  const box = el.getBoundingClientRect();
  const chat = document.querySelector('#chat .bubble-wrap, #chat [role=log]')
    || document.querySelector('#chat');
  const frame = chat.getBoundingClientRect();
  return box.height > 0 && box.top >= frame.top - 1 && box.bottom <= frame.bottom + 1
    && box.top >= 0 && box.bottom <= innerHeight;
}"""
"""Whether an element is wholly visible, inside the chat's scrolled area and the window."""

CONTRAST = """el => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255;
    return v <= .03928 ? v / 12.92 : ((v + .055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [.2126, .7152, .0722][i], 0);
  let layers = [];
  for (let node = el; node; node = node.parentElement) {
    const bg = rgb(getComputedStyle(node).backgroundColor);
    if (bg.length >= 3 && (bg[3] ?? 1) > 0) layers.push(bg);
    if (bg.length >= 3 && (bg[3] ?? 1) >= 1) break;
  }
  let back = [255, 255, 255];
  for (const [r, g, b, a = 1] of layers.reverse())
    back = [r * a + back[0] * (1 - a), g * a + back[1] * (1 - a), b * a + back[2] * (1 - a)];
  const [r, g, b, a = 1] = rgb(getComputedStyle(el).color);
  const fore = [r * a + back[0] * (1 - a), g * a + back[1] * (1 - a), b * a + back[2] * (1 - a)];
  const [hi, lo] = [lum(fore), lum(back)].sort((x, y) => y - x);
  return (hi + .05) / (lo + .05);
}"""
"""WCAG contrast ratio of an element's text against what is painted behind it."""


def _visible_marks(page, card) -> dict[str, str]:
    """Quote class → highlighted text of a card's excerpt."""
    return page.eval_on_selector_all(
        f"#{card} .excerpt mark.quote",
        """marks => marks.reduce((seen, m) => {
          const q = [...m.classList].find((c) => /^q\\d+$/.test(c));
          seen[q] = (seen[q] || '') + m.textContent; return seen; }, {})""",
    )


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.slow
def test_browser_marker_click_shows_its_card_with_every_quote_highlighted(page, assistant):
    """Chinese and English answers: each marker is a focusable link titled with its source;
    clicking it (or Enter) brings the card into view with the claim's sentence highlighted;
    each card highlights every sentence its citation quotes."""
    questions = ["世界模型面临哪些主要挑战？", "What does NetWorld propose?"]
    with served(assistant) as url:
        _open(page, url)
        page.wait_for_selector("#index-facts dl.facts")
        for turn, question in enumerate(questions, 1):
            expected = assistant.ask(question)  # the same answer the page gets
            _ask(page, question)
            links = page.locator(f"#t{turn} .answer-body a.cite")
            assert links.count() >= 2
            labels = {c.marker: c.label for c in expected.citations}
            hidden: list[bool] = []
            for n in range(links.count()):
                link = links.nth(n)
                marker = int(link.inner_text())
                card = f"t{turn}-s{marker}"
                assert link.get_attribute("href") == f"#{card}"
                assert link.get_attribute("title") == labels[marker]
                page.locator(f"#t{turn}").scroll_into_view_if_needed()
                page.evaluate(
                    "document.querySelector('#chat .bubble-wrap, #chat [role=log]')?.scrollTo(0, 0)"
                )
                quote = re.search(r"\bq(\d+)\b", link.get_attribute("class"))[1]
                target = page.locator(f"#{card} .excerpt mark.q{quote}").first
                hidden.append(not target.evaluate(IN_VIEW))
                if n % 2:
                    link.click()
                else:
                    link.focus()
                    page.keyboard.press("Enter")
                current = page.locator(f"#{card} .excerpt mark.q{quote}.current").first
                current.wait_for(state="visible")
                page.wait_for_function(IN_VIEW, arg=current.element_handle(), timeout=5_000)
                assert page.evaluate("document.activeElement.id") == card
                assert "current" in page.locator(f"#{card}").get_attribute("class")
            assert turn == 1 or any(hidden)  # a click scrolled a card into view
            for citation in expected.citations:  # every quoted sentence, highlighted
                marks = _visible_marks(page, f"t{turn}-s{citation.marker}")
                assert len(marks) == len(citation.quotes) >= 1
                for text in marks.values():
                    assert any(_norm(text) in _norm(q) for q in citation.quotes), text
        assert "--" not in page.locator("#chat .sources").first.inner_text()  # no raw tables
        assert page.locator("#chat .note").count() == 1  # the no-LLM notice, once
        labels = page.eval_on_selector_all(
            '#chat [aria-label*="\'s message: "]', "els => els.map(e => e.ariaLabel)"
        )
        assert len(labels) == 4 and all("<" not in label for label in labels)
        assert "评估标准碎片化" in labels[1]  # the answer's text, read as text


@pytest.mark.slow
def test_browser_copy_buttons_copy_markdown_and_bibtex_with_the_cited_ids(page, assistant):
    with served(assistant) as url:
        _open(page, url)
        _ask(page, "What does NetWorld propose?")
        page.click("#t1-md-copy")
        page.wait_for_function("document.querySelector('#t1-status').textContent !== ''")
        assert page.locator("#t1-status").inner_text() == "Markdown copied to the clipboard"
        markdown = page.evaluate("navigator.clipboard.readText()")
        assert "**What does NetWorld propose?**" in markdown
        assert "[1] [arXiv:2602.00558](https://arxiv.org/abs/2602.00558) — NetWorld" in markdown
        page.click("#t1-bib-copy")
        page.wait_for_function(
            "document.querySelector('#t1-status').textContent.startsWith('BibTeX')"
        )
        bibtex = page.evaluate("navigator.clipboard.readText()")
        assert "eprint = {2602.00558}" in bibtex and "archivePrefix = {arXiv}" in bibtex
        assert "Kechen Meng" in bibtex and "year = {2026}" in bibtex  # from abstracts.jsonl
        assert not page.locator("#t1-md").is_visible()  # the payload itself stays hidden


@pytest.mark.slow
def test_browser_streamed_llm_answer_links_its_markers(page, built_index):
    # two claims, each supported by the source it cites (the claim check re-points markers)
    text = "NetWorld 在无线网络中引入多智能体 RL + 世界模型 [2]。NetWorld 采用 DTDE 范式 [1]。"
    with OpenAIStub() as stub:
        stub.replies.append(Reply(text=text, chunk_size=3))
        llm = _llm(built_index, stub.base_url)
        with served(llm) as url:
            _open(page, url)
            _ask(page, "NetWorld 用在了什么场景？")
            links = page.locator("#t1 .answer-body a.cite")
            assert links.count() == 2 and page.locator("#chat .note").count() == 0
            links.nth(1).click()
            mark = page.locator("#t1-s2 .excerpt mark.current").first
            mark.wait_for(state="visible")
            page.wait_for_function(IN_VIEW, arg=mark.element_handle(), timeout=5_000)


@pytest.mark.slow
def test_browser_layout_chips_and_contrast(page, assistant):
    """Example chips shown whole; text in answers, cards and small print meets WCAG AA."""
    with served(assistant) as url:
        _open(page, url)
        chips = page.locator("#examples button.chip")
        wanted = ui.example_questions(assistant.sections(), assistant.settings.ui_examples)
        assert [chips.nth(i).inner_text() for i in range(chips.count())] == wanted
        for i in range(chips.count()):  # not clipped
            assert chips.nth(i).evaluate("b => b.scrollWidth <= b.clientWidth + 1")
        chips.nth(0).click()
        assert page.input_value("#question textarea") == wanted[0]
        _ask(page, "2025 年有多少篇世界模型论文？")
        selectors = [
            "#t1 .answer-body li",
            "#t1 .excerpt td",
            "#t1 .excerpt mark.quote",
            "#t1 .excerpt p",
            "#t1 .src-head .title",
            "#t1 .sources-label",
            "#t1 a.cite",
            "#t1 .note",
            "#t1 .meta",
            "#t1 button.copy-export",
            "#side .backend",
            "#index-facts dt",
        ]
        for selector in selectors:
            element = page.locator(selector).first
            ratio = element.evaluate(CONTRAST)
            print(f"contrast {selector}: {ratio:.1f}:1")
            assert ratio >= 4.5, (selector, ratio)
        page.click("#clear")
        page.wait_for_function("document.querySelectorAll('#chat .meta').length === 0")
        # the README's screenshot: an English and a Chinese answer, a marker clicked
        _ask(page, "What does NetWorld propose?")
        question = "综述说 NetWorld 在无线网络中引入了什么？"
        _ask(page, question)
        page.locator("#t2 .answer-body a.cite").first.click()
        page.locator("#t2 mark.current").first.wait_for(state="visible")
        page.wait_for_timeout(800)  # the smooth scroll
        page.evaluate(  # the Chinese question at the top of the chat
            """q => { const wrap = document.querySelector('#chat .bubble-wrap');
            const asked = [...wrap.querySelectorAll('[aria-label]')]
              .filter(e => e.ariaLabel.endsWith(q)).pop();
            wrap.scrollTop += asked.getBoundingClientRect().top
              - wrap.getBoundingClientRect().top - 12; }""",
            question,
        )
        page.wait_for_timeout(300)
        out = ROOT / "eval" / "results" / "ui.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        if os.environ.get("UPDATE_SCREENSHOT") == "1":  # refresh the README's copy on request
            shutil.copyfile(out, ROOT / "docs" / "screenshot.png")
    assert out.stat().st_size > 20_000


@pytest.mark.slow
def test_browser_never_runs_hostile_answer_or_source_text(page):
    evil = "\n".join(HOSTILE)
    hit = section_hit("e", "1.1", HOSTILE[1], f"{evil}\n\ntail", arxiv_ids=["2602.00558"])
    paper = paper_hit("2602.00558", HOSTILE[0], HOSTILE[1], authors=[HOSTILE[8]])
    answer = Answer(
        question="q",
        text=f"{evil} [1] [2]",
        citations=[cite(1, hit, "tail"), cite(2, paper, HOSTILE[1], flagged=HOSTILE[1])],
        hits=[hit, paper],
        unsupported=[HOSTILE[0]],
        error=HOSTILE[1],
    )
    backend = FakeAssistant(lambda *_: answer)
    with served(backend) as url:
        _open(page, url)
        _ask(page, HOSTILE[1])
        page.locator("#chat .sources").first.wait_for(state="visible")
        for n in range(page.locator("#chat a.cite").count()):  # hover, click every marker
            page.locator("#chat a.cite").nth(n).hover()
            page.locator("#chat a.cite").nth(n).click()
        page.click("#t1-bib-copy")
        page.wait_for_function(
            "document.querySelector('#t1-status').textContent.startsWith('BibTeX')"
        )
        assert "eprint = {2602.00558}" in page.evaluate("navigator.clipboard.readText()")
        page.click("#t1-md-copy")
        page.locator("#t1 details.whole summary").first.click()
        page.wait_for_timeout(1500)  # give any injected handler time to fire
        assert page.evaluate("window.__pwned") is None
        assert page.title() != "pwned"
        text = page.locator("#chat").inner_text()
        assert "window.__pwned=1" in text  # the hostile text is shown, as text
        assert page.locator("#chat img, #chat script, #chat svg[onload], #chat iframe").count() == 0
        hrefs = page.eval_on_selector_all("#chat a", "els => els.map(e => e.getAttribute('href'))")
        assert all(h.startswith(("http://", "https://", "#t1-s")) for h in hrefs if h)
        handlers = page.eval_on_selector_all(
            "#chat .answer *",
            "els => els.flatMap(e => [...e.attributes].map(a => a.name))"
            ".filter(n => n.startsWith('on'))",
        )
        assert handlers == []

"""The chat UI: safe formatting, the served app (gradio_client), a real browser, load."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser

import httpx
import pytest
from markdown_it import MarkdownIt

from assistant import Assistant, InvalidInput
from assistant.answer.probe import BackendStatus
from assistant.evaluation.loadtest import run_load
from assistant.interfaces import ui
from assistant.models import Answer
from assistant.settings import Settings
from tests.conftest import BUNDLED_CORPUS, ROOT, free_port
from tests.stubs.fake_assistant import FakeAssistant, cite, paper_hit, section_hit
from tests.stubs.openai_server import OpenAIStub, Reply

HOSTILE = [
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=\"window.__pwned=2;document.title='pwned'\">",
    "[click](javascript:window.__pwned=3)",
    "[click]( JavaScript:window.__pwned=4)",
    "[click](java&#115;cript:window.__pwned=5)",
    "[click](<javascript:window.__pwned=6>)",
    "[ref][evil]\n\n[evil]: javascript:window.__pwned=7",
    "![window.__pwned](https://example.invalid/track.png)",
    '<a href="javascript:window.__pwned=8">a</a>',
    "<svg onload=window.__pwned=9>",
]
"""Ways answer or corpus text tries to run code (or call home) in the reader's browser."""


def rendered(markdown: str) -> str:
    """HTML the way a CommonMark renderer with raw HTML on (like Gradio's) turns it out."""
    return MarkdownIt("commonmark", {"html": True}).render(markdown)


class _Active(HTMLParser):
    """Collects what in parsed HTML could run code or load something."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "img", "svg", "iframe", "object", "embed", "style"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag}[{name}]")
            if name in ("href", "src") and not (value or "").startswith(("http://", "https://")):
                self.found.append(f"{tag}[{name}={value}]")


def assert_inert(html: str) -> None:
    parser = _Active()
    parser.feed(html)
    assert parser.found == [], html


# -- formatting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_safe_markdown_renders_hostile_text_inert(text):
    html = rendered(ui.safe_markdown(text))
    assert_inert(html)
    assert "window.__pwned" in html  # shown as text, not dropped


def test_safe_markdown_keeps_http_links_markers_and_text():
    md = "NetWorld 用于无线网络 [1]，见 [arXiv](https://arxiv.org/abs/2602.00558) 与 a < b & c [2]."
    html = rendered(ui.safe_markdown(md))
    assert '<a href="https://arxiv.org/abs/2602.00558">arXiv</a>' in html
    assert '<span class="cite">1</span>' in html and '<span class="cite">2</span>' in html
    assert "a &lt; b &amp; c" in html


def test_arxiv_mentions_become_links_but_links_stay_links():
    html = rendered(
        ui.safe_markdown(
            "NetWorld (arXiv:2602.00558) 与 [arXiv:2601.14354](https://arxiv.org/abs/2601.14354)"
        )
    )
    assert html.count('href="https://arxiv.org/abs/2602.00558"') == 1
    assert html.count('href="https://arxiv.org/abs/2601.14354"') == 1
    assert "arXiv:9999.123456" in ui.safe_markdown("arXiv:9999.123456")  # not an ID: left alone


def test_safe_url_allows_only_http():
    assert ui.safe_url("https://arxiv.org/abs/2602.00558") == "https://arxiv.org/abs/2602.00558"
    for bad in ("javascript:alert(1)", "data:text/html,x", 'https://x.org/"onclick="x', None, ""):
        assert ui.safe_url(bad) is None


def test_snippet_highlights_the_cited_span_with_context():
    text = "前文很长。" * 60 + "NetWorld 在无线网络中引入多智能体 RL。" + "后文。" * 80
    html = ui.snippet_html(text, "NetWorld 在无线网络中引入多智能体 RL")
    assert "<mark>NetWorld 在无线网络中引入多智能体 RL</mark>" in html
    assert html.startswith("…前文很长") and html.endswith("后文。…")  # CJK context kept
    assert len(html) < 2 * ui.SNIPPET_CONTEXT + 80
    words = "word " * 100
    html = ui.snippet_html(f"{words}the claim {words}", "the claim")
    assert html.startswith("…word ") and html.endswith("word…")  # cut at word boundaries
    # a quote the chunk does not contain is still shown, marked
    assert ui.snippet_html("abc", "xyz") == "<mark>xyz</mark>"
    # Markdown reads as plain text
    assert ui.snippet_html("see **[NetWorld](https://x.org)** now", "") == "see NetWorld now"


def test_snippet_quotes_arxiv_links_as_the_pipeline_does_and_links_them():
    chunk = "- [NetWorld](https://arxiv.org/abs/2602.00558) 在无线网络中引入多智能体 RL + 世界模型"
    html = ui.snippet_html(chunk, "NetWorld (arXiv:2602.00558) 在无线网络中引入多智能体 RL")
    link = '<a href="https://arxiv.org/abs/2602.00558" target="_blank" rel="noopener noreferrer">'
    assert html.startswith(f"- <mark>NetWorld ({link}arXiv:2602.00558</a>) 在无线网络")
    assert_inert(html.replace(link, "<a>"))


def _answer(**kw) -> Answer:
    sec = section_hit(
        "s1",
        "17.4.2",
        "多智能体世界模型：新兴趋势",
        "现有世界模型几乎全部采用单智能体视角。NetWorld 在无线网络中引入多智能体 RL + 世界模型。",
    )
    paper = paper_hit(
        "2602.00558",
        "NetWorld: Communication-Based Diffusion World Model",
        "We propose NetWorld, a communication-based diffusion world model.",
        authors=["A One", "B Two", "C Three", "D Four"],
        rank=2,
    )
    base = {
        "question": "NetWorld?",
        "text": "NetWorld 引入多智能体 RL [1]，是扩散世界模型 [2]。",
        "citations": [
            cite(1, sec, "NetWorld 在无线网络中引入多智能体 RL"),
            cite(
                2, paper, "a communication-based diffusion world model", flagged="anchor mismatch"
            ),
        ],
        "hits": [sec, paper],
        "grounded": 1.0,
        "timings": {"retrieve": 30.0, "total": 42.0},
    }
    base.update(kw)
    return Answer(**base)


def test_answer_content_lists_sections_and_papers_under_the_answer():
    html = rendered(ui.answer_content(_answer()))
    assert "§17.4.2" in html and "多智能体世界模型：新兴趋势" in html
    assert '<a href="https://arxiv.org/abs/2602.00558"' in html and "arXiv:2602.00558" in html
    assert "A One, B Two, C Three et al." in html
    assert "<mark>NetWorld 在无线网络中引入多智能体 RL</mark>" in html
    assert "<mark>a communication-based diffusion world model</mark>" in html
    assert 'class="flag"' in html and "anchor mismatch" in html
    # the markers in the text and the badges of the sources carry the same numbers
    assert re.findall(r'class="cite">(\d+)<', html) == re.findall(r'class="marker">(\d+)<', html)
    assert "grounded 100%" in html and "42 ms" in html
    assert 'class="warn"' not in html


def test_answer_content_shows_errors_as_one_line_and_refusals_without_sources():
    answer = _answer(error="openai-compatible: connection refused\n(127.0.0.1:9)")
    html = ui.answer_content(answer)
    line = "openai-compatible: connection refused (127.0.0.1:9)"
    assert f'<div class="warn" title="{line}">⚠ {line}</div>' in html
    refused = ui.answer_content(_answer(text="综述没有涉及这个问题。", citations=[], refused=True))
    assert "sources" not in refused and "综述没有涉及" in refused
    assert "not covered by the survey" in refused and "grounded" not in refused


def test_no_llm_notice_is_split_off_and_fallback_lead_replaced_by_the_warning():
    from assistant.prompts import phrase

    body = "- 现有世界模型几乎全部采用单智能体视角。 [1]"
    plain_answer = _answer(text=f"{body}\n\n{phrase('no_llm', 'zh')}", backend="none")
    assert ui.split_notices(plain_answer) == (body, phrase("no_llm", "zh"))
    html = ui.answer_content(plain_answer)
    assert f'<div class="note">{ui.esc(phrase("no_llm", "zh"))}</div>' in html
    failed = _answer(
        text=f"{phrase('fallback', 'en', error='timeout')}\n\n{body}",
        error="timeout",
        fallback=True,
    )
    assert ui.split_notices(failed) == (body, None)
    html = ui.answer_content(failed)
    assert "⚠ Showing quoted passages instead — timeout<" in html and "The LLM failed" not in html


def test_footer_reads_either_timing_style():
    assert "1.2 s" in ui.footer_html(_answer(timings={"retrieve_ms": 80.0, "total_ms": 1234.0}))
    assert "retrieve 80 ms" in ui.footer_html(_answer(timings={"retrieve_ms": 80.0}))


def test_sources_badge_papers_the_link_audit_flagged():
    paper = paper_hit(
        "2601.14354", "VJEPA: Variational JEPA", "We introduce VJEPA.", mislinked=["UAV Swarm"]
    )
    html = ui.answer_content(
        Answer(question="q", text="x [1]", citations=[cite(1, paper, "")], hits=[paper])
    )
    assert (
        '<span class="flag">⚠ link audit: the survey links this paper as &#x27;UAV Swarm&#x27;'
        in html
    )
    clean = paper_hit("2602.00558", "NetWorld", "abstract")
    html = ui.answer_content(
        Answer(question="q", text="x [1]", citations=[cite(1, clean, "")], hits=[clean])
    )
    assert "flag" not in html


def test_sources_escape_hostile_corpus_text_and_urls():
    evil = '<img src=x onerror="window.__pwned=1">'
    hit = section_hit("e", "1.1", evil, f"{evil} [y](javascript:alert(1)) tail")
    paper = paper_hit('2602.0"><script>x</script>', evil, evil, authors=[evil])
    citations = [cite(1, hit, evil), cite(2, paper, evil, flagged=evil)]
    citations[1] = citations[1].model_copy(update={"url": "javascript:alert(1)"})
    html = ui.answer_content(
        Answer(question="q", text=f"{evil} [1] [2]", citations=citations, hits=[hit, paper])
    )
    assert_inert(rendered(html))
    assert "&lt;img src=x onerror=" in html
    assert "href=" not in html  # neither the javascript: URL nor a broken arXiv ID is linked


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


def test_hits_panel_escapes_chunk_text():
    hit = section_hit("e", "1.1", "t", "<script>x</script> body & 1 < 2")
    html = ui.hits_html([hit])
    assert "<script" not in html and "dense #1" in html
    assert "body &amp; 1 &lt; 2" in html  # tags are dropped as markup, the rest escaped


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
    assert "[arXiv:2602.00558](https://arxiv.org/abs/2602.00558)" in zh  # named → linked
    assert '<a href="https://arxiv.org/abs/2602.00558"' in en and "arXiv:2602.00558" in en
    for reply in (zh, en):
        assert re.findall(r'class="cite">(\d+)<', reply)  # markers in the text
        assert 'class="meta"' in reply and 'class="warn"' not in reply


def test_a_mislinked_paper_gets_the_audit_badge_in_the_chat(assistant):
    with served(assistant) as url:
        reply = _reply(_client(url).predict("What is VJEPA?", "hybrid", 8, api_name="/chat"))
    assert "arXiv:2601.14354" in reply
    card = reply[reply.index("arXiv:2601.14354") :]
    assert 'class="flag"' in card and "Active Inference UAV Swarm" in card


def test_llm_answers_stream_into_the_chat_with_sources(built_index):
    """A real LLM backend (the stub server) streams; the final answer keeps valid markers."""
    text = (
        "NetWorld 是一个面向无线网络多智能体强化学习的扩散世界模型 [1]。"
        "它在无线网络中引入世界模型 [2]。"
    )
    with OpenAIStub() as stub:
        stub.replies.append(Reply(text=text, chunk_size=3))
        llm = Assistant(
            Settings(
                corpus_dir=BUNDLED_CORPUS,
                index_dir=built_index,
                llm_backend="openai-compatible",
                llm_base_url=stub.base_url,
                llm_model="stub",
            )
        )
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
    assert failed_reply.startswith('<div class="warn" title="Showing quoted passages instead — LLM')
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


def test_load_small(assistant):
    """A small bounded load run against the served app (the full run: scripts/load_test.py)."""
    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    with served(assistant) as url:
        report = run_load(url, questions, clients=5, per_client=4)
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
        page = browser.new_page(viewport={"width": 1360, "height": 1300})
        yield page
        browser.close()


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


@pytest.mark.slow
def test_browser_shows_answer_sources_and_arxiv_link(page, assistant):
    with served(assistant) as url:
        _open(page, url)
        page.wait_for_selector("#index-facts dl.facts")
        assert "chunks" in page.locator("#index-facts").inner_text()
        _ask(page, "What does NetWorld propose?")
        link = page.locator('#chat .sources a[href="https://arxiv.org/abs/2602.00558"]')
        assert link.first.is_visible() and link.first.inner_text() == "arXiv:2602.00558"
        assert link.first.get_attribute("target") == "_blank"
        assert page.locator("#chat .sources .authors").first.is_visible()

        _ask(page, "综述说 NetWorld 在无线网络中引入了什么？")
        last = page.locator("#chat .sources").last
        assert last.is_visible() and "§17.4.2" in last.inner_text()
        inline = page.locator('#chat .message-content a[href="https://arxiv.org/abs/2602.00558"]')
        assert inline.last.is_visible()
        assert page.locator("#chat .sources mark").count() >= 2  # cited spans highlighted
        page.wait_for_timeout(500)
        out = ROOT / "eval" / "results" / "ui.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        if os.environ.get("UPDATE_SCREENSHOT") == "1":  # refresh the README's copy on request
            shutil.copyfile(out, ROOT / "docs" / "screenshot.png")

        page.click("#clear")
        page.wait_for_function("document.querySelectorAll('#chat .meta').length === 0")
    assert out.stat().st_size > 20_000


@pytest.mark.slow
def test_browser_never_runs_hostile_answer_or_source_text(page):
    evil = "\n".join(HOSTILE)
    hit = section_hit("e", "1.1", HOSTILE[1], f"{evil} tail", arxiv_ids=["2602.00558"])
    paper = paper_hit("2602.00558", HOSTILE[0], HOSTILE[1], authors=[HOSTILE[8]])
    answer = Answer(
        question="q",
        text=f"{evil} [1] [2]",
        citations=[cite(1, hit, "tail"), cite(2, paper, HOSTILE[1], flagged=HOSTILE[1])],
        hits=[hit, paper],
        error=HOSTILE[1],
    )
    backend = FakeAssistant(lambda *_: answer)
    with served(backend) as url:
        _open(page, url)
        _ask(page, HOSTILE[1])
        page.locator("#chat .sources").first.wait_for(state="visible")
        page.wait_for_timeout(1500)  # give any injected handler time to fire
        assert page.evaluate("window.__pwned") is None
        assert page.title() != "pwned"
        text = page.locator("#chat").inner_text()
        assert "window.__pwned=1" in text  # the hostile text is shown, as text
        assert page.locator("#chat img, #chat script, #chat svg[onload]").count() == 0
        hrefs = page.eval_on_selector_all("#chat a", "els => els.map(e => e.href)")
        assert all(h.startswith(("http://", "https://")) for h in hrefs if h)

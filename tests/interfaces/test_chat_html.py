"""What the chat shows: linked markers, source cards with every quote, passages, exports."""

from __future__ import annotations

import html as htmllib
import re

from markdown_it import MarkdownIt

from assistant.interfaces import chat_html as ch
from assistant.interfaces.ui import Session, Turn, chat_messages
from assistant.models import Answer, Paper
from assistant.prompts import phrase
from tests.stubs.fake_assistant import CHALLENGES, cite, networld_answer, paper_hit, section_hit
from tests.stubs.hostile import HOSTILE, active_parts, assert_inert


def rendered(markdown: str) -> str:
    """HTML the way a CommonMark renderer with raw HTML on (like Gradio's) turns it out."""
    return MarkdownIt("commonmark", {"html": True}).render(markdown)


def payload(page: str, ident: str) -> str:
    """The text a copy button copies (what the page script reads)."""
    found = re.search(rf'<pre class="export" id="{ident}">(.*?)</pre>', page)
    assert found, ident
    return htmllib.unescape(found[1])


def test_each_marker_links_to_its_card_and_names_the_sentence_its_claim_quotes():
    page = ch.answer_html(networld_answer(), 3)
    links = re.findall(r'<a class="cite q(\d+)" href="#(t3-s\d)" title="([^"]+)">(\d)</a>', page)
    assert [(q, href, n) for q, href, _, n in links] == [
        ("1", "t3-s1", "1"),  # "现有模型是单智能体的" rests on the second quote
        ("0", "t3-s1", "1"),
        ("0", "t3-s2", "2"),
    ]
    assert links[0][2] == "§17.4.2 多智能体世界模型：新兴趋势"
    assert links[2][2] == "arXiv:2602.00558 — NetWorld: Communication-Based Diffusion World Model"
    for _, href, _, _ in links:  # every link has its target, once
        assert page.count(f'id="{href}"') == 1
    assert 'id="t3-s1-q1">现有世界模型几乎全部采用单智能体视角。</mark>' in page
    assert 'id="t3-s1-q0">NetWorld 在无线网络中引入多智能体 RL + 世界模型。</mark>' in page
    assert "\n" not in page  # one HTML block: Markdown leaves it whole


def test_a_card_highlights_every_quoted_item_in_its_numbered_list():
    hit = section_hit("c", "17.4", "主要挑战", CHALLENGES)
    quotes = (
        "9. 挑战9：第 9 个问题的说明",
        "4. 挑战4：第 4 个问题的说明",
        "10. 挑战10：第 10 个问题的说明",
    )
    citation = cite(1, hit, quotes[0]).model_copy(update={"quotes": quotes})
    answer = Answer(
        question="q",
        text="\n".join(f"- {quotes[n].split(' ', 1)[1]} [1]" for n in (1, 0, 2)),
        citations=[citation],
        hits=[hit],
    )
    page = ch.answer_html(answer, 1)
    card = page[page.index('id="t1-s1"') :]
    excerpt = card[: card.index("</div>", card.index('class="excerpt"'))]
    marked = re.findall(r'<li><strong><mark class="quote q(\d)"[^>]*>挑战(\d+)</mark>', excerpt)
    assert sorted(marked, key=lambda m: int(m[1])) == [("1", "4"), ("0", "9"), ("2", "10")]
    assert '<ol start="4">' in excerpt and '<ol start="9">' in excerpt  # numbered as written
    assert "挑战5" not in excerpt and "<p>…</p>" in excerpt  # the rest is elided…
    assert "挑战5" in card and "<summary>Whole passage</summary>" in card  # …one click away
    # each answer line's marker names its own item
    assert re.findall(r'class="cite q(\d)"', page) == ["1", "0", "2"]
    # one marker per answer line: no list inside a bullet
    body = page[: page.index('class="sources"')]
    assert "<ol" not in body and body.count("<li>") == 3


def test_a_quoted_table_row_is_highlighted_in_a_real_table():
    text = (
        "| 时间段 | 论文数 |\n|---|---|\n| 2023 | ~40 篇 |\n| 2024 | ~80 篇 |\n\n从 2024 年起激增。"
    )
    hit = section_hit("t", "17.1", "研究爆发", text)
    citation = cite(1, hit, "时间段: 2024 · 论文数: ~80 篇").model_copy(
        update={"quotes": ("时间段: 2024 · 论文数: ~80 篇", "从 2024 年起激增。")}
    )
    answer = Answer(question="q", text="2024 年约 80 篇 [1]。", citations=[citation], hits=[hit])
    page = ch.answer_html(answer, 1)
    assert "<th>时间段</th>" in page and "---" not in page and "|" not in page
    assert '<td><mark class="quote q0" id="t1-s1-q0">2024</mark></td>' in page
    assert '<td><mark class="quote q0">~80 篇</mark></td>' in page
    assert '<p><mark class="quote q1" id="t1-s1-q1">从 2024 年起激增。</mark></p>' in page
    assert "<td>2023</td>" in page  # the rest of the table, for context


def test_a_chunk_that_starts_inside_a_table_gets_its_header_back():
    hit = section_hit("t2", "17.3", "SOTA", "| Vista | 长程一致性最佳 |\n| Genie 2 | 3D 交互 |")
    hit.chunk.__dict__["context"] = "17.3 SOTA\n| 方法 | 指标 |\n|---|---|"
    passage, _ = ch.passage_html(hit.chunk, whole=True)
    assert "<th>方法</th>" in passage and "<td>Vista</td>" in passage and "|" not in passage


def test_retrieved_passages_are_rendered_once_per_chunk_and_stay_distinct():
    hit = section_hit("t3", "17.3", "SOTA", "| Vista | 长程一致性最佳 |")
    first = ch.hits_html([hit])
    assert ch.whole_passage_html(hit.chunk) is ch.whole_passage_html(hit.chunk)
    assert ch.hits_html([hit]) == first and "Vista" in first and "<th>" not in first
    other = hit.chunk.model_copy(update={"context": "17.3 SOTA\n| 方法 | 指标 |\n|---|---|"})
    assert "<th>方法</th>" in ch.whole_passage_html(other)  # same id, other fields: no reuse
    assert "<th>方法</th>" not in ch.whole_passage_html(hit.chunk)


def test_a_long_paragraph_is_cut_to_the_quoted_sentence_and_its_neighbours():
    sentences = [f"Sentence number {n} says something about world models." for n in range(12)]
    hit = paper_hit("2602.00558", "NetWorld", " ".join(sentences))
    citation = cite(1, hit, sentences[6]).model_copy(update={"quotes": (sentences[6],)})
    answer = Answer(question="q", text="It says so [1].", citations=[citation], hits=[hit])
    page = ch.answer_html(answer, 1)
    excerpt = page[page.index('class="excerpt"') : page.index("<details")]
    assert "Sentence number 5" in excerpt and "Sentence number 7" in excerpt
    assert "Sentence number 2 " not in excerpt and excerpt.count("…") == 2
    assert f'<mark class="quote q0" id="t1-s1-q0">{sentences[6]}</mark>' in excerpt
    assert "Sentence number 2 " in page  # in the whole passage


def test_a_quote_the_chunk_does_not_hold_is_still_shown_highlighted():
    hit = section_hit("x", "1.1", "t", "abc def.")
    answer = Answer(question="q", text="x [1]", citations=[cite(1, hit, "xyz")], hits=[hit])
    page = ch.answer_html(answer, 1)
    assert '<p class="loose"><mark class="quote q0" id="t1-s1-q0">xyz</mark></p>' in page
    assert "abc def." in page  # the passage's start, for context


def test_passages_panel_renders_lists_and_tables():
    table = section_hit("t", "17.1", "研究爆发", "| a | b |\n|---|---|\n| 1 | 2 |")
    items = section_hit("l", "17.4", "主要挑战", CHALLENGES, rank=2)
    page = ch.hits_html([table, items])
    assert "<table>" in page and "---" not in page and "dense #1" in page
    assert "<ol>" in page and page.count("<li>") == 10
    hostile = section_hit("e", "1.1", "<b>t</b>", "<script>x</script> body & 1 < 2")
    page = ch.hits_html([hostile])
    assert "<script" not in page and "&lt;b&gt;t&lt;/b&gt;" in page and "1 &lt; 2" in page


def test_unsupported_claims_are_marked_where_they_are_and_listed_otherwise():
    answer = networld_answer(
        unsupported=["NetWorld 引入多智能体 RL [1]", "A claim not in the text."]
    )
    page = ch.answer_html(answer, 1)
    body = page[: page.index('class="sources"')]
    assert '<span class="unsupported">NetWorld 引入多智能体 RL <a class="cite q0"' in body
    assert '</a></span><span class="unsupported-tag"' in body  # the flag follows the claim
    assert body.count('class="unsupported-tag"') == 2  # in place, and the list heading
    assert "<li>A claim not in the text.</li>" in body
    assert "2 unsupported claims" in page


def test_the_no_llm_notice_shows_under_the_first_answer_only():
    notice = phrase("no_llm", "zh")
    answer = networld_answer(text=f"答 [1]\n\n{notice}", notice=notice)
    session = Session([Turn("q1", answer=answer), Turn("q2", answer=answer)])
    first, second = (m["content"] for m in chat_messages(session) if m["role"] == "assistant")
    note = f'<div class="note">{ch.esc(notice)}</div>'
    assert note in first and note not in second
    assert notice not in second and ch.esc(notice) not in second.replace(note, "")


def test_errors_show_as_one_line_and_refusals_without_sources_or_buttons():
    answer = networld_answer(error="openai-compatible: connection refused\n(127.0.0.1:9)")
    line = "openai-compatible: connection refused (127.0.0.1:9)"
    assert f'<div class="warn" title="{line}">⚠ {line}</div>' in ch.answer_html(answer, 1)
    refused = ch.answer_html(
        networld_answer(text="综述没有涉及这个问题。", citations=[], refused=True), 1
    )
    assert "sources" not in refused and "综述没有涉及" in refused and "copy-export" not in refused
    assert "not covered by the survey" in refused and "grounded" not in refused


def test_copy_buttons_carry_markdown_with_references_and_bibtex_with_the_cited_ids():
    extra = Paper(id="2601.14354", title="VJEPA", authors=("Y Huang",), published="2026-01-20")
    answer = networld_answer(text="扩散世界模型 [2]，另见 VJEPA (arXiv:2601.14354) [1]。")
    page = ch.answer_html(answer, 2, papers={extra.id: extra})
    markdown = payload(page, "t2-md")
    assert "[2] [arXiv:2602.00558](https://arxiv.org/abs/2602.00558) — NetWorld" in markdown
    assert "[1] §17.4.2 多智能体世界模型：新兴趋势" in markdown
    bibtex = payload(page, "t2-bib")
    assert "eprint = {2602.00558}" in bibtex and "eprint = {2601.14354}" in bibtex
    assert 'id="t2-bib-copy"' in page and "Copy BibTeX (2)" in page
    no_papers = ch.answer_html(networld_answer(citations=answer.citations[:1]), 1)
    assert 'id="t1-md-copy"' in no_papers and "bib-copy" not in no_papers


def test_the_footer_reads_either_timing_style():
    assert "1.2 s" in ch.footer_html(
        networld_answer(timings={"retrieve_ms": 80.0, "total_ms": 1234.0})
    )
    assert "retrieve 80 ms" in ch.footer_html(networld_answer(timings={"retrieve_ms": 80.0}))


def test_the_link_audit_badges_a_mislinked_paper():
    paper = paper_hit(
        "2601.14354", "VJEPA: Variational JEPA", "We introduce VJEPA.", mislinked=["UAV Swarm"]
    )
    page = ch.answer_html(
        Answer(question="q", text="x [1]", citations=[cite(1, paper, "")], hits=[paper]), 1
    )
    assert (
        '<span class="flag">⚠ link audit: the survey links this paper as &#x27;UAV Swarm&#x27;'
        in page
    )
    clean = paper_hit("2602.00558", "NetWorld", "abstract")
    page = ch.answer_html(
        Answer(question="q", text="x [1]", citations=[cite(1, clean, "")], hits=[clean]), 1
    )
    assert "flag" not in page


def test_hostile_answer_and_source_text_stays_inert_in_text_cards_tooltips_and_exports():
    evil = "\n".join(HOSTILE)
    hit = section_hit("e", "1.1", HOSTILE[1], f"{evil}\n\ntail [y](javascript:alert(1))")
    paper = paper_hit('2602.0"><script>x</script>', HOSTILE[10], HOSTILE[0], authors=[HOSTILE[1]])
    citations = [cite(1, hit, "tail"), cite(2, paper, HOSTILE[0], flagged=HOSTILE[1])]
    citations[1] = citations[1].model_copy(update={"url": "javascript:alert(1)"})
    answer = Answer(
        question=HOSTILE[1],
        text=f"{evil} [1] [2]",
        citations=citations,
        hits=[hit, paper],
        unsupported=[HOSTILE[0]],
        error=HOSTILE[1],
    )
    page = ch.answer_html(answer, 1)
    assert_inert(rendered(page))
    assert "window.__pwned=1" in htmllib.unescape(page)  # shown, as text
    hrefs = set(re.findall(r'<a [^>]*href="([^"]*)"', page))
    assert hrefs == {"#t1-s1", "#t1-s2", "https://example.invalid/track.png"}  # no javascript:,
    # no link for the broken arXiv ID, and the image is a link (never loaded)
    titles = re.findall(r'title="([^"]*)"', page)
    assert all("<" not in t and ">" not in t for t in titles)  # tooltips escaped
    markdown = payload(page, "t1-md")
    assert active_parts(rendered(markdown)) == []  # the export renders inert too
    bibtex = payload(page, "t1-bib") if 'id="t1-bib"' in page else ""
    assert "<script>" not in bibtex
    assert ch.question_html(HOSTILE[1]).startswith("<p>&lt;img")


def test_a_streaming_answer_renders_as_it_comes_with_plain_marker_badges():
    page = ch.partial_html("NetWorld 是 [2]。\n\n- a [1]\n" + HOSTILE[0])
    assert '<span class="cite">2</span>' in page and "<li>a <span" in page
    assert page.endswith('<span class="caret">▍</span></div></div>') and "href" not in page
    assert_inert(rendered(page))


def test_a_quoted_code_line_is_shown_in_its_code_block():
    text = "Intro.\n\n```python\nimport torch\nmodel = WorldModel()\n```\n\nOutro."
    hit = section_hit("k", "5.1", "代码", text)
    answer = Answer(
        question="q", text="x [1]", citations=[cite(1, hit, "model = WorldModel()")], hits=[hit]
    )
    page = ch.answer_html(answer, 1)
    excerpt = page[page.index('class="excerpt"') : page.index("<details")]
    assert '<pre><code class="language-python">import torch' in excerpt
    assert '<mark class="quote q0" id="t1-s1-q0">model = WorldModel()</mark>' in excerpt
    assert "Intro." not in excerpt and "Outro." not in excerpt


def test_a_notice_about_this_answer_shows_above_it_every_time():
    notice = phrase("unchecked", "en")
    answer = networld_answer(text=f"{notice}\n\n答 [1]", notice=notice)
    session = Session([Turn("q1", answer=answer), Turn("q2", answer=answer)])
    for message in chat_messages(session)[1::2]:
        page = message["content"]
        assert page.startswith('<div class="answer" id="t') and '<div class="notice">⚠ ' in page
        assert page.index('class="notice"') < page.index('class="answer-body"')
        body = page[page.index('class="answer-body"') : page.index('class="sources"')]
        assert "checked against" not in body

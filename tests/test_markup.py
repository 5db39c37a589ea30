"""Markdown → inert HTML, marks that survive rendering, Markdown and BibTeX escapes."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from assistant import markup
from tests.stubs.hostile import HOSTILE, assert_inert


@pytest.mark.parametrize("text", HOSTILE)
def test_rendered_markdown_is_inert_and_shows_the_text(text):
    html = markup.render_markdown(text)
    assert_inert(html)
    assert "window.__pwned" in html  # shown as text, not dropped


def test_rendering_keeps_lists_tables_and_http_links_on_one_line():
    html = markup.render_markdown(
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n4. four\n5. five\n\n- x\n\n[y](https://a.org/y)"
    )
    assert "<table>" in html and "<td>2</td>" in html and "---" not in html
    assert '<ol start="4">' in html and "<ul>" in html
    assert '<a href="https://a.org/y" target="_blank" rel="noopener noreferrer">y</a>' in html
    assert "\n" not in html  # one HTML block inside a Markdown message


def test_marks_wrap_each_text_run_and_never_cross_elements():
    text = "| a | b |\n|---|---|\n| x1 | y1 |\n\n- **bold** tail\n"
    row = text.index("x1"), text.index("y1") + 2
    item = text.index("**bold"), text.index("tail") + 4
    marked = markup.insert_marks(text, [row, item])
    html = markup.wrap_marks(
        markup.render_markdown(marked),
        lambda i, f: markup.wrap_runs(f, lambda first: f'<mark class="m{i}">', "</mark>"),
    )
    assert '<td><mark class="m0">x1</mark></td>' in html
    assert '<td><mark class="m0">y1</mark></td>' in html
    assert '<li><strong><mark class="m1">bold</mark></strong><mark class="m1"> tail</mark>' in html
    assert markup.strip_private(html) == html  # no sentinel left behind


def test_private_use_characters_in_the_input_cannot_forge_marks():
    forged = "a \ue100 b \ue001 c"
    html = markup.wrap_marks(markup.render_markdown(markup.strip_private(forged)), lambda *_: "X")
    assert "X" not in html and "a  b  c" in html


def test_inert_markdown_defuses_links_and_html_but_keeps_http_links():
    md = markup.inert_markdown(
        "<b>x</b> [ok](https://a.org) [bad](javascript:alert(1)) ![i](https://t/p.png) "
        "arXiv:2602.00558"
    )
    html = MarkdownIt("commonmark", {"html": True}).render(md)
    assert_inert(html)
    assert '<a href="https://a.org">ok</a>' in html
    assert '<a href="https://arxiv.org/abs/2602.00558">arXiv:2602.00558</a>' in html
    assert "&lt;b&gt;" in html and "javascript:alert(1)" in html


def test_markdown_text_and_bibtex_text_escape_their_specials():
    assert markup.markdown_text("a *b* [c](d) <e>") == r"a \*b\* \[c\](d) \<e\>"
    assert markup.bibtex_text("50% {x} & y_z \\ ~ ^ $ #") == (
        r"50\% \{x\} \& y\_z \textbackslash{} \~{} \^{} \$ \#"
    )


def test_only_well_formed_arxiv_ids_and_http_urls_are_linked():
    assert markup.arxiv_url("2602.00558") == "https://arxiv.org/abs/2602.00558"
    assert markup.arxiv_url("hep-th/9901001") == "https://arxiv.org/abs/hep-th/9901001"
    assert markup.arxiv_url('2602.0"><script>') is None
    for bad in ("javascript:alert(1)", "data:text/html,x", 'https://x.org/"onclick="x', None):
        assert markup.safe_url(bad) is None

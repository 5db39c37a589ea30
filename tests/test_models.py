"""Answers to take away: Markdown with numbered references, BibTeX for the cited papers."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from assistant.models import Answer, Paper
from assistant.prompts import phrase
from tests.stubs.fake_assistant import cite, networld_answer, paper_hit, section_hit
from tests.stubs.hostile import HOSTILE, active_parts


def test_markdown_has_the_answer_and_numbered_references_without_the_notice():
    notice = phrase("no_llm", "en")
    answer = networld_answer(text=f"{networld_answer().text}\n\n{notice}", notice=notice)
    markdown = answer.to_markdown()
    assert markdown.startswith("**NetWorld?**\n\n现有模型是单智能体的 [1]。")
    assert notice not in markdown and "ASSISTANT_LLM_BACKEND" not in markdown
    references = markdown[markdown.index("**References**") :].split("\n\n")[1:]
    assert references == [
        "[1] §17.4.2 多智能体世界模型：新兴趋势",
        "[2] [arXiv:2602.00558](https://arxiv.org/abs/2602.00558) — NetWorld: Communication-Based "
        "Diffusion World Model. A One, B Two, C Three et al.\n",
    ]


def test_markdown_lists_unsupported_claims_and_renders_inert():
    answer = networld_answer(
        text="\n".join(HOSTILE) + " [1]", unsupported=["<b>claim</b>"], question=HOSTILE[1]
    )
    markdown = answer.to_markdown()
    html = MarkdownIt("commonmark", {"html": True}).render(markdown)
    assert active_parts(html) == []
    assert "⚠ Not supported by the retrieved sources: “\\<b\\>claim\\</b\\>”" in markdown


def test_bibtex_has_an_entry_per_cited_paper_with_the_abstracts_metadata():
    cited = Paper(
        id="2602.00558",
        title="NetWorld: Communication-Based Diffusion World Model",
        authors=("Kechen Meng", "Rongpeng Li"),
        published="2026-01-31",
        categories=("cs.NI", "cs.LG"),
    )
    named = Paper(id="2601.14354", title="VJEPA: Variational JEPA", authors=("Yongchao Huang",))
    answer = networld_answer(text="扩散世界模型 [2]，另见 VJEPA (arXiv:2601.14354v2) [1]。")
    bibtex = answer.bibtex({p.id: p for p in (cited, named)})
    entries = bibtex.split("\n\n")
    assert [re.match(r"@misc\{(\w+),", e)[1] for e in entries] == [
        "meng2026networld",
        "huang2026vjepa",  # no date: the year from the ID
    ]
    first = entries[0].splitlines()
    assert first[1:] == [
        "  title = {{NetWorld: Communication-Based Diffusion World Model}},",
        "  author = {Kechen Meng and Rongpeng Li},",
        "  year = {2026},",
        "  eprint = {2602.00558},",
        "  archivePrefix = {arXiv},",
        "  primaryClass = {cs.NI},",
        "  url = {https://arxiv.org/abs/2602.00558},",
        "}",
    ]
    assert answer.bibtex({p.id: p for p in (cited, named)}) == bibtex  # stable
    # without the abstracts file: what the citation carries
    assert "author = {A One and B Two and C Three and D Four}" in answer.bibtex()
    assert networld_answer(citations=answer.citations[:1], text="x [1]").bibtex() == ""


def test_bibtex_escapes_specials_and_keeps_keys_apart():
    same = [
        paper_hit(f"2602.0055{n}", "The {Role} of 50% & $x_1$ #1", "a", authors=["Jürgen Ä"])
        for n in range(2)
    ]
    hostile = paper_hit("2602.00999", HOSTILE[0], "a", authors=["A and B Lab", "} @misc{x,"])
    hits = [*same, hostile]
    answer = Answer(
        question="q",
        text="a [1] b [2] c [3]",
        citations=[cite(n, h, "") for n, h in enumerate(hits, 1)],
        hits=hits,
    )
    bibtex = answer.bibtex()
    assert re.findall(r"@misc\{(\w+),", bibtex) == ["a2026role", "a2026roleb", "lab2026script"]
    assert r"title = {{The \{Role\} of 50\% \& \$x\_1\$ \#1}}" in bibtex
    assert "author = {{A and B Lab} and \\} @misc\\{x,}" in bibtex
    assert bibtex.count("{") - bibtex.count("\\{") == bibtex.count("}") - bibtex.count("\\}")


def test_section_citations_name_no_paper_and_malformed_ids_are_left_out():
    sec = section_hit("s", "1.1", "t", "x", arxiv_ids=["2602.00558"])
    answer = Answer(
        question="q", text="x [1] (arXiv:2602.0x)", citations=[cite(1, sec, "x")], hits=[sec]
    )
    assert answer.cited_papers() == [] and answer.bibtex() == ""


def test_a_refusal_threshold_stored_in_another_form_is_dropped_not_an_error():
    from assistant.models import Manifest

    base = {
        "build_id": "b",
        "collection": "c",
        "embedder": "e",
        "dim": 3,
        "chunking": {},
        "corpus_hash": "h",
        "chunks": 1,
        "sections": 1,
        "abstracts": 0,
        "built_at": "t",
        "corpus_dir": "d",
    }
    old = {
        "signal": "contrast",
        "thresholds": {"zh": 0.01},
        "method": "m",
        "key": "k",
        "margin": 0.0,
        "off_topic": {},
        "corpus": {},
    }
    assert Manifest.model_validate({**base, "refusal": old}).refusal is None
    new = {**old, "thresholds": {"zh": {"zh": 0.01}}}
    assert Manifest.model_validate({**base, "refusal": new}).refusal.thresholds["zh"]["zh"] == 0.01

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.errors import CorpusError
from assistant.ingest.audit import audit_corpus
from assistant.ingest.corpus import (
    load_corpus,
    load_papers,
    normalize_arxiv_id,
    parse_markdown,
    split_heading,
)
from tests.conftest import BUNDLED_CORPUS, ROOT

SAMPLE = """---
outline: deep
title: x
---

# 第五章 视频生成

引言段落，见 [Sora](https://arxiv.org/pdf/2402.17177v2.pdf)。

## 5.1 架构

| 模型 | 链接 |
|------|------|
| Wan2.1 | [arXiv](https://arxiv.org/abs/2503.20314v1) |
| HunyuanVideo | [paper](http://export.arxiv.org/abs/2412.03603) |

```python
# not a heading
x = 1
```

### 5.1.1 细节

- 条目一 [old](https://arxiv.org/abs/hep-th/9901001v3)
- 条目二 ![badge](https://img.shields.io/badge/x) [code](https://github.com/a/b)

## 一、总结

收尾。

## 一、总结

重复标题。

### 没有编号
文字。
"""


def test_front_matter_dropped_and_headings_split():
    sections = parse_markdown(SAMPLE, "chapters/video.md")
    assert [s.ref for s in sections][:3] == [
        "chapters/video.md#第五章-视频生成",
        "5.1",
        "5.1.1",
    ]
    assert all("outline: deep" not in s.text for s in sections)
    chapter = sections[0]
    assert chapter.number == "五" and chapter.title == "视频生成"
    assert chapter.text.startswith("引言段落")


def test_heading_attributes_are_not_part_of_the_title():
    md = "## 1.1 定义 {#definition}\n\n正文。\n\n## 1.2 Sets {a, b}\n\n正文。\n"
    sections = parse_markdown(md, "x.md")
    assert [(s.number, s.title) for s in sections] == [("1.1", "定义"), ("1.2", "Sets {a, b}")]


def test_paths_follow_dotted_numbers_and_levels():
    by_title = {s.title: s for s in parse_markdown(SAMPLE, "v.md")}
    assert by_title["细节"].path == ("第五章 视频生成", "5.1 架构", "5.1.1 细节")
    assert by_title["没有编号"].path[-2:] == ("一、总结", "没有编号")
    assert by_title["细节"].level == 3


def test_code_fence_hash_is_not_a_heading_and_tables_stay_whole():
    sec = next(s for s in parse_markdown(SAMPLE, "v.md") if s.number == "5.1")
    assert "# not a heading" in sec.text
    table = next(b for b in sec.blocks if b.kind == "table")
    assert sec.text[table.start : table.end].count("\n") >= 3
    assert len(table.items) == 3  # header+separator, two rows
    assert [b.kind for b in sec.blocks] == ["table", "code"]


def test_links_with_versions_pdf_and_old_ids():
    sections = parse_markdown(SAMPLE, "v.md")
    links = [link for s in sections for link in s.links]
    ids = [link.arxiv_id for link in links]
    assert "2402.17177" in ids and "2503.20314" in ids and "2412.03603" in ids
    assert "hep-th/9901001" in ids
    anchors = {link.arxiv_id: link.text for link in links}
    assert anchors["2503.20314"] == "arXiv"
    github = [link for link in links if "github.com" in link.url]
    assert github and github[0].arxiv_id is None


def test_unnumbered_duplicates_get_unique_stable_ids():
    ids = [s.id for s in parse_markdown(SAMPLE, "v.md")]
    assert len(ids) == len(set(ids))
    assert ids == [s.id for s in parse_markdown(SAMPLE, "v.md")]
    assert any(i.endswith("-2") for i in ids)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://arxiv.org/abs/2502.10498", "2502.10498"),
        ("https://arxiv.org/abs/2502.10498v2", "2502.10498"),
        ("https://arxiv.org/pdf/2502.10498v2.pdf", "2502.10498"),
        ("arXiv:2602.00558v1", "2602.00558"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("https://arxiv.org/abs/math.GT/0309136v1", "math.GT/0309136"),
        ("https://github.com/x/y", None),
        ("2502.1049", None),
        ("1412.6980", "1412.6980"),
        ("2513.00001", None),
    ],
)
def test_normalize_arxiv_id(raw, expected):
    assert normalize_arxiv_id(raw) == expected
    if expected:
        assert normalize_arxiv_id(expected) == expected


@pytest.mark.parametrize(
    ("heading", "number", "title"),
    [
        ("17.4.1 安全与伦理：深入讨论", "17.4.1", "安全与伦理：深入讨论"),
        ("一、背景", "一", "背景"),
        ("2025 年的突破", None, "2025 年的突破"),
        ("Sora", None, "Sora"),
    ],
)
def test_split_heading(heading, number, title):
    assert split_heading(heading) == (number, title)


def test_bundled_corpus_sections():
    corpus = load_corpus(BUNDLED_CORPUS, BUNDLED_CORPUS / "abstracts.jsonl", ("README.md",))
    refs = [s.ref for s in corpus.sections if s.number]
    assert refs == ["17.1", "17.2", "17.3", "17.4", "17.4.1", "17.4.2", "17.5"]
    assert corpus.files == ["trends.md"]
    assert len(corpus.papers) == 7
    by_ref = {s.ref: s for s in corpus.sections}
    assert by_ref["17.4.2"].arxiv_ids == ("2602.10298", "2602.00558", "2601.14354")
    assert by_ref["17.4.1"].title == "安全与伦理：深入讨论"


def test_missing_and_empty_corpus(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no Markdown"):
        load_corpus(tmp_path)


def test_non_utf8_file_is_named(tmp_path):
    (tmp_path / "gbk.md").write_bytes("### 1.1 标题\n正文".encode("gb18030"))
    with pytest.raises(CorpusError, match=r"gbk\.md is not UTF-8"):
        load_corpus(tmp_path)


def test_malformed_abstract_lines_are_reported_and_skipped(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"id": "2502.10498v2", "title": "A", "abstract": "x"}\n'
        "not json\n"
        '{"title": "no id"}\n'
        "\n"
        '{"id": "2602.00558", "title": "B", "abstract": "y"}\n',
        encoding="utf-8",
    )
    papers, problems = load_papers(path)
    assert [p.id for p in papers] == ["2502.10498", "2602.00558"]
    assert len(problems) == 2
    assert problems[0].startswith(f"{path}:2:") and problems[1].startswith(f"{path}:3:")


# --- properties -------------------------------------------------------------------------------


MARKDOWNISH = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "# ",
                "## 1.2 ",
                "### 17.4.1 ",
                "#### 一、",
                "\n",
                "\n\n",
                "| a | b |\n|---|---|\n",
                "- item\n",
                "1. one\n",
                "```\n",
                "---\n",
                "[x](https://arxiv.org/abs/2502.10498v2)",
                "**粗体**",
                "世界模型。",
                "<script>x</script>",
                "\r\n",
                "\x00",
                "\u200b",
            ]
        ),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(MARKDOWNISH)
def test_any_text_parses_into_verbatim_sections(text):
    sections = parse_markdown(text, "x.md")
    for section in sections:
        assert section.text in text.replace("\r\n", "\n") or section.text in text
        for block in section.blocks:
            assert 0 <= block.start <= block.end <= len(section.text)
    assert len({s.id for s in sections}) == len(sections)


ARXIV_FORMS = st.builds(
    lambda yymm, num, version, form: form.format(id=f"{yymm}.{num:05d}", v=version),
    st.sampled_from(["1501", "1912", "2502", "2601"]),
    st.integers(0, 99999),
    st.sampled_from(["", "v1", "v12"]),
    st.sampled_from(
        [
            "{id}{v}",
            "arXiv:{id}{v}",
            "https://arxiv.org/abs/{id}{v}",
            "https://arxiv.org/pdf/{id}{v}.pdf",
            "http://export.arxiv.org/abs/{id}{v}",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(ARXIV_FORMS)
def test_arxiv_forms_normalise_to_the_bare_id(raw):
    normal = normalize_arxiv_id(raw)
    assert normal is not None and "v" not in normal and "/" not in normal
    assert normalize_arxiv_id(normal) == normal


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_normalisation_is_idempotent_on_any_text(raw):
    normal = normalize_arxiv_id(raw)
    if normal is not None:
        assert normalize_arxiv_id(normal) == normal


HELDOUT = ROOT / "eval" / "heldout"


def test_a_chapter_in_another_heading_style_parses_and_its_eval_set_is_consistent():
    """The held-out chapter (##/###/#### headings, other topic) and its questions."""
    import json

    corpus = load_corpus(HELDOUT / "corpus", HELDOUT / "corpus" / "abstracts.jsonl")
    numbers = [s.number for s in corpus.sections]
    assert numbers[:5] == ["18", "18.1", "18.2", "18.2.1", "18.2.2"]
    nested = next(s for s in corpus.sections if s.number == "18.2.3")
    assert nested.path[-2].endswith("主流架构范式")
    assert sum(len(s.links) for s in corpus.sections) == 7
    mismatches = audit_corpus(corpus).mismatches
    assert [(m.arxiv_id, m.suggested) for m in mismatches] == [("2602.03536", "2602.03563")]
    texts = {s.ref: s.text for s in corpus.sections}
    abstracts = {p.id: _indexed(p) for p in corpus.papers}
    lines = (HELDOUT / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    for question in map(json.loads, lines):
        gold = [texts[n] for n in question["sections"]] + [abstracts[i] for i in question["arxiv"]]
        assert bool(gold) == question["answerable"], question["id"]
        for expected in question["expect"]:
            assert any(expected in text for text in gold), (question["id"], expected)


def _indexed(paper) -> str:
    """What the index holds of a paper (its chunk: title, abstract, authors)."""
    return f"arXiv:{paper.id} {paper.title}\n{paper.abstract}\n{', '.join(paper.authors)}"


@pytest.mark.parametrize(
    "folder", sorted(HELDOUT.parent.glob("heldout*/")), ids=lambda folder: folder.name
)
def test_every_held_out_set_is_consistent_with_its_chapter(folder):
    """Gold sections exist, expected strings are in the gold texts, unanswerable questions
    have no gold, and the audit finds the mislink each chapter plants."""
    import json

    corpus = load_corpus(folder / "corpus", folder / "corpus" / "abstracts.jsonl")
    assert corpus.sections and corpus.papers
    assert audit_corpus(corpus).mismatches
    texts = {s.ref: s.text for s in corpus.sections}
    abstracts = {p.id: _indexed(p) for p in corpus.papers}
    questions = [json.loads(line) for line in (folder / "questions.jsonl").read_text().splitlines()]
    assert len({q["id"] for q in questions}) == len(questions) >= 20
    assert {q["answerable"] for q in questions} == {True, False}
    for question in questions:
        gold = [texts[n] for n in question["sections"]] + [abstracts[i] for i in question["arxiv"]]
        assert bool(gold) == question["answerable"], question["id"]
        for expected in question["expect"]:
            assert any(expected in text for text in gold), (question["id"], expected)

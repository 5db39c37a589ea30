import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.ingest.chunking import BYLINE, chunk_corpus, chunk_paper, chunk_section
from assistant.ingest.corpus import load_corpus, parse_markdown
from assistant.models import Chunk, Paper
from tests.conftest import BUNDLED_CORPUS


def count(text: str) -> int:
    """One token per character: easy to reason about in assertions."""
    return len(text)


def covered(section, chunks) -> str:
    """The section text rebuilt from chunk spans (overlaps counted once)."""
    end = 0
    out = []
    for chunk in chunks:
        if chunk.end > end:
            out.append(section.text[max(end, chunk.start) : chunk.end])
            end = chunk.end
    return "".join(out)


CHINESE = "### 1.1 测试\n\n" + "".join(f"这是第{i}句话，内容比较长一些。" for i in range(40))


def test_chinese_cut_at_sentence_ends_with_overlap():
    section = parse_markdown(CHINESE, "t.md")[0]
    chunks = chunk_section(section, count, max_tokens=60, overlap_tokens=20)
    assert len(chunks) > 5
    for chunk in chunks:
        assert len(chunk.text) <= 60
        assert chunk.text.endswith("。")
        assert chunk.text == section.text[chunk.start : chunk.end]
    assert any(b.start < a.end for a, b in itertools.pairwise(chunks))  # overlap exists
    assert "".join(covered(section, chunks).split()) == "".join(section.text.split())


def test_table_rows_never_cut_and_header_carried():
    rows = "\n".join(f"| 模型{i} | {i}.5% | 很长的描述文字用来占位 |" for i in range(30))
    md = "### 2.1 表格\n\n| 名称 | 分数 | 说明 |\n|---|---|---|\n" + rows + "\n"
    section = parse_markdown(md, "t.md")[0]
    chunks = chunk_section(section, count, max_tokens=200, overlap_tokens=0)
    assert len(chunks) > 2
    for chunk in chunks:
        for line in chunk.text.splitlines():
            assert line.startswith("|") and line.endswith("|")
    assert "| 名称 | 分数 | 说明 |" in chunks[1].context


def test_chunks_never_span_sections_and_carry_metadata():
    corpus = load_corpus(BUNDLED_CORPUS, BUNDLED_CORPUS / "abstracts.jsonl", ("README.md",))
    chunks = chunk_corpus(corpus, count, 300, 40)
    sections = {s.id: s for s in corpus.sections}
    for chunk in chunks:
        if chunk.kind == "section":
            assert chunk.text in sections[chunk.section_id].text
            assert chunk.context.startswith("关键趋势与未来展望")
    refs = {c.section for c in chunks if c.kind == "section"}
    assert refs == {"17.1", "17.2", "17.3", "17.4", "17.4.1", "17.4.2", "17.5"}
    abstracts = [c for c in chunks if c.kind == "abstract"]
    assert len(abstracts) == 7
    netw = next(c for c in abstracts if c.arxiv_id == "2602.00558")
    assert netw.cited_in == ("17.4.2",) and netw.anchors == ("NetWorld",)
    assert netw.title.startswith("NetWorld") and netw.authors
    linked = [c for c in chunks if c.section == "17.4.2"]
    assert {"2602.10298", "2602.00558", "2601.14354"} == {i for c in linked for i in c.arxiv_ids}
    for chunk in linked:
        assert all(f"abs/{i})" in chunk.text for i in chunk.arxiv_ids)


def test_chunk_ids_are_stable_and_unique():
    corpus = load_corpus(BUNDLED_CORPUS, BUNDLED_CORPUS / "abstracts.jsonl", ("README.md",))
    a = chunk_corpus(corpus, count, 120, 20)
    b = chunk_corpus(corpus, count, 120, 20)
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)


# --- properties -------------------------------------------------------------------------------


PIECES = st.sampled_from(
    [
        "世界模型正在成为核心组件。",
        "这是一个没有标点的很长的句子用来测试硬切分是否正确处理" * 3,
        "English sentence one. ",
        "Is it a question? ",
        "\n\n",
        "\n",
        "| 列一 | 列二 |\n|---|---|\n| 值 | 2.99 |\n| 另一个值 | 3.14 |\n",
        "- 列表项一\n- 列表项二\n",
        "1. 第一\n2. 第二\n",
        "```\ncode line\n```\n",
        "[NetWorld](https://arxiv.org/abs/2602.00558)",
    ]
)
BODIES = st.lists(st.one_of(PIECES, st.text(min_size=1, max_size=30)), min_size=1, max_size=25)


@settings(max_examples=200, deadline=None)
@given(BODIES, st.integers(40, 200), st.integers(0, 19))
def test_chunks_rebuild_the_section_and_respect_the_limit(pieces, max_tokens, overlap):
    sections = parse_markdown("### 1.1 标题\n\n" + "".join(pieces), "p.md")
    section = next((s for s in sections if s.number == "1.1"), None)
    if section is None or not section.text.strip():
        return
    chunks = chunk_section(section, count, max_tokens=max_tokens, overlap_tokens=overlap)
    assert chunks
    for chunk in chunks:
        assert chunk.text == section.text[chunk.start : chunk.end]
        assert count(chunk.text) <= max_tokens
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    assert "".join(covered(section, chunks).split()) == "".join(section.text.split())


def test_an_abstract_chunk_ends_with_its_authors():
    paper = Paper(id="2601.00001", title="T", abstract="We do X.", authors=("A. One", "B. Two"))
    chunk = chunk_paper(paper, cited_in=["1.1"], anchors=["T"])
    assert chunk.text == f"T\n\nWe do X.\n\n{BYLINE}A. One, B. Two"
    assert not chunk_paper(Paper(id="2601.00002", title="T", abstract="X.")).text.endswith(
        BYLINE.strip()
    )


def test_an_abstract_byline_is_indexed_for_bm25_but_not_embedded():
    paper = Paper(id="2601.00001", title="T", abstract="We do X.", authors=("A. One",))
    chunk = chunk_paper(paper)
    assert "A. One" in chunk.indexed_text and "A. One" not in chunk.embedded_text
    assert chunk.embedded_text.endswith("We do X.")
    survey = Chunk(id="s", kind="section", text="作者名单如下。\n\nAuthors: A. One", source="x.md")
    assert survey.embedded_text == survey.indexed_text  # only an abstract's byline is left out

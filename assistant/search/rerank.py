"""Optional cross-encoder rerank stage (off by default: no cross-encoder ships offline)."""

from __future__ import annotations

from llama_index.core.postprocessor import SentenceTransformerRerank
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.errors import AssistantError
from assistant.models import Hit


class CrossEncoderReranker:
    """Reorders hits with a sentence-transformers ``CrossEncoder`` via llama-index."""

    def __init__(self, model: str):
        try:
            self._post = SentenceTransformerRerank(model=model, top_n=1000, device="cpu")
        except Exception as exc:
            raise AssistantError(
                f"could not load cross-encoder {model!r} ({type(exc).__name__}); point "
                "ASSISTANT_RERANK_MODEL at a local model folder or unset it"
            ) from exc

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return hits
        by_id = {h.chunk.id: h for h in hits}
        nodes = [
            NodeWithScore(node=TextNode(id_=h.chunk.id, text=h.chunk.indexed_text), score=h.score)
            for h in hits
        ]
        ranked = self._post.postprocess_nodes(nodes, query_bundle=QueryBundle(question))
        out: list[Hit] = []
        for rank, item in enumerate(ranked, 1):
            hit = by_id[item.node.node_id]
            hit.retrievers = {**hit.retrievers, "rerank": rank}
            hit.retriever_scores = {**hit.retriever_scores, "rerank": float(item.score or 0.0)}
            hit.score = float(item.score or 0.0)
            out.append(hit)
        return out

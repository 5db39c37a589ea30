"""The sources an LLM is shown: best-ranked chunks first, within the token budget."""

from assistant import Settings
from assistant.answer.context import context_hits, source_tokens
from tests.answer.helpers import hash_scorer, sample_hits
from tests.conftest import BUNDLED_CORPUS
from tests.stubs.openai_server import OpenAIStub, Reply


def test_chunks_come_in_the_order_of_their_best_sentence_while_they_fit():
    hits = sample_hits()
    scored = hash_scorer(hits).score("NetWorld 引入了什么？", hits)
    best = scored[0].hit
    sizes = {h.chunk.id: source_tokens(h) for h in hits}
    assert context_hits(hits, scored, [], 0) == hits  # no budget: as retrieved
    one = context_hits(hits, scored, [], 1)
    assert [h.chunk.id for h in one] == [best.chunk.id]  # the first always fits
    everything = context_hits(hits, scored, [], sum(sizes.values()))
    assert everything[0].chunk.id == best.chunk.id and len(everything) == len(hits)
    chosen = [(scored[-1].unit, scored[-1].hit)]
    assert context_hits(hits, scored, chosen, 10**6)[0].chunk.id == scored[-1].hit.chunk.id
    small = min(hits, key=lambda h: sizes[h.chunk.id])
    budget = sizes[best.chunk.id] + sizes[small.chunk.id]
    fitted = context_hits(hits, scored, [], budget)
    assert sum(sizes[h.chunk.id] for h in fitted) <= budget and small in fitted


def test_the_llm_is_shown_the_chunk_of_the_best_sentence_within_the_budget(built_index):
    from assistant import Assistant

    question = (
        "How many domain-specific world-model papers does the chapter count for scientific "
        "simulation and for networking?"
    )
    with OpenAIStub() as stub:
        stub.replies.append(
            Reply(text="It counts 5 for scientific simulation, 2 for networking [1].")
        )
        settings = Settings(
            corpus_dir=BUNDLED_CORPUS,
            index_dir=built_index,
            llm_backend="openai-compatible",
            llm_base_url=stub.base_url,
            llm_model="stub",
            llm_timeout=5.0,
            openai_context_budget=800,
        )
        assistant = Assistant(settings)
        answer = assistant.ask(question)
        prompt = stub.requests[0]["messages"][-1]["content"]
        retrieved = assistant.answers.evidence(question).hits
    assert "网络（2 篇）" in prompt  # trend seven: a sibling of the retrieved §17.2 chunk
    assert prompt.count("<source ") < len(retrieved)
    assert answer.citations[0].section == "17.2" and "网络（2 篇）" in answer.citations[0].quote

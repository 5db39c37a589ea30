from dataclasses import replace

from assistant.answer.extractive import ExtractiveLimits, extractive_body, quotes, select
from assistant.answer.scoring import ScoredUnit
from assistant.answer.units import chunk_units
from assistant.models import Hit
from tests.answer.helpers import abstract, hits_of, section

SURVEY = section(
    "s",
    "17.4.2",
    "多智能体",
    "值得关注的进展：\n\n- [NetWorld](https://arxiv.org/abs/2602.00558) 在无线网络中引入 RL\n"
    "- 自动驾驶的 V2X 需要共享世界模型\n\n博弈论是有前景的方向。",
    ("2602.00558",),
)
PAPER = abstract("p", "2602.00558", "NetWorld", "It adopts DTDE. It uses MF communication.")
OTHER = abstract("o", "2601.14354", "VJEPA", "A probabilistic JEPA.")


def ranked(hits: list[Hit], order: list[tuple[str, int]]) -> list[ScoredUnit]:
    """Units of ``hits`` scored so that ``order`` (chunk id, unit index) comes first."""
    units = {(u.chunk_id, u.index): (u, h) for h in hits for u in chunk_units(h.chunk)}
    top = [units.pop(key) for key in order]
    rest = list(units.values())
    return [ScoredUnit(u, h, dense=0.0, score=float(-n)) for n, (u, h) in enumerate(top + rest)]


def test_a_lead_is_never_quoted_alone_and_the_best_source_gives_its_best_sentences():
    hits = hits_of(SURVEY, OTHER)
    chosen = select(ranked(hits, [("s", 0), ("s", 2), ("o", 1)]), ExtractiveLimits(2, 2, 0.0))
    assert [(u.chunk_id, u.index) for u, _ in chosen] == [("s", 1), ("s", 2)]


def test_the_abstract_of_a_paper_the_best_sentence_links_to_is_quoted_when_near_the_top():
    hits = hits_of(SURVEY, PAPER, OTHER)
    limits = ExtractiveLimits(2, 2, 0.0)  # "near": among the 4 best
    chosen = select(ranked(hits, [("s", 1), ("o", 1), ("p", 1)]), limits)
    assert [(u.chunk_id, u.index) for u, _ in chosen] == [("s", 1), ("s", 2), ("p", 1)]
    # an unlinked source, however close, is not: each source is one more citation
    chosen = select(ranked(hits, [("s", 2), ("o", 1), ("p", 1)]), limits)
    assert {u.chunk_id for u, _ in chosen} == {"s"}
    # nor a linked one far down the ranking
    far = [("s", 1), ("s", 2), ("s", 3), ("o", 0), ("o", 1), ("p", 1)]
    chosen = select(ranked(hits, far), limits)
    assert {u.chunk_id for u, _ in chosen} == {"s"}

    # nor for the table row a superlative question asked for: its figure is the answer
    first = ranked(hits, [("s", 1), ("o", 1), ("p", 1)])
    first[0] = replace(first[0], extreme=True)
    assert {u.chunk_id for u, _ in select(first, limits)} == {"s"}


def test_items_sharing_a_bold_lead_are_listed_under_one_copy_of_it():
    chunk = section(
        "f", "17.5", "未来展望", "**中期（2027–2030）**：\n- 统一世界模型\n- 通用物理引擎\n"
    )
    hits = hits_of(chunk)
    units = chunk_units(chunk)
    body = extractive_body([(units[1], hits[0]), (units[2], hits[0])], hits, "zh")
    assert body.splitlines()[1:] == [
        "- 中期（2027–2030）：",
        "  - 统一世界模型 [1]",
        "  - 通用物理引擎 [1]",
    ]
    alone = extractive_body([(units[2], hits[0])], hits, "zh")
    assert alone.splitlines()[1] == "- 中期（2027–2030）： 通用物理引擎 [1]"


def test_a_title_is_not_quoted_and_a_linked_abstract_gives_its_near_sentences_under_its_title():
    paper = abstract(
        "p", "2602.00558", "NetWorld", "It adopts DTDE. It uses MF communication. Unrelated."
    )
    hits = hits_of(SURVEY, paper, OTHER)
    limits = ExtractiveLimits(2, 2, 0.0)  # near: the 4 best quotable units
    order = [("s", 1), ("p", 0), ("p", 1), ("o", 1), ("p", 2), ("s", 2)]
    chosen = select(ranked(hits, order), limits)
    assert [(u.chunk_id, u.index) for u, _ in chosen] == [("s", 1), ("s", 2), ("p", 1), ("p", 2)]
    body = extractive_body(chosen, hits, "en").splitlines()
    assert body[3:] == [
        "- NetWorld (arXiv:2602.00558):",
        "  - It adopts DTDE. [2]",
        "  - It uses MF communication. [2]",
    ]
    # a title can still pick its abstract as the source; its sentences are quoted instead
    chosen = select(ranked(hits, [("p", 0), ("o", 1), ("p", 2)]), limits)
    assert [(u.chunk_id, u.index) for u, _ in chosen] == [("p", 1), ("p", 2)]


def test_an_abstract_named_by_the_audit_suggested_anchor_counts_as_linked():
    survey = section(
        "s", "17.4.2", "多智能体", "[UAV Swarm](https://arxiv.org/abs/2601.14354) 用于蜂群。"
    )
    real = abstract("r", "2601.12939", "Active inference for UAV swarms", "It uses GA-RF.")
    real = real.model_copy(update={"anchors": ("UAV Swarm",)})
    hits = hits_of(survey, real)
    chosen = select(ranked(hits, [("s", 0), ("r", 1)]), ExtractiveLimits(2, 2, 0.0))
    assert {u.chunk_id for u, _ in chosen} == {"s", "r"}


def test_a_numbered_item_is_listed_under_one_marker_and_every_quote_is_kept():
    text = "1. **物理**：违反规律\n2. **长程**：衰减\n3. **因果**：缺失\n"
    chunk = section("c", "17.4", "主要挑战", text)
    hits = hits_of(chunk)
    units = chunk_units(chunk)
    chosen = [(units[0], hits[0]), (units[2], hits[0])]
    # "- 3. …" would render as a bullet holding a list numbered 3: two markers
    assert extractive_body(chosen, hits, "zh").splitlines()[1:] == [
        "- 物理：违反规律 [1]",
        "- 因果：缺失 [1]",
    ]
    # the citation keeps the items as the source numbers them, the best one first
    assert quotes(ranked(hits, [("c", 2)]), chosen) == {"c": ("3. 因果：缺失", "1. 物理：违反规律")}


def test_a_byline_leads_its_paper_when_it_is_quoted():
    paper = abstract("w", "2601.00001", "T0", "It adopts DTDE. It uses MF.\n\nAuthors: Ann Lee")
    hits = hits_of(paper)
    byline = next(u.index for u in chunk_units(paper) if u.kind == "byline")
    chosen = select(ranked(hits, [("w", 1), ("w", byline)]), ExtractiveLimits(2, 2, 0.0))
    assert [u.kind for u, _ in chosen] == ["byline", "sentence"]

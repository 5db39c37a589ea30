"""The link audit: crafted anchors, the bundled corpus, and what the index stores."""

from __future__ import annotations

import json

import pytest

from assistant import Assistant, Settings
from assistant.ingest.audit import (
    MIN_SCORE,
    TitleMatcher,
    audit_corpus,
    audit_links,
    mislink_note,
)
from assistant.ingest.chunking import chunk_corpus
from assistant.ingest.corpus import load_corpus, load_papers, parse_markdown
from assistant.models import Paper
from tests.conftest import BUNDLED_CORPUS

PAPERS, _ = load_papers(BUNDLED_CORPUS / "abstracts.jsonl")
BY_ID = {p.id: p for p in PAPERS}
MATCHER = TitleMatcher(PAPERS)


def bundled_corpus():
    return load_corpus(BUNDLED_CORPUS, BUNDLED_CORPUS / "abstracts.jsonl", ("README.md",))


def verdict(anchor: str, arxiv_id: str) -> str:
    [section] = parse_markdown(
        f"## 1.1 T\n\n[{anchor}](https://arxiv.org/abs/{arxiv_id})\n", "t.md"
    )
    return audit_links([section], PAPERS).checks[0].verdict


@pytest.mark.parametrize(
    ("anchor", "arxiv_id"),
    [
        ("NetWorld", "2602.00558"),  # the name before the title's colon
        ("Survey on Role of World Models in AD", "2502.10498"),  # AD ↔ autonomous driving
        ("World Models for Clinical Prediction", "2511.16333"),  # a slice of the title
        ("Edge Intelligence for WMs", "2508.09561"),  # WMs ↔ world models
        ("On Emergent Social WMs", "2602.10298"),
        ("Comprehensive survey of driving world models", "2502.10498"),  # reordered
        ("Autonomus Driving Survey", "2502.10498"),  # typo
        ("V-JEPA", "2601.14354"),  # name spelled with a hyphen
        ("Joint Embedding Predictive Architectures", "2601.14354"),
        ("UAV swarm active inference", "2601.12939"),
        ("Multi-agent RL world model for wireless networks", "2602.00558"),  # RL expanded
        ("Tu et al.", "2502.10498"),  # an author anchor naming a real author
        ("Tu & Bai's driving world model survey (2025)", "2502.10498"),  # surnames, year
    ],
)
def test_good_paraphrased_and_abbreviated_anchors_pass(anchor, arxiv_id):
    score, rule = MATCHER.score(anchor, BY_ID[arxiv_id])
    assert score is not None and score >= MIN_SCORE, (anchor, score, rule)
    assert verdict(anchor, arxiv_id) == "ok"


@pytest.mark.parametrize(
    ("anchor", "arxiv_id", "suggested"),
    [
        ("Active Inference UAV Swarm", "2601.14354", "2601.12939"),
        ("Social World Models", "2601.14354", "2602.10298"),  # shares only "world models"
        ("NetWorld", "2601.14354", "2602.00558"),
        ("Clinical WMs", "2508.09561", "2511.16333"),
        ("Smith et al.", "2502.10498", None),  # nobody called Smith wrote it
    ],
)
def test_mismatched_anchors_are_flagged_with_a_suggestion(anchor, arxiv_id, suggested):
    [section] = parse_markdown(
        f"## 2 X\n\n见 [{anchor}](https://arxiv.org/abs/{arxiv_id})。\n", "x.md"
    )
    [check] = audit_links([section], PAPERS).checks
    assert check.verdict == "mismatch" and check.score < MIN_SCORE
    assert check.title == BY_ID[arxiv_id].title
    assert check.suggested == suggested


@pytest.mark.parametrize(
    "anchor",
    [
        "arXiv",
        "paper",
        "PDF",
        "[1]",
        "https://arxiv.org/abs/2601.14354",
        "arXiv:2601.14354",
        "论文",
        "链接",
        "this paper (arXiv)",
    ],
)
def test_generic_anchors_make_no_claim(anchor):
    assert verdict(anchor, "2601.14354") == "generic"


def test_anchor_in_another_script_is_unverified_not_mismatched():
    assert verdict("世界模型综述", "2502.10498") == "unverified"


def test_rules_are_not_tied_to_the_bundled_papers():
    """Short names from the title's colon or the abstract, acronyms of title words."""
    papers = [
        Paper(id="2301.04104", title="Mastering Diverse Domains through World Models",
              abstract="We present DreamerV3, a general algorithm that ..."),
        Paper(id="2309.17080", title="GAIA-1: A Generative World Model for Autonomous Driving",
              abstract="We introduce GAIA-1, a generative world model ..."),
        Paper(id="2405.00001", title="Vision-Language-Action Models for Robot Manipulation",
              abstract="A study of VLA policies."),
        Paper(id="2405.00002", title="Diffusion Policies for Legged Locomotion", abstract="..."),
    ]  # fmt: skip
    md = (
        "## 3 Y\n\n[DreamerV3](https://arxiv.org/abs/2301.04104) "
        "[GAIA-1](https://arxiv.org/abs/2309.17080) "
        "[VLA Models](https://arxiv.org/abs/2405.00001) "
        "[DreamerV3](https://arxiv.org/abs/2405.00002)\n"
    )
    report = audit_links(parse_markdown(md, "y.md"), papers)
    verdicts = [(c.anchor, c.arxiv_id, c.verdict, c.rule) for c in report.checks]
    assert verdicts[:3] == [
        ("DreamerV3", "2301.04104", "ok", "abstract-name"),
        ("GAIA-1", "2309.17080", "ok", "short-name"),
        ("VLA Models", "2405.00001", "ok", "title"),
    ]
    wrong = report.checks[3]
    assert (wrong.verdict, wrong.suggested) == ("mismatch", "2301.04104")
    dupes = [(d.kind, d.arxiv_ids) for d in report.duplicates]
    assert dupes == [("same_anchor", ["2301.04104", "2405.00002"])]


def test_bundled_corpus_flags_exactly_the_vjepa_link():
    report = audit_corpus(bundled_corpus())
    assert report.links == 6
    [bad] = report.mismatches
    assert (bad.arxiv_id, bad.anchor, bad.section) == (
        "2601.14354",
        "Active Inference UAV Swarm",
        "17.4.2",
    )
    assert bad.title.startswith("VJEPA") and bad.suggested == "2601.12939"
    assert report.counts()["ok"] == 5 and report.missing == [] and report.duplicates == []


def test_json_shape():
    data = json.loads(json.dumps(audit_corpus(bundled_corpus()).to_json()))
    assert data["links"] == 6
    assert set(data["mismatches"][0]) >= {
        "section",
        "anchor",
        "arxiv_id",
        "title",
        "score",
        "suggested",
    }
    assert data["missing"] == [] and data["duplicates"] == []


def test_missing_withdrawn_and_duplicate_links():
    papers = [
        *PAPERS,
        Paper(id="2601.99999", status="unknown"),
        Paper(id="1507.01234", title="A Tight Bound for Latent Dynamics", status="withdrawn"),
    ]
    md = (
        "## 1 A\n\n[NetWorld](https://arxiv.org/abs/2602.00558) "
        "[Gone](https://arxiv.org/abs/2601.99999) "
        "[Nowhere](https://arxiv.org/abs/2512.00001)\n\n"
        "## 2 B\n\n[NetWorld paper](https://arxiv.org/abs/2602.00558v2) "
        "[Latent dynamics bound](https://arxiv.org/abs/1507.01234) "
        "[arXiv](https://arxiv.org/abs/2511.16333) [arXiv](https://arxiv.org/abs/2508.09561)\n"
    )
    report = audit_links(parse_markdown(md, "m.md"), papers)
    missing = {(m.arxiv_id, m.reason, tuple(m.sections)) for m in report.missing}
    assert missing == {
        ("2601.99999", "unknown", ("1",)),
        ("2512.00001", "no record", ("1",)),
        ("1507.01234", "withdrawn", ("2",)),
    }
    withdrawn = next(c for c in report.checks if c.arxiv_id == "1507.01234")
    assert withdrawn.verdict == "ok"  # its anchor still matches its title
    [same_id] = report.duplicates  # generic "arXiv" anchors are not a same-anchor duplicate
    assert same_id.kind == "same_id" and same_id.arxiv_ids == ["2602.00558"]
    assert same_id.sections == ["1", "2"]
    assert same_id.anchors == ["NetWorld", "NetWorld paper"]


def test_missing_link_whose_anchor_names_a_known_paper_gets_a_suggestion():
    md = "## 1 A\n\n[Active Inference UAV Swarm](https://arxiv.org/abs/2601.11111)\n"
    [check] = audit_links(parse_markdown(md, "m.md"), PAPERS).checks
    assert (check.verdict, check.rule, check.suggested) == ("missing", "no record", "2601.12939")


def test_chunks_carry_mislinked_anchors_for_the_answer_layer():
    chunks = chunk_corpus(bundled_corpus(), len, 300, 40)
    abstracts = {c.arxiv_id: c for c in chunks if c.kind == "abstract"}
    vjepa = abstracts["2601.14354"]
    assert vjepa.mislinked_anchors == ("Active Inference UAV Swarm",)
    assert "Active Inference UAV Swarm" not in vjepa.anchors
    assert all(not c.mislinked_anchors for i, c in abstracts.items() if i != "2601.14354")
    # the audit's suggestion: the anchor describes the unlinked UAV-swarm paper
    assert abstracts["2601.12939"].anchors == ("Active Inference UAV Swarm",)
    assert abstracts["2601.12939"].cited_in == ()
    note = mislink_note(vjepa)
    assert "Active Inference UAV Swarm" in note and "arXiv:2601.14354" in note
    assert vjepa.title in note
    assert mislink_note(abstracts["2602.00558"]) is None


def test_a_build_tags_abstracts_from_the_link_checks_as_the_audit_does(tmp_path):
    """The build makes abstract chunks from each file's stored link checks, not from a
    corpus-wide report: it must flag exactly what ``audit-links`` flags."""
    settings = Settings(corpus_dir=BUNDLED_CORPUS, index_dir=tmp_path, embedder="hash")
    assistant = Assistant(settings)
    report = assistant.build_index(progress=False)
    audit = audit_corpus(assistant.load_corpus())
    assert report.link_mismatches == len(audit.mismatches) == 1
    chunk = next(c for c in assistant.index.chunks if c.arxiv_id == "2601.14354")
    assert chunk.mislinked_anchors == ("Active Inference UAV Swarm",)
    assert [c for c in assistant.index.chunks if c.kind == "abstract"] == [
        c for c in chunk_corpus(bundled_corpus(), len, 300, 40) if c.kind == "abstract"
    ]


def test_audit_assembles_the_stored_checks_while_the_index_is_current(corpus_copy, tmp_path):
    """``audit-links`` on an index built from the corpus as it is reads the build's checks;
    once a file changes it audits the corpus afresh (the stored checks are stale)."""
    assistant = Assistant(Settings(corpus_dir=corpus_copy, index_dir=tmp_path, embedder="hash"))
    assistant.build_index(progress=False)
    assert assistant.store.link_checks() is not None
    assert assistant.audit() == audit_corpus(assistant.load_corpus())
    chapter = next(p for p in corpus_copy.glob("*.md") if p.name != "README.md")
    with chapter.open("a", encoding="utf-8") as out:
        out.write(
            "\n### 99.1 新增\n\n[Active Inference UAV Swarm](https://arxiv.org/abs/2601.14354)\n"
        )
    assert assistant.store.link_checks() is None
    fresh = assistant.audit()
    assert fresh == audit_corpus(assistant.load_corpus())
    assert [m.section for m in fresh.mismatches] == ["17.4.2", "99.1"]

"""``add-survey`` end to end: a GitHub archive and the arXiv API, both stubs on 127.0.0.1."""

from __future__ import annotations

import json
import shutil

import pytest

from assistant import Assistant, Settings
from assistant.ingest.arxiv import linked_ids
from assistant.ingest.corpus import load_corpus
from assistant.interfaces.cli.main import main
from tests.conftest import BUNDLED_CORPUS, free_port
from tests.stubs.archive_server import ArchiveStub, survey_files, tarball
from tests.stubs.arxiv_server import ArxivStub

CHAPTERS = 20
SYNTHETIC = [f"2503.{n:05d}" for n in range(101, 121)]
"""Papers the recorded replies do not hold; the stub makes them up (``synthesize``)."""


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A corpus folder holding the bundled chapter, and a 20-chapter survey on 'GitHub' that
    holds the same chapter too."""
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)
    files = survey_files(CHAPTERS, papers=SYNTHETIC)
    files["docs/analysis/trends.md"] = (BUNDLED_CORPUS / "trends.md").read_bytes()
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hash")
    monkeypatch.setenv("ASSISTANT_ARXIV_DELAY", "0")
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    with ArchiveStub() as github:
        github.serve_github("acme", "world-model-survey", tarball(files))
        monkeypatch.setenv("ASSISTANT_GITHUB_URL", github.url)
        yield corpus


def test_a_whole_survey_in_one_command(capsys, world, monkeypatch):
    with ArxivStub(synthesize=True) as arxiv:
        monkeypatch.setenv("ASSISTANT_ARXIV_API_URL", arxiv.url)
        code, out, err = run(capsys, "add-survey", "https://github.com/acme/world-model-survey")
    assert code == 0, err
    target = world / "world-model-survey"
    assert f"added https://github.com/acme/world-model-survey to {target}" in out
    assert "docs/analysis/trends.md = trends.md" in out  # the bundled chapter, not twice
    # each new chapter: a numbered chapter heading and two sections, two links
    bundled = load_corpus(BUNDLED_CORPUS, None, ("README.md",))
    numbered = sum(1 for s in bundled.sections if s.number and s.number[0].isdigit())
    links = sum(1 for s in bundled.sections for link in s.links if link.arxiv_id)
    papers = linked_ids(bundled)
    assert f"{CHAPTERS + 1} chapters · {3 * CHAPTERS + numbered} numbered sections" in out
    assert f"{2 * CHAPTERS + links} arXiv links to {CHAPTERS + len(papers)} papers" in out
    assert f"abstracts: {CHAPTERS} fetched now, {len(papers)} already in" in out
    assert "missing abstracts: none" in out
    assert "mismatched links: 1" in out  # the bundled chapter's known mislink
    assert "anchor does not describe" not in err  # said once, in the summary
    fetched = {json.loads(line)["id"] for line in (world / "abstracts.jsonl").open()}
    assert set(SYNTHETIC) <= fetched
    hits = Assistant(Settings()).retrieve("第 17 个方向的代表方法", k=10)
    assert any(h.chunk.section == "17.1" for h in hits)


def test_offline_the_survey_is_still_indexed_and_missing_abstracts_named(
    capsys, world, monkeypatch
):
    monkeypatch.setenv("ASSISTANT_ARXIV_API_URL", f"http://127.0.0.1:{free_port()}/api/query")
    code, out, err = run(capsys, "add-survey", "https://github.com/acme/world-model-survey")
    assert code == 0, err
    assert "abstracts: not fetched: cannot reach the arXiv API" in out
    assert "missing abstracts (20): 2503.00101, 2503.00102" in out
    assert "fetch-abstracts`, then" in out
    code, out, _ = run(capsys, "sections", "--json")
    sources = {row["source"] for row in json.loads(out)}
    assert "world-model-survey/docs/part2/chapter20.md" in sources


def test_no_abstracts_and_bad_sources(capsys, world):
    code, out, _ = run(
        capsys, "add-survey", "https://github.com/acme/world-model-survey", "--no-abstracts"
    )
    assert code == 0 and "abstracts: not fetched (--no-abstracts)" in out
    assert "missing abstracts (20)" in out
    for argv, needle in (
        (["add-survey", "https://gitlab.com/acme/x"], "give a GitHub repository"),
        (["add-survey", "https://github.com/acme/gone"], "not found (HTTP 404)"),
        (["add-survey", "/no/such/survey"], "does not exist"),
    ):
        code, _, err = run(capsys, *argv)
        assert code in (1, 2) and err.startswith("error:") and needle in err
        assert err.count("\n") == 1 and "Traceback" not in err

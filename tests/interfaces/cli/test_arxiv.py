"""``fetch-abstracts`` and ``audit-links`` through the command line (local server only)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from assistant.interfaces.cli.main import main
from tests.conftest import BUNDLED_CORPUS, free_port
from tests.stubs.arxiv_server import ArxivStub, synthetic_title


@pytest.fixture
def arxiv_env(monkeypatch):
    """Point the fetcher at a local replay server, with short delays."""
    with ArxivStub(synthesize=True) as stub:
        monkeypatch.setenv("ASSISTANT_ARXIV_API_URL", stub.url)
        monkeypatch.setenv("ASSISTANT_ARXIV_DELAY", "0.05")
        monkeypatch.setenv("ASSISTANT_ARXIV_BACKOFF", "0")
        yield stub


def write_survey(root: Path, ids: list[str], chapters: int, wrong: dict[str, str]) -> None:
    """``chapters`` Markdown files linking ``ids``; ``wrong[id]`` is an anchor naming another."""
    root.mkdir(parents=True, exist_ok=True)
    per = -(-len(ids) // chapters)
    for c in range(chapters):
        lines = [f"# {c + 1} 第{c + 1}章\n", f"## {c + 1}.1 相关工作\n"]
        for arxiv_id in ids[c * per : (c + 1) * per]:
            anchor = wrong.get(arxiv_id, synthetic_title(arxiv_id))
            lines.append(f"- [{anchor}](https://arxiv.org/abs/{arxiv_id}) 提出了一种方法。")
        (root / f"chapter{c + 1:02d}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_whole_survey_is_one_command_within_rate_limits(arxiv_env, tmp_path, capsys):
    ids = [f"2501.{n:05d}" for n in range(1, 251)]
    liar, named = "2501.00001", "2501.00234"  # titles share only "World Models for"
    survey = tmp_path / "survey"
    write_survey(survey, ids, chapters=20, wrong={liar: synthetic_title(named)})

    assert main(["fetch-abstracts", "--corpus", str(survey)]) == 0
    out = capsys.readouterr().out
    assert "fetched 250 IDs in 3 call(s)" in out and "250 ok" in out
    assert [len(batch) for _, batch, _ in arxiv_env.requests] == [100, 100, 50]
    times = [t for t, _, _ in arxiv_env.requests]
    assert min(b - a for a, b in pairwise(times)) >= 0.05
    lines = (survey / "abstracts.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == ids

    assert main(["fetch-abstracts", "--corpus", str(survey)]) == 0  # nothing left to do
    assert "nothing to fetch" in capsys.readouterr().out and len(arxiv_env.requests) == 3

    assert main(["audit-links", "--json", "--corpus", str(survey)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["links"] == 250 and report["missing"] == []
    [bad] = report["mismatches"]
    assert (bad["arxiv_id"], bad["suggested"]) == (liar, named)
    assert bad["title"] == synthetic_title(liar)


def test_fetch_json_and_dry_run(arxiv_env, corpus_copy, capsys):
    (corpus_copy / "abstracts.jsonl").unlink()
    assert main(["fetch-abstracts", "--corpus", str(corpus_copy), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would fetch 6 of 6 IDs" in out and "1 call(s)" in out and "2601.14354" in out
    assert arxiv_env.requests == [] and not (corpus_copy / "abstracts.jsonl").exists()

    assert main(["fetch-abstracts", "--corpus", str(corpus_copy), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["ok"]) == 6 and report["written"] and report["calls"] == 1


def test_fetch_given_ids_accepts_urls(arxiv_env, tmp_path, capsys):
    target = tmp_path / "papers.jsonl"
    args = ["fetch-abstracts", "--abstracts", str(target), "--corpus", str(BUNDLED_CORPUS)]
    assert main([*args, "--ids", "https://arxiv.org/pdf/2601.12939v1", "arXiv:2601.14354"]) == 0
    assert "2 ok" in capsys.readouterr().out
    assert arxiv_env.requests[0][1] == ["2601.12939", "2601.14354"]
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == [
        "2601.12939",
        "2601.14354",
    ]


def test_invalid_ids_exit_2(capsys):
    assert main(["fetch-abstracts", "--ids", "not-an-id"]) == 2
    assert "not an arXiv ID" in capsys.readouterr().err


def test_offline_fetch_prints_one_line_and_leaves_the_file(corpus_copy, monkeypatch, capsys):
    url = f"http://127.0.0.1:{free_port()}/api/query"
    monkeypatch.setenv("ASSISTANT_ARXIV_API_URL", url)
    path = corpus_copy / "abstracts.jsonl"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    before = path.read_bytes()
    assert main(["fetch-abstracts", "--corpus", str(corpus_copy)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and url in err and "network is unreachable" in err
    assert path.read_bytes() == before


def test_audit_links_table_and_strict(capsys):
    assert main(["audit-links", "--corpus", str(BUNDLED_CORPUS)]) == 0
    out = capsys.readouterr().out
    assert "6 arXiv links: 5 ok, 1 mismatched" in out
    assert "Active Inference UAV Swarm" in out and "2601.14354" in out
    assert "suggested arXiv:2601.12939" in out
    assert main(["audit-links", "--strict", "--corpus", str(BUNDLED_CORPUS)]) == 1


def test_audit_links_json(capsys):
    assert main(["audit-links", "--json", "--corpus", str(BUNDLED_CORPUS)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["links"] == 6
    assert [(m["anchor"], m["arxiv_id"], m["suggested"]) for m in report["mismatches"]] == [
        ("Active Inference UAV Swarm", "2601.14354", "2601.12939")
    ]
    assert report["missing"] == [] and report["duplicates"] == []


def test_help_explains_every_option(capsys):
    for name in ("fetch-abstracts", "audit-links"):
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = capsys.readouterr().out
        for flag in (
            ("--ids", "--refresh", "--dry-run", "--json")
            if name == "fetch-abstracts"
            else ("--json", "--strict")
        ):
            assert flag in out

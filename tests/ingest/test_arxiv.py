"""The arXiv fetcher against a local server replaying recorded Atom responses (no network)."""

from __future__ import annotations

import json
import os
from itertools import pairwise
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant import files as files_module
from assistant.errors import ArxivError, ArxivUnreachable
from assistant.ingest import arxiv as arxiv_module
from assistant.ingest.arxiv import ArxivClient, fetch_abstracts, parse_feed, user_agent
from assistant.ingest.corpus import load_papers
from tests.conftest import BUNDLED_CORPUS, free_port
from tests.stubs.arxiv_server import ArxivStub, Reply, fixture, synthetic_title

BUNDLED = [json.loads(line) for line in (BUNDLED_CORPUS / "abstracts.jsonl").open()]
BUNDLED_IDS = [r["id"] for r in BUNDLED]
SHARED_FIELDS = {"id", "title", "authors", "abstract", "published", "categories", "source_url"}


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "corpus_dir": BUNDLED_CORPUS,
        "arxiv_api_url": url,
        "arxiv_delay": 0.0,
        "arxiv_backoff": 0.0,
        "arxiv_timeout": 2.0,
        "arxiv_connect_timeout": 1.0,
        "arxiv_contact": "maintainer@example.org",
    }
    values.update(overrides)
    return Settings(**values)


def records(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


@pytest.fixture
def stub():
    with ArxivStub() as server:
        yield server


# --- parsing ---------------------------------------------------------------------------------


def test_recorded_batch_parses_to_the_shared_files_records():
    feed = parse_feed(fixture("batch.xml"), BUNDLED_IDS)
    assert set(feed.papers) == set(BUNDLED_IDS)
    for expected in BUNDLED:
        got = feed.papers[expected["id"]].model_dump(mode="json")
        assert {k: got[k] for k in SHARED_FIELDS} == {k: expected[k] for k in SHARED_FIELDS}
        assert got["status"] == "ok"


def test_feed_entries_not_asked_for_are_ignored():
    feed = parse_feed(fixture("batch.xml"), ["2601.12939"])
    assert list(feed.papers) == ["2601.12939"]


def test_malformed_feed_is_a_retryable_failure():
    with pytest.raises(arxiv_module._Retry, match="malformed XML"):
        parse_feed(fixture("malformed.xml"), BUNDLED_IDS)
    with pytest.raises(arxiv_module._Retry, match="not an Atom feed"):
        parse_feed(b"<html><body>Service Unavailable</body></html>", BUNDLED_IDS)


def test_withdrawn_entry_is_marked_withdrawn():
    paper = parse_feed(fixture("withdrawn.xml"), ["1507.01234"]).papers["1507.01234"]
    assert paper.status == "withdrawn"
    assert paper.title.startswith("A Tight Bound")


def test_user_agent_names_project_and_contact():
    agent = user_agent(make_settings("http://127.0.0.1:1/api/query"))
    assert agent.startswith("survey-assistant/")
    assert "mailto:maintainer@example.org" in agent


def test_delay_is_never_below_three_seconds_against_arxiv_org():
    with ArxivClient(make_settings("https://export.arxiv.org/api/query")) as client:
        assert client.delay == 3.0
    with ArxivClient(make_settings("http://127.0.0.1:1/api/query", arxiv_delay=0.5)) as client:
        assert client.delay == 0.5


# --- fetching and merging -------------------------------------------------------------------


def test_fetch_merges_new_records_and_keeps_existing_lines(stub, tmp_path):
    path = tmp_path / "abstracts.jsonl"
    kept = [json.dumps(BUNDLED[0], ensure_ascii=False), '{"id": "2502.99999", "title": "Mine"}']
    path.write_text("\n".join(kept) + "\n")
    report = fetch_abstracts(BUNDLED_IDS, path, make_settings(stub.url))
    lines = path.read_text().splitlines()
    assert lines[:2] == kept
    assert report.already_present == 1 and len(report.ok) == len(BUNDLED_IDS) - 1
    assert report.calls == 1 and report.written
    assert stub.requests[0][1] == BUNDLED_IDS[1:]
    fetched = records(path)
    for expected in BUNDLED[1:]:
        assert {k: fetched[expected["id"]][k] for k in SHARED_FIELDS} == {
            k: expected[k] for k in SHARED_FIELDS
        }
    papers, problems = load_papers(path)
    assert not problems and len(papers) == len(BUNDLED_IDS) + 1


def test_user_agent_header_is_sent(stub, tmp_path):
    fetch_abstracts(["2601.12939"], tmp_path / "a.jsonl", make_settings(stub.url))
    headers = stub.requests[0][2]
    assert "survey-assistant/" in headers["User-Agent"]
    assert "maintainer@example.org" in headers["User-Agent"]


def test_unknown_id_is_recorded_and_not_asked_for_again(stub, tmp_path):
    path = tmp_path / "abstracts.jsonl"
    stub.replies.append(Reply(body=fixture("unknown_id.xml")))
    report = fetch_abstracts(["2601.12939", "2601.99999"], path, make_settings(stub.url))
    assert report.unknown == ["2601.99999"] and report.ok == ["2601.12939"]
    assert records(path)["2601.99999"]["status"] == "unknown"
    again = fetch_abstracts(["2601.12939", "2601.99999"], path, make_settings(stub.url))
    assert again.calls == 0 and again.requested == [] and len(stub.requests) == 1


def test_empty_entry_for_unknown_id_is_recorded_as_unknown(stub, tmp_path):
    stub.replies.append(Reply(body=fixture("unknown_empty_entry.xml")))
    path = tmp_path / "abstracts.jsonl"
    report = fetch_abstracts(["2601.99999"], path, make_settings(stub.url))
    assert report.unknown == ["2601.99999"]
    papers, _ = load_papers(path)
    assert [(p.id, p.status, p.title) for p in papers] == [("2601.99999", "unknown", "")]


def test_id_rejected_as_malformed_is_unknown_and_the_rest_is_asked_again(stub, tmp_path):
    stub.replies.append(Reply(status=400, body=fixture("bad_id_format.xml")))
    path = tmp_path / "abstracts.jsonl"
    report = fetch_abstracts(["2601.12939", "bogus-arch/0101001"], path, make_settings(stub.url))
    assert report.unknown == ["bogus-arch/0101001"] and report.ok == ["2601.12939"]
    assert [ids for _, ids, _ in stub.requests] == [
        ["2601.12939", "bogus-arch/0101001"],
        ["2601.12939"],
    ]


def test_refresh_replaces_unknown_but_never_downgrades_ok(stub, tmp_path):
    path = tmp_path / "abstracts.jsonl"
    path.write_text(
        json.dumps({"id": "2601.12939", "title": "kept", "status": "ok"})
        + "\n"
        + json.dumps({"id": "2601.14354", "status": "unknown"})
        + "\n"
    )
    stub.replies.append(Reply(body=stub.feed(["2601.14354"])))  # 2601.12939 comes back unknown
    fetch_abstracts(["2601.12939", "2601.14354"], path, make_settings(stub.url), refresh=True)
    got = records(path)
    assert got["2601.12939"]["title"] == "kept"
    assert got["2601.14354"]["status"] == "ok" and got["2601.14354"]["title"].startswith("VJEPA")


def test_503_then_success_retries_with_backoff(stub, tmp_path, monkeypatch):
    waits: list[float] = []
    real_sleep = arxiv_module.time.sleep
    monkeypatch.setattr(arxiv_module.time, "sleep", lambda s: waits.append(s) or real_sleep(0))
    stub.replies.extend([Reply(status=503), Reply(status=502)])
    settings = make_settings(stub.url, arxiv_backoff=0.5, arxiv_max_attempts=3)
    report = fetch_abstracts(BUNDLED_IDS[:3], tmp_path / "a.jsonl", settings)
    assert report.calls == 3 and len(report.ok) == 3
    assert waits[:2] == [0.5, 1.0]  # exponential: backoff, then twice that


def test_429_retry_after_is_honoured(stub, tmp_path):
    stub.replies.append(Reply(status=429, headers={"Retry-After": "0.3"}))
    report = fetch_abstracts(["2601.12939"], tmp_path / "a.jsonl", make_settings(stub.url))
    assert report.ok == ["2601.12939"]
    (first, _, _), (second, _, _) = stub.requests
    assert second - first >= 0.3


def test_malformed_feed_then_success(stub, tmp_path):
    stub.replies.append(Reply(body=fixture("malformed.xml")))
    report = fetch_abstracts(BUNDLED_IDS, tmp_path / "a.jsonl", make_settings(stub.url))
    assert report.calls == 2 and sorted(report.ok) == sorted(BUNDLED_IDS)


def test_timeout_is_retried(stub, tmp_path):
    """The timeout leaves the retry (answered at once) a wide margin on a loaded machine."""
    stub.replies.append(Reply(delay=2.0))
    settings = make_settings(stub.url, arxiv_timeout=0.5)
    report = fetch_abstracts(["2601.12939"], tmp_path / "a.jsonl", settings)
    assert report.calls == 2 and report.ok == ["2601.12939"]


def test_attempts_are_bounded_and_the_file_is_untouched(stub, tmp_path):
    path = tmp_path / "abstracts.jsonl"
    path.write_text(json.dumps(BUNDLED[0]) + "\n")
    before = path.read_bytes()
    stub.replies.extend([Reply(body=fixture("malformed.xml"))] * 3)
    settings = make_settings(stub.url, arxiv_max_attempts=3)
    with pytest.raises(ArxivError, match="failed 3 times") as info:
        fetch_abstracts(BUNDLED_IDS, path, settings)
    assert "\n" not in str(info.value)
    assert len(stub.requests) == 3 and path.read_bytes() == before


def test_batches_of_at_most_100(tmp_path):
    ids = [f"2501.{n:05d}" for n in range(1, 206)]
    with ArxivStub(synthesize=True) as stub:
        report = fetch_abstracts(ids, tmp_path / "a.jsonl", make_settings(stub.url))
    assert [len(batch) for _, batch, _ in stub.requests] == [100, 100, 5]
    assert report.batches == 3 and report.calls == 3
    got = records(tmp_path / "a.jsonl")
    assert list(got) == ids
    assert got["2501.00205"]["title"] == synthetic_title("2501.00205")


def test_delay_between_calls_is_honoured(tmp_path):
    ids = [f"2501.{n:05d}" for n in range(1, 8)]
    with ArxivStub(synthesize=True) as stub:
        fetch_abstracts(ids, tmp_path / "a.jsonl", make_settings(stub.url, arxiv_batch_size=2,
                                                                  arxiv_delay=0.15))  # fmt: skip
    times = [t for t, _, _ in stub.requests]
    assert len(times) == 4
    assert min(b - a for a, b in pairwise(times)) >= 0.15


def test_partial_failure_saves_what_arrived_and_a_rerun_resumes(tmp_path):
    ids = [f"2501.{n:05d}" for n in range(1, 151)]
    path = tmp_path / "a.jsonl"
    settings = make_settings("", arxiv_max_attempts=2)
    with ArxivStub(synthesize=True) as stub:
        settings.arxiv_api_url = stub.url
        stub.replies.extend([Reply(), Reply(status=503), Reply(status=503)])
        with pytest.raises(ArxivError, match="saved the 100 records"):
            fetch_abstracts(ids, path, settings)
        assert list(records(path)) == ids[:100]
        report = fetch_abstracts(ids, path, settings)
    assert report.requested == ids[100:] and list(records(path)) == ids


def test_dry_run_makes_no_call_and_writes_nothing(stub, tmp_path):
    path = tmp_path / "a.jsonl"
    report = fetch_abstracts(BUNDLED_IDS, path, make_settings(stub.url), dry_run=True)
    assert report.requested == BUNDLED_IDS and report.batches == 1
    assert stub.requests == [] and not path.exists()


# --- failure modes ----------------------------------------------------------------------------


def test_offline_fails_fast_with_one_line_and_leaves_the_file(tmp_path, monkeypatch):
    path = tmp_path / "abstracts.jsonl"
    path.write_text(json.dumps(BUNDLED[0]) + "\n")
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    slept: list[float] = []
    monkeypatch.setattr(arxiv_module.time, "sleep", slept.append)
    url = f"http://127.0.0.1:{free_port()}/api/query"  # nothing listens there
    with pytest.raises(ArxivUnreachable) as info:
        fetch_abstracts(BUNDLED_IDS, path, make_settings(url, arxiv_backoff=30))
    message = str(info.value)
    assert url in message and "network is unreachable" in message and "\n" not in message
    assert slept == []  # no backoff: offline is not worth retrying
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


def test_a_crash_while_writing_leaves_the_old_file(stub, tmp_path, monkeypatch):
    path = tmp_path / "abstracts.jsonl"
    path.write_text(json.dumps(BUNDLED[0]) + "\n")
    before = path.read_bytes()

    def crash(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files_module.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        fetch_abstracts(BUNDLED_IDS, path, make_settings(stub.url))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["abstracts.jsonl"]  # no temp file left behind


def test_assistant_fetches_every_linked_id_the_file_lacks(stub, tmp_path, corpus_copy):
    path = corpus_copy / "abstracts.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n")
    assistant = Assistant(make_settings(stub.url, corpus_dir=corpus_copy, index_dir=tmp_path))
    report = assistant.fetch_abstracts()
    linked = {link.arxiv_id for s in assistant.load_corpus().sections for link in s.links}
    assert report.considered == len(linked) == 6
    assert report.already_present == 2 and len(report.ok) == 4
    assert linked <= set(records(path))
    assert report.seconds >= 0


def test_withdrawal_mentioned_inside_an_abstract_is_not_a_withdrawn_paper():
    text = fixture("batch.xml").decode()
    start = text.index("<summary>", text.index("2601.12939v1")) + len("<summary>")
    text = text[:start] + "We study drugs that are withdrawn from markets. " + text[start:]
    paper = parse_feed(text.encode(), ["2601.12939"]).papers["2601.12939"]
    assert paper.status == "ok" and paper.abstract.startswith("We study drugs")

import json
import logging
import threading

import pytest

from assistant import logs


def _capture(fmt: str):
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Collect()
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(logs.JsonFormatter() if fmt == "json" else logs.TextFormatter())
    return records, handler


def test_request_ids_are_per_scope_and_shared_by_nested_scopes():
    records, handler = _capture("json")
    logger = logging.getLogger("assistant.requests")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        with logs.request("ask", "秘密的问题内容", backend="none") as outer:
            with logs.request("retrieve", "秘密的问题内容") as inner:
                inner["hits"] = 3
            outer["citations"] = 1
        with logs.request("ask", "another"):
            pass
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    data = [json.loads(r) for r in records]
    first = {d["request_id"] for d in data[:4]}
    assert len(first) == 1 and "" not in first
    assert data[4]["request_id"] not in first
    assert data[2]["hits"] == 3 and data[3]["citations"] == 1 and "total_ms" in data[3]
    assert all("秘密" not in r for r in records)  # no question text at INFO
    assert logs.REQUEST_ID.get() == ""


def test_threads_keep_their_own_request_ids():
    seen: dict[int, set[str]] = {}

    def work(n: int) -> None:
        with logs.request("retrieve", "q"):
            ids = {logs.REQUEST_ID.get() for _ in range(100)}
            seen[n] = ids

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(ids) == 1 for ids in seen.values())
    assert len({next(iter(ids)) for ids in seen.values()}) == 8


def test_ask_logs_timings_without_text(assistant, caplog):
    with caplog.at_level(logging.INFO, logger="assistant.requests"):
        answer = assistant.ask("NetWorld 是什么？")
    done = [r for r in caplog.records if r.getMessage() == "ask done"]
    assert done and done[0].fields["citations"] == len(answer.citations)
    assert "retrieve_ms" in done[0].fields
    texts = " ".join(
        r.getMessage() + str(getattr(r, "fields", ""))
        for r in caplog.records
        if r.levelno >= logging.INFO
    )
    assert "NetWorld 是什么" not in texts
    assert answer.citations and answer.citations[0].quote not in texts


def test_a_request_scope_in_a_generator_survives_steps_in_other_contexts():
    """Gradio resumes a streaming generator in a copied context at each step."""
    import contextvars

    def stream():
        with logs.request("stream", "q"):
            yield logs.REQUEST_ID.get()
            yield "second"

    gen = stream()
    first = contextvars.copy_context().run(next, gen)
    assert first
    assert contextvars.copy_context().run(next, gen) == "second"
    with pytest.raises(StopIteration):
        contextvars.copy_context().run(next, gen)


def test_a_line_outside_a_request_shows_no_request_id():
    for fmt in ("text", "json"):
        records, handler = _capture(fmt)
        logger = logging.getLogger(f"assistant.test.outside.{fmt}")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            logger.warning("outside")
            with logs.request("ask", "q"):
                logger.warning("inside")
        finally:
            logger.removeHandler(handler)
        outside, inside = records
        request_id = inside.split("[")[1].split("]")[0] if fmt == "text" else None
        if fmt == "text":
            assert "[" not in outside and " WARNING assistant.test.outside.text: outside" in outside
            assert len(request_id) == 12 and f"WARNING [{request_id}] assistant" in inside
        else:
            assert "request_id" not in json.loads(outside)
            assert len(json.loads(inside)["request_id"]) == 12

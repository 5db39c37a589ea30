"""The LLM backend probe behind the chat UI's "whether it answers" line."""

from __future__ import annotations

from assistant.answer.probe import probe_backend
from assistant.settings import Settings
from tests.conftest import free_port
from tests.stubs.openai_server import OpenAIStub


def test_no_backend_means_extractive():
    status = probe_backend(Settings())
    assert status.state == "extractive" and status.backend == "none"


def test_reachable_server():
    with OpenAIStub() as stub:
        status = probe_backend(
            Settings(llm_backend="openai-compatible", llm_base_url=stub.base_url, llm_model="m")
        )
    assert status.state == "reachable" and status.where == stub.base_url and status.model == "m"
    assert stub.requests == []  # listing models spends no completion


def test_unreachable_and_misconfigured():
    url = f"http://127.0.0.1:{free_port()}/v1"
    down = probe_backend(
        Settings(llm_backend="openai-compatible", llm_base_url=url, llm_model="m"), timeout=2
    )
    assert down.state == "unreachable" and "connection refused" in down.detail
    ollama = probe_backend(
        Settings(llm_backend="ollama", ollama_url=url.removesuffix("/v1"), llm_model="m")
    )
    assert ollama.state == "unreachable"
    missing = probe_backend(Settings(llm_backend="openai-compatible", llm_model="m"))
    assert missing.state == "misconfigured" and "ASSISTANT_LLM_BASE_URL" in missing.detail
    assert probe_backend(Settings(llm_backend="ollama")).state == "misconfigured"

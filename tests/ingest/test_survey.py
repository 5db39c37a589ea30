"""add-survey's reading and copying: sources, archives, folders, and what never gets written."""

from __future__ import annotations

import json
import os

import pytest

from assistant.errors import DownloadError, InvalidInput
from assistant.ingest.survey import (
    MARKER,
    add_survey_files,
    parse_source,
    safe_parts,
    wanted,
)
from assistant.settings import Settings
from tests.stubs.archive_server import ArchiveStub, survey_files, tarball, zipball

CHAPTERS = {f"docs/part1/chapter{n:02d}.md" for n in (1, 2, 3)} | {"docs/index.md"}


def settings(tmp_path, **kw) -> Settings:
    return Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "idx", **kw)


def copied(tmp_path, name: str) -> set[str]:
    root = tmp_path / "corpus" / name
    return {p.relative_to(root).as_posix() for p in root.rglob("*.md")}


@pytest.mark.parametrize(
    ("given", "kind", "location", "name", "sub"),
    [
        ("https://github.com/acme/wm-survey", "github", "/acme/wm-survey/archive/HEAD.tar.gz",
         "wm-survey", ""),
        ("https://github.com/acme/wm-survey.git", "github", "/acme/wm-survey/archive/HEAD.tar.gz",
         "wm-survey", ""),
        ("git@github.com:acme/wm-survey.git", "github", "/acme/wm-survey/archive/HEAD.tar.gz",
         "wm-survey", ""),
        ("https://github.com/acme/wm-survey/tree/v2/docs/zh", "github",
         "/acme/wm-survey/archive/v2.tar.gz", "wm-survey", "docs/zh"),
        ("https://example.org/files/survey-1.0.tar.gz", "archive-url",
         "https://example.org/files/survey-1.0.tar.gz", "survey-1.0", ""),
        ("https://example.org/s.zip?x=1", "archive-url", "https://example.org/s.zip?x=1", "s", ""),
    ],
)  # fmt: skip
def test_sources_are_understood(tmp_path, given, kind, location, name, sub):
    source = parse_source(given, settings(tmp_path, github_url="https://gh.test"))
    assert (source.kind, source.name, source.subfolder) == (kind, name, sub)
    assert source.location.endswith(location)
    if kind == "github":
        assert source.location.startswith("https://gh.test/")


@pytest.mark.parametrize(
    ("given", "needle"),
    [
        ("https://gitlab.com/acme/survey", "give a GitHub repository"),
        ("ftp://example.org/s.tar.gz", "only https:// URLs"),
        ("no/such/folder", "does not exist"),
        ("pyproject.toml", "no .tar.gz or .zip archive"),
    ],
)
def test_other_sources_are_invalid_input(tmp_path, given, needle):
    with pytest.raises(InvalidInput, match=needle):
        parse_source(given, settings(tmp_path))


def test_paths_that_leave_the_survey_and_site_folders_are_refused():
    assert safe_parts("a/./b/c.md") == ("a", "b", "c.md")
    for bad in ("/etc/x.md", "../x.md", "a/../../x.md", "C:/x.md", "a\\..\\x.md"):
        assert safe_parts(bad) is None
    assert wanted(("docs", "ch1.md")) and wanted(("ch1.MD",))
    for skipped in (
        ("docs", ".vitepress", "theme", "x.md"),
        ("node_modules", "x.md"),
        ("docs", "public", "x.md"),
        ("build", "x.md"),
        ("docs", "ch1.png"),
    ):
        assert not wanted(skipped)


def test_a_github_archive_is_downloaded_and_its_chapters_copied(tmp_path):
    with ArchiveStub() as stub:
        stub.serve_github("acme", "wm-survey", tarball(survey_files()))
        s = settings(tmp_path, github_url=stub.url)
        report = add_survey_files("https://github.com/acme/wm-survey", s)
    assert stub.requests[0] == "/acme/wm-survey/archive/HEAD.tar.gz"  # then the redirect
    assert set(report.files) == CHAPTERS == copied(tmp_path, "wm-survey")
    assert "README.md" not in report.files  # the index skips READMEs (corpus_exclude)
    record = json.loads((tmp_path / "corpus" / "wm-survey" / MARKER).read_text())
    assert record["source"] == "https://github.com/acme/wm-survey"
    assert sorted(record["files"]) == sorted(CHAPTERS)


def test_a_subfolder_of_a_branch(tmp_path):
    with ArchiveStub() as stub:
        stub.serve_github("acme", "wm-survey", tarball(survey_files()), ref="dev")
        s = settings(tmp_path, github_url=stub.url)
        report = add_survey_files("https://github.com/acme/wm-survey/tree/dev/docs/part1", s)
    assert set(report.files) == {"chapter01.md", "chapter02.md", "chapter03.md"}


def test_a_zip_url_and_a_local_archive(tmp_path):
    with ArchiveStub() as stub:
        stub.files["/dl/survey.zip"] = zipball(survey_files(2), top="")
        report = add_survey_files(f"{stub.url}/dl/survey.zip", settings(tmp_path))
    assert set(report.files) == {"docs/part1/chapter01.md", "docs/part1/chapter02.md",
                                 "docs/index.md"}  # fmt: skip
    local = tmp_path / "s.tar.gz"
    local.write_bytes(tarball(survey_files(1)))
    report = add_survey_files(str(local), settings(tmp_path / "other"))
    assert report.source.name == "s" and "docs/part1/chapter01.md" in report.files


def test_hostile_archive_members_are_never_written(tmp_path):
    data = tarball(
        survey_files(1),
        symlinks={"docs/passwd.md": "/etc/passwd", "docs/up.md": "../../../outside.md"},
        raw_names={"../escape.md": b"# 9 x\n", "/abs.md": b"# 9 y\n"},
    )
    with ArchiveStub() as stub:
        stub.files["/evil.tar.gz"] = data
        report = add_survey_files(f"{stub.url}/evil.tar.gz", settings(tmp_path))
    assert report.skipped_links == 4
    assert copied(tmp_path, "evil") == {"docs/part1/chapter01.md", "docs/index.md"}
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert not written & {"escape.md", "abs.md", "passwd.md", "up.md", "outside.md"}


def test_a_local_folder_skips_links_and_site_folders(tmp_path):
    source = tmp_path / "my-survey"
    for name, data in survey_files(2).items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    secret = tmp_path / "secret.md"
    secret.write_text("# 1 secret\n")
    os.symlink(secret, source / "docs" / "linked.md")
    os.symlink(tmp_path, source / "docs" / "loop")
    report = add_survey_files(str(source), settings(tmp_path))
    assert report.skipped_links == 1
    assert copied(tmp_path, "my-survey") == {
        "docs/part1/chapter01.md",
        "docs/part1/chapter02.md",
        "docs/index.md",
    }


def test_adding_again_replaces_the_copy_and_a_foreign_folder_is_kept(tmp_path):
    source = tmp_path / "src"
    (source / "docs").mkdir(parents=True)
    (source / "docs" / "a.md").write_text("# 1 A\n")
    (source / "docs" / "b.md").write_text("# 2 B\n")
    add_survey_files(str(source), settings(tmp_path))
    (source / "docs" / "b.md").unlink()
    report = add_survey_files(str(source), settings(tmp_path))
    assert report.replaced and copied(tmp_path, "src") == {"docs/a.md"}
    assert not [p for p in (tmp_path / "corpus").iterdir() if p.name.startswith(".")]

    mine = tmp_path / "corpus" / "notes"
    mine.mkdir()
    (mine / "n.md").write_text("# my notes\n")
    with pytest.raises(InvalidInput, match="was not made by add-survey"):
        add_survey_files(str(source), settings(tmp_path), name="notes")
    assert (mine / "n.md").read_text() == "# my notes\n"


def test_a_chapter_already_in_the_corpus_is_not_copied_twice(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "trends.md").write_text("# 17 趋势\n")
    source = tmp_path / "src"
    (source / "docs").mkdir(parents=True)
    (source / "docs" / "trends.md").write_text("# 17 趋势\n")
    (source / "docs" / "new.md").write_text("# 18 新\n")
    report = add_survey_files(str(source), settings(tmp_path))
    assert report.duplicates == {"docs/trends.md": "trends.md"} and report.files == ["docs/new.md"]


def test_download_errors_are_one_line(tmp_path):
    with ArchiveStub() as stub:
        s = settings(tmp_path, github_url=stub.url)
        with pytest.raises(DownloadError, match="not found \\(HTTP 404\\)"):
            add_survey_files("https://github.com/acme/missing", s)
        stub.files["/broken.tar.gz"] = b"this is no archive"
        with pytest.raises(DownloadError, match="no readable tar archive"):
            add_survey_files(f"{stub.url}/broken.tar.gz", s)
        stub.files["/empty.tar.gz"] = tarball({"docs/logo.png": b"\x89PNG"})
        with pytest.raises(InvalidInput, match="holds no Markdown"):
            add_survey_files(f"{stub.url}/empty.tar.gz", s)
    port = stub.port  # the server is gone: nothing listens there now
    s = settings(tmp_path, github_url=f"http://127.0.0.1:{port}", arxiv_connect_timeout=2)
    with pytest.raises(DownloadError, match=r"cannot reach 127\.0\.0\.1"):
        add_survey_files("https://github.com/acme/wm-survey", s)
    assert not (tmp_path / "corpus" / "wm-survey").exists()

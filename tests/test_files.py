import os

import numpy as np
import pytest

from assistant.files import atomic_file, atomic_save_arrays, atomic_write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "audit.json"
    atomic_write_text(path, "old")
    with pytest.raises(RuntimeError), atomic_file(path, "w") as handle:
        handle.write("half")
        raise RuntimeError("killed")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["audit.json"]


def test_arrays_are_written_whole_with_the_usual_permissions(tmp_path):
    path = tmp_path / "parts" / "vectors.npz"
    atomic_save_arrays(path, keys=np.array(["a", "b"]), vectors=np.eye(2))
    with np.load(path) as saved:
        assert list(saved["keys"]) == ["a", "b"]
        assert saved["vectors"].shape == (2, 2)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0o600

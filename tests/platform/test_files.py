from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar.exceptions import NotFoundException

from baoxue.platform.files import storage


@pytest.fixture
def files(settings: Any, tmp_path: Path) -> Any:
    return storage(replace(settings, data_dir=tmp_path))


def test_saved_files_live_under_the_data_dir_and_read_back(files: Any, tmp_path: Path) -> None:
    key = files.save(7, "visit-photo", b"\xff\xd8jpeg", ".JPG")
    assert key.startswith("t7/visit-photo/") and key.endswith(".jpg")
    assert (tmp_path / "files" / key).read_bytes() == b"\xff\xd8jpeg"
    assert files.read(7, key) == b"\xff\xd8jpeg"


@pytest.mark.parametrize("bad", ["../../etc/passwd", "t7/visit-photo/../../../x", "/etc/passwd", "t7/x", ""])
def test_bad_keys_are_not_found(files: Any, bad: str) -> None:
    with pytest.raises(NotFoundException):
        files.read(7, bad)


def test_another_townships_key_is_not_found(files: Any) -> None:
    key = files.save(7, "packet", b"%PDF", ".pdf")
    with pytest.raises(NotFoundException):
        files.read(8, key)


def test_kinds_and_suffixes_are_checked(files: Any) -> None:
    with pytest.raises(ValueError):
        files.save(7, "../up", b"x")
    with pytest.raises(ValueError):
        files.save(7, "photo", b"x", ".p/hp")

"""Files (home-visit photos, generated packets, uploads) under the data directory.

Behind a small protocol so that S3-compatible storage can replace the local folder later.
Keys always begin with the owning township, so a route that serves a file checks the
township of the key against the actor's before reading it — and only after its own
`access_*` check of the record the file belongs to. Nothing under the data directory is
served statically.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path
from typing import Protocol

from baoxue.platform.errors import not_found
from baoxue.platform.settings import Settings

_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_KEY = re.compile(r"^t(\d+)/([a-z][a-z0-9_-]{0,39})/[0-9a-f]{2}/[0-9a-f]{32}(\.[a-z0-9]{1,8})?$")


class FileStorage(Protocol):
    def save(self, township_id: int, kind: str, data: bytes, suffix: str = "") -> str: ...

    def read(self, township_id: int, key: str) -> bytes: ...


class LocalFileStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, township_id: int, kind: str, data: bytes, suffix: str = "") -> str:
        if not _KIND.match(kind):
            raise ValueError(f"bad file kind {kind!r}")
        suffix = suffix.lower()
        if suffix and not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
            raise ValueError(f"bad file suffix {suffix!r}")
        name = secrets.token_hex(16)
        key = f"t{township_id}/{kind}/{hashlib.sha256(name.encode()).hexdigest()[:2]}/{name}{suffix}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".part")
        temporary.write_bytes(data)
        temporary.replace(path)  # a reader never sees half a file
        return key

    def read(self, township_id: int, key: str) -> bytes:
        """The file's bytes, or the same 404 for a bad key, another township's key or no file."""
        match = _KEY.match(key)
        if match is None or int(match.group(1)) != township_id:
            raise not_found()
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents or not path.is_file():
            raise not_found()
        return path.read_bytes()


def storage(settings: Settings) -> FileStorage:
    return LocalFileStorage(settings.files_dir)

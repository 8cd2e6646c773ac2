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


# --- uploaded certificates (a hospital's, a death certificate, an approval) --------------------

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
# What a certificate may be, by its name's suffix, and the bytes such a file begins with.
DOCUMENT_TYPES: dict[str, bytes] = {".pdf": b"%PDF-", ".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff",
                                    ".png": b"\x89PNG\r\n\x1a\n"}
DOCUMENT_MEDIA_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def document_problem(data: bytes, name: str) -> str | None:
    """Why an uploaded certificate cannot be kept (in Chinese), or None: its type is checked from
    its first bytes, never its name alone."""
    suffix = Path(name).suffix.lower()
    if suffix not in DOCUMENT_TYPES:
        return "证明材料只能是 PDF 文件或 JPG、PNG 图片。"
    if not data:
        return "上传的证明材料是空文件。"
    if len(data) > MAX_DOCUMENT_BYTES:
        return f"证明材料不能超过 {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB，请压缩或把分辨率调低后再上传。"
    if not data.startswith(DOCUMENT_TYPES[suffix]):
        return f"文件内容不是 {suffix[1:].upper()} 格式，请上传扫描件或照片的原文件。"
    return None


def document_media_type(key: str) -> str:
    return DOCUMENT_MEDIA_TYPES.get(Path(key).suffix.lower(), "application/octet-stream")

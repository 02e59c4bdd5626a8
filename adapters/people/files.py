"""Case attachments' bytes in a folder, content-addressed: `{folder}/ab/abcdef…` named by SHA-256.

A file is written once (the same scan attached to three cases is one file), atomically (a temporary
name, then a rename, so a reader never sees half a file), and checked against its name when read back
(a file altered on disk is refused, not served). Several `sweep serve` processes share the folder when
it is on shared storage (`SWEEP_ATTACHMENTS_DIR`), as they share the people's database.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from sweep.casework import AttachmentFiles

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class FolderAttachmentFiles(AttachmentFiles):
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, sha256: str) -> Path:
        if not _DIGEST.match(sha256):
            raise ValueError(f"not a SHA-256 digest: {sha256!r}")
        return self.folder / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes | None:
        try:
            data = self._path(sha256).read_bytes()
        except (FileNotFoundError, ValueError):
            return None
        return data if hashlib.sha256(data).hexdigest() == sha256 else None

"""Storage: the files a node writes (nodes.conf, the config file of CONFIG REWRITE; next the
RDB and AOF files), on disk or in memory.

Two kinds of write, as the node does them:

* ``write_text(path, text)``: overwrite a whole file and fsync it (CONFIG REWRITE's
  ``rewriteConfigOverwriteFile``);
* ``open_in_place(path)``: a file the node owns and rewrites in place, again and again
  (nodes.conf, as Redis 7.0's clusterSaveConfig): ``save(text, fsync)``.

``DiskStorage`` is the file system. ``MemoryStorage`` keeps files in a dict and knows which
bytes reached "the disk": ``crash()`` forgets every write not fsynced since (the worst a power
loss may do), so tests can check what a node finds after a crash.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class InPlaceFile(Protocol):
    def save(self, text: str, fsync: bool) -> None: ...

    def close(self) -> None: ...


class DiskInPlaceFile:
    """A file rewritten in place, as Redis 7.0's clusterSaveConfig: the new text padded with
    newlines to the old length, fsync if asked, then truncated (a reader or a killed process
    sees whole lines; blank lines are skipped on load). A temp file + rename was atomic against
    power loss too, but costs 1-2 ms per save on ext4 with ``discard``: several saves per slot
    (SETSLOT, gossip rebinds) made resharding 3x slower. The file stays open and its length is
    tracked here (the node owns the file, as Redis's lock on it says), so a save is one pwrite
    (plus the truncate when it shrank) instead of open, fstat, write, close."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._size = 0

    def save(self, text: str, fsync: bool) -> None:
        data = text.encode("utf-8")
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
                self._size = os.fstat(self._fd).st_size
            fd, size = self._fd, self._size
            pad = size - len(data)
            os.pwrite(fd, data + b"\n" * pad if pad > 0 else data, 0)
            if fsync:
                os.fsync(fd)
            if pad > 0:
                os.ftruncate(fd, len(data))
            self._size = len(data)
        except OSError:
            self.close()  # reopened (and its length read again) by the next save
            raise

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass  # already gone (the error that brought us here)


class DiskStorage:
    """The file system (paths relative to the process's working directory, Redis's ``dir``)."""

    def read_text(self, path: str | Path) -> str | None:
        """A file's text, or None if it does not exist (other errors propagate)."""
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def write_text(self, path: str | Path, text: str) -> None:
        """Overwrite ``path`` in place and fsync it (``rewriteConfigOverwriteFile``)."""
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def open_in_place(self, path: str | Path) -> DiskInPlaceFile:
        return DiskInPlaceFile(path)


class MemoryInPlaceFile:
    def __init__(self, storage: MemoryStorage, path: str) -> None:
        self.storage = storage
        self.path = path

    def save(self, text: str, fsync: bool) -> None:
        self.storage._write(self.path, text, fsync)

    def close(self) -> None:
        pass


class MemoryStorage:
    """Files in memory. ``files`` is what reads see (the page cache), ``durable`` what
    survives ``crash()``: only writes followed by an fsync."""

    def __init__(self, files: dict[str, str] | None = None) -> None:
        self.files: dict[str, str] = dict(files or {})
        self.durable: dict[str, str] = dict(self.files)

    def _write(self, path: str, text: str, fsync: bool) -> None:
        self.files[path] = text
        if fsync:
            self.durable[path] = text

    def read_text(self, path: str | Path) -> str | None:
        return self.files.get(str(path))

    def write_text(self, path: str | Path, text: str) -> None:
        self._write(str(path), text, fsync=True)

    def open_in_place(self, path: str | Path) -> MemoryInPlaceFile:
        return MemoryInPlaceFile(self, str(path))

    def crash(self) -> None:
        """A power loss: every write not fsynced is gone."""
        self.files = dict(self.durable)

"""Writes that never leave a half-written file, and locks for files that several processes share.

Every file augkit writes (weights, training records, manifests, checkpoints, study
results) goes through :func:`atomic_path`, sampled ``.npz`` files through
:class:`NpzStreamWriter`: the content is written to a temporary name in the same folder
and renamed into place. A rename within one file system is atomic, so a kill at any
moment leaves the old file or the new one, never a mixture. Manifests that several processes may update at once are read and
written under a :func:`lock` (the ``filelock`` package: a kernel lock that is released
when its holder dies, so a killed writer never leaves a stale lock behind).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

# A model or run name becomes a file name: letters, digits, '.', '_' and '-', no leading
# dot, so that a name can never climb out of its folder ('../x') or hide ('.x').
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_name(name: str, what: str = "--name") -> str:
    """``name`` if it is a safe file-name stem, else a ``ValueError`` that says why."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"{what} {name!r} is not a valid name: use letters, digits, '.', '_' "
                         "and '-' (no '/', no '..', not starting with '.'), at most 100 characters")
    return name


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp makes private (0600) files; a model or a results file should get the permissions
# any other new file of this user gets.
_FILE_MODE = 0o666 & ~_umask()


def temp_beside(path, suffix: str | None = None) -> Path:
    """A new empty temporary file in ``path``'s folder (ending in ``suffix``, default ``path``'s)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ending = suffix if suffix is not None else "".join(path.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + ending, dir=path.parent)
    os.fchmod(fd, _FILE_MODE)
    os.close(fd)
    return Path(tmp)


def commit(tmp, path) -> None:
    """Flush ``tmp`` to disk, then rename it onto ``path`` in one atomic step."""
    with open(tmp, "rb+") as fh:  # flushed before the rename makes it visible
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(Path(path).parent)


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    ``suffix`` is the temporary file's ending (default: ``path``'s own), for writers that
    insist on one (Keras wants ``.weights.h5``). On an exception the temporary file is
    removed and ``path`` is untouched.
    """
    tmp = temp_beside(path, suffix)
    try:
        yield tmp
        commit(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text(path, text: str) -> None:
    """Atomically replace ``path`` with ``text`` (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path, obj) -> None:
    """Atomically replace ``path`` with ``obj`` as indented, key-sorted JSON."""
    write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def read_json(path, what: str = "file") -> dict:
    """Read a JSON object; a corrupt file is a ``ValueError`` naming the file and the fix."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: the {what} is not valid JSON ({exc.msg} at line {exc.lineno}); "
                         "restore it from a backup or delete it to start afresh") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: the {what} should hold a JSON object, not {type(obj).__name__}")
    return obj


def save_npz(path, **arrays) -> None:
    """Atomically write a compressed ``.npz`` archive."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def save_weights(model, path) -> None:
    """``model.save_weights`` to ``path`` (``.weights.h5``) through a temporary file."""
    with atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_weights(tmp)


def lock(path, timeout: float = 120.0):
    """A cross-process lock guarding ``path`` (the lock file is ``path`` + ``.lock``)."""
    from filelock import FileLock

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path) + ".lock", timeout=timeout)


def _claim(part: Path) -> int:
    """An open descriptor of ``part``, new and empty, locked by this process alone.

    The lock (``flock``) belongs to the open file and dies with its process, so a part
    file still locked is another writer at work (a ``FileExistsError``), while one that is
    not is a dead writer's leftover: it is deleted, never reused, since a writer killed
    between publishing and clean-up leaves its part file linked to the finished file.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock, so only an exclusive create
        try:
            return os.open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL, _FILE_MODE)
        except FileExistsError:
            raise FileExistsError(f"its part file {part} exists; delete it if no other "
                                  "process is writing") from None
    for _ in range(100):  # each retry means another writer just took or dropped the name
        fd = os.open(part, os.O_RDWR | os.O_CREAT, _FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FileExistsError(f"its part file {part.name} is locked") from None
        mine = os.fstat(fd)
        try:
            now = os.stat(part)
        except FileNotFoundError:
            now = None
        if now is not None and (now.st_ino, now.st_dev) == (mine.st_ino, mine.st_dev):
            if mine.st_size == 0 and mine.st_nlink == 1:
                os.fchmod(fd, _FILE_MODE)
                return fd
            os.unlink(part)  # a dead writer's leftover
        os.close(fd)
    raise FileExistsError(f"its part file {part.name} keeps changing hands")


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Give the flushed file ``tmp`` the name ``path``: a rename, or with ``overwrite=False``
    a hard link that fails if ``path`` exists (then ``tmp`` is left for the caller)."""
    if overwrite:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)  # atomic, and refuses an existing name, unlike a rename
        except FileExistsError:
            raise FileExistsError(f"{path} exists; add --overwrite to replace it") from None
        except OSError:  # a file system without hard links: check, then rename
            if path.exists():
                raise FileExistsError(f"{path} exists; add --overwrite to replace it") from None
            os.replace(tmp, path)
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises ``KeyboardInterrupt`` instead of ending the process
    at once, so ``finally`` clauses and ``__exit__`` methods (removing part files) run."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


class NpzStreamWriter:
    """Write a large ``.npz`` one chunk at a time, so memory stays flat however big it gets.

    ``np.savez`` needs every array in memory at once; this writes each array as a ``.npy``
    member of a zip archive and streams its rows in. Arrays are declared up front with
    their full shape, then filled in order with :meth:`write`. The archive appears at
    ``path`` only when every row has been written; ``np.load`` reads it like any ``.npz``.

    Rows go to ``.NAME.part.npz`` beside ``path``, locked while this writer lives: a second
    writer on the same ``path`` fails at once with ``FileExistsError``, and a part file left
    by a killed writer is deleted by the next one. ``overwrite=False`` also refuses a
    ``path`` that exists, when the writer starts and again when it publishes, so of two
    runs onto one new ``path`` only one ever writes it. Any exception, ``KeyboardInterrupt``
    included, removes the part file; wrap the writing in :func:`sigterm_as_interrupt` so
    that SIGTERM does too.
    """

    def __init__(self, path, arrays: dict[str, tuple[tuple[int, ...], np.dtype]], *,
                 overwrite: bool = True):
        self.path, self.arrays, self.overwrite = Path(path), arrays, overwrite
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.parent / f".{self.path.name}.part.npz"
        try:
            self._fh = os.fdopen(_claim(self._tmp), "w+b")
        except FileExistsError as exc:
            raise FileExistsError(f"{self.path} exists or is being written by another "
                                  f"process ({exc})") from None
        if not overwrite and self.path.exists():
            self._drop()
            raise FileExistsError(f"{self.path} exists; add --overwrite to replace it")
        self._zip = zipfile.ZipFile(self._fh, "w", zipfile.ZIP_DEFLATED)
        self._remaining = {k: shape[0] for k, (shape, _) in arrays.items()}
        self._order = list(arrays)
        self._member = None

    def _open(self, key: str):
        shape, dtype = self.arrays[key]
        member = self._zip.open(f"{key}.npy", "w", force_zip64=True)
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                  "fortran_order": False, "shape": tuple(shape)}
        np.lib.format.write_array_header_2_0(member, header)
        return member

    def write(self, key: str, rows) -> None:
        """Append ``rows`` to array ``key`` (arrays must be filled one after another)."""
        if key != self._order[0]:
            raise ValueError(f"fill {self._order[0]!r} before {key!r}")
        shape, dtype = self.arrays[key]
        rows = np.ascontiguousarray(rows, dtype=dtype)
        if rows.shape[1:] != tuple(shape[1:]) or len(rows) > self._remaining[key]:
            raise ValueError(f"{key}: rows of shape {rows.shape} do not fit {shape}")
        if self._member is None:
            self._member = self._open(key)
        self._member.write(rows.tobytes())
        self._remaining[key] -= len(rows)
        if self._remaining[key] == 0:
            self._member.close()
            self._member = None
            self._order.pop(0)

    def close(self) -> None:
        """Finish the archive and move it into place; an error if any array is incomplete."""
        missing = {k: n for k, n in self._remaining.items() if n}
        if missing:
            self.abort()
            raise ValueError(f"{self.path}: rows still missing {missing}")
        try:
            self._zip.close()
            self._fh.flush()
            os.fsync(self._fh.fileno())  # on disk before the name makes it visible
            _publish(self._tmp, self.path, self.overwrite)
        finally:
            self._drop()

    def abort(self) -> None:
        """Drop the partial archive; ``path`` keeps whatever it held before."""
        with contextlib.suppress(Exception):
            if self._member is not None:
                self._member.close()
            self._zip.close()
        self._drop()

    def _drop(self) -> None:
        # Unlinked while still locked, so no other writer can take this inode for a fresh one.
        if self._fh.closed:
            return
        with contextlib.suppress(FileNotFoundError):
            if os.stat(self._tmp).st_ino == os.fstat(self._fh.fileno()).st_ino:
                self._tmp.unlink()
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def check_writable(folder, what: str) -> Path:
    """Create ``folder`` if needed and prove it takes a file; a ``ValueError`` naming it if not."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # One probe name per process: parallel study workers check the same folder.
        name = f".augkit-write-test-{os.getpid()}"
        with atomic_path(folder / name) as probe:
            probe.write_bytes(b"")
        (folder / name).unlink()
    except OSError as exc:
        raise ValueError(f"{what} {folder} is not writable: {exc.strerror or exc}") from None
    return folder

"""The output folder: the one place that decides where results go, whether a folder may be written,
what may be written or deleted in it, and that one command at a time writes it.  Every command that
writes (``run --out``, ``batch``, every study, ``report``, ``export``) follows one rule:

- A name from a file (a scenario's or an experiment's ``name:``) becomes a path only through
  :func:`safe_name`: one path component, never ``..``, never absolute, never longer than
  ``MAX_NAME`` characters.
- A command writes only into a folder that does not exist, is empty, or holds a manifest
  (``_manifest.json``) of this simulator written by the same command (:func:`claim`): ``run --out``
  never writes into a batch's folder, nor a batch into a study's.  The manifest lists what the
  command wrote there (a batch: its layout, then ``derived``; any other command: ``written``).
- Inside it, a file is written only where no file stands or one the manifest lists, and the manifest
  lists it before it is written (:meth:`Owned.admit`); a symbolic link inside the folder is never
  followed: the command is refused (:func:`claim`, :meth:`Owned.admit`).
- Deleting (a restart) removes only files the command wrote (:func:`remove_written`).
- The lock (``_lock``, :func:`locked`) is opened without following a link or blocking, and must be a
  regular file; a study holds it from its first run to its last table.
- Failures to write (permissions, a read-only or full disk) become one :class:`OutputUnwritable`
  line (:func:`writing`).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from simulation.errors import OutputLocked, OutputRefused, OutputUnwritable

MANIFEST = "_manifest.json"
LOCK = "_lock"
BATCH = "batch"  # the command of a manifest that names none: the batch runner's, older than the others
# A batch's own layout (simulation.experiments.results writes it): kept by the runner, not listed.
RUNS, TIMESERIES, CHUNKS = "runs.parquet", "timeseries.parquet", "chunks"
MAX_NAME = 80
UNSAFE = re.compile(r"[^\w.-]+")
LEADING_DOTS = re.compile(r"^\.+")


def safe_name(name: str) -> str:
    """``name`` as one safe file name: anything but letters, digits, ``_ . -`` becomes ``_``, leading
    dots become ``_`` (so ``..`` and hidden names are impossible), and at most ``MAX_NAME``
    characters.  A name that had to change gets a hash of the original, so two names never meet."""
    cleaned = UNSAFE.sub("_", name)
    cleaned = LEADING_DOTS.sub(lambda dots: "_" * len(dots.group()), cleaned)
    if name and cleaned == name and len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{cleaned[:MAX_NAME - 9]}-{digest}"


def named_folder(base: str | Path, *names: str) -> Path:
    """``base`` followed by one safe component per name (e.g. ``results/NAME``)."""
    return Path(base).joinpath(*(safe_name(n) for n in names))


def claim(out: Path, command: str = BATCH) -> None:
    """Refuse a folder ``command`` must not write into: a file, a folder with files of someone else
    or of another command, or one holding a symbolic link."""
    if out.exists() and not out.is_dir():
        raise OutputRefused(f"{out}: is a file, not a folder")
    existing = next(folder for folder in (out, *out.parents) if folder.exists())
    if not os.access(existing, os.W_OK | os.X_OK):  # said now, not after hours of runs
        raise OutputUnwritable(f"{existing}: no permission to write; nothing was run or written")
    if not out.is_dir():
        return
    try:
        entries = set(os.listdir(out)) - {LOCK}
    except OSError as exc:
        raise OutputUnwritable(f"{out}: cannot read the folder ({exc.strerror})") from None
    if not entries:
        return
    if MANIFEST not in entries:
        raise OutputRefused(f"{out}: holds files this simulator did not write (no {MANIFEST}); "
                            "nothing in it was touched")
    owner = _owner(out, command)
    if owner != command:
        raise OutputRefused(f"{out}: holds the results of `{owner}`, not of `{command}`; nothing in it was touched")
    refuse_links(out)


def _owner(out: Path, command: str) -> str:
    """The command that wrote ``out``'s manifest.  A damaged manifest is the batch runner's to report
    (it names the damage); for any other command it is someone else's file."""
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        manifest = None
    if not isinstance(manifest, dict):
        return BATCH if command == BATCH else f"unknown (unreadable {MANIFEST})"
    owner = manifest.get("command", BATCH)
    return owner if isinstance(owner, str) else f"unknown (unreadable {MANIFEST})"


def refuse_links(out: Path) -> None:
    """OutputRefused if anything inside ``out`` is a symbolic link: writing or deleting through it
    would reach outside the folder."""
    for folder, folders, files in os.walk(out):
        for name in (*folders, *files):
            if os.path.islink(os.path.join(folder, name)):
                raise _link(Path(folder) / name)


def _link(path: Path) -> OutputRefused:
    return OutputRefused(f"{path}: is a symbolic link; this simulator writes nothing through links,"
                         " so nothing was written")


_HELD = threading.local()  # the folders whose lock this thread holds: a study's batches lock them again


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """One command at a time per folder; the lock dies with its process, even after kill -9.  The
    lock file is opened without following a link or blocking (a FIFO would block a plain open), and
    must be a regular file; it is never truncated."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputUnwritable(f"{out}: cannot write here ({exc.strerror})") from None
    key = os.path.realpath(out)
    held = _HELD.__dict__.setdefault("folders", set())
    if key in held:
        yield
        return
    handle = _open_lock(out / LOCK)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputLocked(f"{out}: another batch is writing to this folder") from None
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
    finally:
        os.close(handle)


def _open_lock(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        handle = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _link(path) from None
        if exc.errno in (errno.EISDIR, errno.ENXIO):
            raise _not_regular(path) from None
        raise OutputUnwritable(f"{path.parent}: cannot write here ({exc.strerror})") from None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise _not_regular(path)
    return handle


def _not_regular(path: Path) -> OutputRefused:
    return OutputRefused(f"{path}: not a regular file (a FIFO, device or folder); this simulator's lock must be"
                         " a file it can create; nothing was written")


def remove_written(out: Path, relative_paths: Iterable[str]) -> None:
    """Delete these files of ``out`` (paths the batch wrote, relative to it), then any folder they
    leave empty; a path that would leave ``out`` is ignored."""
    root = out.resolve()
    folders = set()
    for relative in relative_paths:
        target = (out / relative).resolve()
        if root not in target.parents or not target.is_file() or _through_link(out, relative):
            continue
        target.unlink()
        folders.update(p for p in target.parents if root in p.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


@contextmanager
def writing(out: Path, saved: Callable[[], str] | None = None) -> Iterator[None]:
    """Turn a failure to write into ``out`` into one line; ``saved()`` says what is kept (e.g. how
    many runs), so the user knows a resume continues from there."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            what = "the disk is full"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            what = "no permission to write"
        else:
            raise
        kept = f"; {saved()}" if saved else ""
        raise OutputUnwritable(f"{out}: {what} ({exc.strerror}){kept}") from None


def _through_link(out: Path, relative: str | Path) -> bool:
    """Whether ``out/relative`` or a folder on the way to it from ``out`` is a symbolic link."""
    path = out
    for part in Path(relative).parts:
        path = path / part
        if path.is_symlink():
            return True
    return False


# ---------------------------------------------------------------------------------------------
# What a command wrote: its manifest


def read_ownership(out: Path) -> dict[str, Any]:
    """``out``'s manifest as a mapping ({} if there is none or it is not a JSON object)."""
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def written_key(command: str) -> str:
    """The manifest's list of what ``command`` wrote beside its own layout."""
    return "derived" if command == BATCH else "written"


def recorded(out: Path, command: str = BATCH) -> set[str]:
    listed = read_ownership(out).get(written_key(command), [])
    return {p for p in listed if isinstance(p, str)} if isinstance(listed, list) else set()


def record(out: Path, relative_paths: Iterable[str], command: str = BATCH) -> None:
    """Add paths (relative to ``out``) to what the manifest says ``command`` wrote there."""
    manifest = read_ownership(out)
    if command != BATCH:
        manifest.setdefault("command", command)
    key = written_key(command)
    before = manifest.get(key) if isinstance(manifest.get(key), list) else []
    manifest[key] = sorted({*(p for p in before if isinstance(p, str)), *relative_paths})
    if manifest.get(key) != before or not (out / MANIFEST).exists():
        _write_manifest(out, manifest)


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Atomically, like every results file (the manifest is written here, below the store's writers,
    because they ask this module before writing)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST}.", suffix=".tmp", dir=out)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(manifest, indent=2, default=str) + "\n")
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out / MANIFEST)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


class Owned:
    """A folder a command holds (claimed and locked): what may be written in it."""

    def __init__(self, out: Path, command: str, layout: Callable[[str], bool]):
        self.out, self.command, self.layout = out, command, layout

    def admit(self, target: str | Path) -> Path:
        """``target`` (inside the folder), once it may be written: no link on the way, no file there
        that the command did not write; recorded in the manifest before it is written."""
        target = Path(target)
        relative = Path(os.path.relpath(os.path.abspath(target), os.path.abspath(self.out)))
        path = self.out
        for part in relative.parts:
            path = path / part
            if path.is_symlink():
                raise _link(path)
        name = relative.as_posix()
        if relative.name in (MANIFEST, LOCK) or self.layout(name) or self._nested(relative):
            return target
        if target.exists() and name not in recorded(self.out, self.command):
            raise OutputRefused(f"{target}: not written by this simulator (not in {self.out / MANIFEST});"
                                " it was left as it is")
        record(self.out, [name], self.command)
        return target

    def _nested(self, relative: Path) -> bool:
        """Whether ``relative`` lies in a folder inside this one that holds its own manifest (a
        study's batch folder): that folder's command keeps it."""
        path = self.out
        for part in relative.parts[:-1]:
            path = path / part
            if (path / MANIFEST).is_file():
                return True
        return False

    def contains(self, target: Path) -> bool:
        relative = os.path.relpath(os.path.abspath(target), os.path.abspath(self.out))
        return relative != os.curdir and not relative.startswith(os.pardir + os.sep) and relative != os.pardir


_ACTIVE = threading.local()  # the folders this thread holds, innermost last: the store's writers ask them


@contextmanager
def owned(out: str | Path, command: str) -> Iterator[Owned]:
    """Hold ``out`` for ``command``: claimed, locked, marked as its own (a new folder gets a manifest
    naming the command; a batch's manifest is the runner's), and every file the store writes inside it
    admitted first (:func:`admit`); a folder inside it with a manifest of its own (a study's batch
    folder) is kept by its own command."""
    out = Path(out)
    layout = batch_layout if command == BATCH else (lambda name: False)
    claim(out, command)
    with locked(out), writing(out):
        if command != BATCH:
            record(out, [], command)
        folder = Owned(out, command, layout)
        stack = _ACTIVE.__dict__.setdefault("stack", [])
        stack.append(folder)
        try:
            yield folder
        finally:
            stack.remove(folder)


def batch_layout(relative: str) -> bool:
    """Whether ``relative`` is a file of a batch's own layout (its runs, timeseries and chunks)."""
    return relative in (RUNS, TIMESERIES) or relative.startswith(CHUNKS + "/")


def admit(target: str | Path) -> None:
    """Called by every writer of the store before it writes ``target``: the innermost folder held
    by this thread that contains it admits it (nothing to do outside every held folder)."""
    for folder in reversed(_ACTIVE.__dict__.get("stack", [])):
        if folder.contains(Path(target)):
            folder.admit(target)
            return

"""The output folder: the one place that decides where results go, whether a folder may be written,
and what may be deleted from it.

- A name from a file (a scenario's or an experiment's ``name:``) becomes a path only through
  :func:`safe_name`: one path component, never ``..``, never absolute, never longer than
  ``MAX_NAME`` characters.
- A batch writes only into a folder that does not exist, is empty, or holds a manifest of ours;
  any other folder is left untouched (:func:`claim`).
- Deleting (a restart) removes only files the batch wrote: the fixed names of its layout and the
  files it recorded in its manifest (:func:`remove_written`), never anything else in the folder.
- Failures to write (permissions, a read-only or full disk) become one :class:`OutputUnwritable`
  line (:func:`writing`).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from simulation.errors import OutputLocked, OutputRefused, OutputUnwritable

MANIFEST = "_manifest.json"
LOCK = "_lock"
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


def claim(out: Path) -> None:
    """Refuse a folder a batch must not write into: a file, or a folder with files of someone else."""
    if out.exists() and not out.is_dir():
        raise OutputRefused(f"{out}: is a file, not a folder")
    if not out.is_dir():
        return
    try:
        entries = set(os.listdir(out)) - {LOCK}
    except OSError as exc:
        raise OutputUnwritable(f"{out}: cannot read the folder ({exc.strerror})") from None
    if entries and MANIFEST not in entries:
        raise OutputRefused(f"{out}: holds files this simulator did not write (no {MANIFEST}); "
                            "nothing in it was touched")


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """One batch at a time per folder; the lock dies with its process, even after kill -9."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = open(out / LOCK, "w")
    except OSError as exc:
        raise OutputUnwritable(f"{out}: cannot write here ({exc.strerror})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputLocked(f"{out}: another batch is writing to this folder") from None
        yield


def remove_written(out: Path, relative_paths: Iterable[str]) -> None:
    """Delete these files of ``out`` (paths the batch wrote, relative to it), then any folder they
    leave empty; a path that would leave ``out`` is ignored."""
    root = out.resolve()
    folders = set()
    for relative in relative_paths:
        target = (out / relative).resolve()
        if root not in target.parents or not target.is_file():
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

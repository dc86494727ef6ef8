"""Atomic file writing: write to a temporary file in the same folder, then ``os.replace``."""

from __future__ import annotations

import glob
import json
import os
import re
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from simulation.errors import ConfigError
from simulation.experiments.folder import admit


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target`` in one step.
    Inside a folder a command holds, the folder admits ``target`` first (no link on the way, no file
    of the user's there: :func:`simulation.experiments.folder.admit`)."""
    target = Path(target)
    admit(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file private (0600); results are for sharing, so use the usual umask mode.
    umask = os.umask(0)
    os.umask(umask)
    tmp_path.chmod(0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(target: str | Path, data: Any) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")


def write_parquet(target: str | Path, frame: pd.DataFrame) -> None:
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)


def write_text(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


MISSING_CELL = re.compile(r"(?:\s|nan|n/a|none|[\[\](),;])*", re.IGNORECASE)


@dataclass(frozen=True)
class GeneratedBlock:
    """The part of a Markdown document a command writes, between ``<!-- NAME:begin -->`` and
    ``<!-- NAME:end -->``; the rest of the document is the authors'.

    The block is replaced in place, in the file the user named: a linked document's target is
    edited (the link stays), its hard links, mode and line endings are kept.  The new text is first
    written to a temporary copy beside it (``.NAME.*.tmp``, so a full disk fails before the document
    is touched), then into the document's own file in one write, then the copy is removed; copies a
    kill left behind are removed by the next write."""

    name: str

    @property
    def begin(self) -> str:
        return f"<!-- {self.name}:begin -->"

    @property
    def end(self) -> str:
        return f"<!-- {self.name}:end -->"

    def check(self, doc: str | Path) -> str:
        """The document's text; a ConfigError when it cannot be read or written or has no such block
        (checked before any run, so that hours of runs never end in a document that cannot take them)."""
        doc = Path(doc)
        try:
            mode = doc.stat().st_mode  # of the link's target; never opened before it is known to be a file
        except FileNotFoundError:
            raise ConfigError(f"{doc}: file not found"
                              f" (the Markdown file whose generated {self.name} to replace)") from None
        except OSError as exc:
            raise ConfigError(f"{doc}: cannot read it ({exc.strerror})") from None
        if not stat.S_ISREG(mode):
            raise ConfigError(f"{doc}: not a regular file (a FIFO, device or folder); give the Markdown file"
                              f" whose generated {self.name} to replace")
        real = Path(os.path.realpath(doc))
        for path, what in ((real, "the file is read-only"), (real.parent, "its folder is read-only")):
            if not os.access(path, os.W_OK):
                raise ConfigError(f"{doc}: cannot write it ({what})")
        try:
            text = real.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{doc}: cannot read it: {exc}") from None
        if self.begin not in text or self.end not in text.split(self.begin, 1)[1]:
            raise ConfigError(f"{doc}: no generated block:"
                              f" the {self.name} goes between the lines {self.begin} and {self.end}")
        return text

    def read(self, doc: str | Path) -> str:
        """What stands in the block now."""
        return self.check(doc).split(self.begin, 1)[1].split(self.end, 1)[0]

    def write(self, doc: str | Path, content: str) -> None:
        """Replace what stands in the block with ``content`` (markers in it made harmless; refused if
        it is a table of only missing values), in place."""
        self._refuse_empty_table(doc, content)
        head, rest = self.check(doc).split(self.begin, 1)
        content = harmless(content)
        if "\r\n" in head + rest:
            content = content.replace("\r\n", "\n").replace("\n", "\r\n")
        rewrite_in_place(Path(os.path.realpath(doc)),
                         head + self.begin + content + self.end + rest.split(self.end, 1)[1])

    def _refuse_empty_table(self, doc: str | Path, content: str) -> None:
        """A Markdown table in ``content`` with data rows, no number anywhere in them and a missing
        value (nan, n/a) in each: nothing was measured, so nothing replaces what stands in the block."""
        rows = [line.strip().strip("|").split("|") for line in content.splitlines() if line.strip().startswith("|")]
        data = rows[2:]  # after the header and its rule
        if data and all(not any(ch.isdigit() for cell in cells for ch in cell)
                        and any(MISSING_CELL.fullmatch(cell) and cell.strip() for cell in cells) for cells in data):
            raise ConfigError(f"{doc}: not updated: the {self.name} holds only missing values (nan, n/a);"
                              " its runs measured nothing to compare")


def harmless(content: str) -> str:
    """``content`` with every HTML comment opener and closer escaped (shown the same in Markdown), so
    that no name or value in a table can end a generated block or start another."""
    return content.replace("<!--", "&lt;!--").replace("-->", "--&gt;")


def rewrite_in_place(path: Path, text: str) -> None:
    """Write ``text`` into the file at ``path`` itself (its inode: hard links and mode kept)."""
    data = text.encode("utf-8")
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):  # left by a kill during a write
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as copy:  # the disk holds the new text before the document is touched
            copy.write(data)
            copy.flush()
            os.fsync(copy.fileno())
        with open(path, "r+b") as document:
            document.write(data)
            document.truncate()
            document.flush()
            os.fsync(document.fileno())
    finally:
        Path(tmp).unlink(missing_ok=True)

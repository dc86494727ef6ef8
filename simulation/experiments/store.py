"""Atomic file writing: write to a temporary file in the same folder, then ``os.replace``."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from simulation.errors import ConfigError


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target`` in one step."""
    target = Path(target)
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


@dataclass(frozen=True)
class GeneratedBlock:
    """The part of a Markdown document a command writes, between ``<!-- NAME:begin -->`` and
    ``<!-- NAME:end -->``; the rest of the document is the authors'."""

    name: str

    @property
    def begin(self) -> str:
        return f"<!-- {self.name}:begin -->"

    @property
    def end(self) -> str:
        return f"<!-- {self.name}:end -->"

    def check(self, doc: Path) -> str:
        """The document's text; a ConfigError when it cannot be read or has no such block (checked
        before any run, so that hours of runs never end in a missing file)."""
        try:
            text = Path(doc).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{doc}: file not found"
                              f" (the Markdown file whose generated {self.name} to replace)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{doc}: cannot read it: {exc}") from None
        if self.begin not in text or self.end not in text.split(self.begin, 1)[1]:
            raise ConfigError(f"{doc}: no generated block:"
                              f" the {self.name} goes between the lines {self.begin} and {self.end}")
        return text

    def read(self, doc: Path) -> str:
        """What stands in the block now."""
        return self.check(doc).split(self.begin, 1)[1].split(self.end, 1)[0]

    def write(self, doc: Path, content: str) -> None:
        """Replace what stands in the block with ``content``, atomically."""
        head, rest = self.check(doc).split(self.begin, 1)
        write_text(Path(doc), head + self.begin + content + self.end + rest.split(self.end, 1)[1])

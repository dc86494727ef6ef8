"""What every result carries: code version, package versions, configuration hash.

The code version is a hash of the model's source files, not ``git describe``: a tree with
uncommitted edits has one ``git describe`` however it is edited, and a resumed batch must notice
that the model changed under it.  ``git describe`` is kept beside it as information.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

PACKAGES = ("mesa", "numpy", "scipy", "pandas", "networkx", "pydantic", "pyyaml", "pyarrow")
ROOT = Path(__file__).resolve().parents[2]
# The packages whose code decides a run's result (the roles, the configuration and the model),
# wherever they are installed.  The command line, the batch runner, the analyses and the report are
# left out: editing a figure must not make days of finished runs stale.  How runs are seeded is in
# the plan's own digest (every run's configuration, seed and horizon).
SOURCE_PACKAGES = ("agents", "simulation.config", "simulation.core")


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@lru_cache(maxsize=1)
def code_version() -> str:
    """``src-`` and a hash of every ``.py`` file of the model's packages, by path and content:
    changes with any edit of the code that decides a run, committed or not, and with nothing else."""
    from importlib.util import find_spec

    digest = hashlib.sha256()
    for package in SOURCE_PACKAGES:
        spec = find_spec(package)
        folder = Path(next(iter(spec.submodule_search_locations)))
        for file in sorted(folder.rglob("*.py"), key=lambda f: f.relative_to(folder).as_posix()):
            digest.update(f"{package}/{file.relative_to(folder).as_posix()}\0".encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return f"src-{digest.hexdigest()[:16]}"


@lru_cache(maxsize=1)
def git_version() -> str:
    """``git describe`` of the checkout, with ``-dirty`` when it has uncommitted changes (information
    only: :func:`code_version` identifies the code)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=ROOT, capture_output=True, text=True, timeout=10, check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"

"""A package dropped on the page, read without trusting it: its size is checked before a byte is
read, its text is read and parsed in the thread that hands it over (Solara's ``FileDrop`` calls
``on_file`` in a thread of its own, not on the server's event loop), it is validated as the CLI
validates a scenario file, and the memory one run of it needs is estimated before it is accepted.

The limit: a package that changes every field of a scenario is about 3.5 KiB; 64 KiB leaves room
for comments while bounding the work an upload can cause (the YAML parser, pure Python, takes about
2 s on 64 KiB of the slowest-to-parse text, a flat list, on a loaded machine).
"""

from __future__ import annotations

from typing import BinaryIO

from browser.controls import SCENARIO_DIR
from simulation.config import ConfigError
from simulation.config.package import LeverFile, read_package
from simulation.core.capacity import check_scenario

UPLOAD_LIMIT = 64 * 1024  # bytes
SHOWN_NAME = 80  # characters of an uploaded file's name quoted back on the page


def read_upload(name: str, size: int, stream: BinaryIO) -> LeverFile:
    """The package in ``stream`` (a file of ``size`` bytes as the browser announced it), or a
    ConfigError of one line naming the file: too large (nothing read), not UTF-8, not a valid
    package, naming a server file (:func:`simulation.config.package.read_package`), or too large a
    model for this machine's memory (:func:`simulation.core.capacity.check_scenario`)."""
    name = shown_name(name)
    if size > UPLOAD_LIMIT:
        raise ConfigError(too_large(name, size))
    data = stream.read(UPLOAD_LIMIT + 1)  # the announced size is the browser's word
    if len(data) > UPLOAD_LIMIT:
        raise ConfigError(too_large(name, len(data)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: not a UTF-8 text file") from None
    package = read_package(text, name, SCENARIO_DIR)
    try:
        check_scenario(package.scenario, name)
    except ConfigError as exc:
        raise ConfigError(_from_upload(name, str(exc).splitlines()[0])) from None
    return package


def _from_upload(name: str, problem: str) -> str:
    """A problem of the network file as the upload's, the file named within the scenarios folder
    (the page is not told where the server keeps it)."""
    if problem.startswith(f"{name}: "):
        return problem
    return f"{name}: network.path: {problem.replace(f'{SCENARIO_DIR}/', '')}"


def too_large(name: str, size: int) -> str:
    return (f"{name}: {size:,} bytes is too large: a package is at most {UPLOAD_LIMIT // 1024} KiB"
            " (one changing every field is about 4 KiB)")


def shown_name(name: object) -> str:
    """The file's name on one line, cut to ``SHOWN_NAME`` characters."""
    text = " ".join(str(name).split()) or "(unnamed file)"
    return text if len(text) <= SHOWN_NAME else f"{text[:SHOWN_NAME]}..."

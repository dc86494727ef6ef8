"""The look of every figure for papers: greyscale-safe styles, embedded fonts, PDF and PNG."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from simulation.experiments.store import atomic_path

# Names in figures are the user's (scenarios, games' roles, parameters): drawn as the text they are,
# since matplotlib would read "cost$\frac$" as mathtext (and fail) or hand it to LaTeX.
PLAIN_TEXT = {"text.parse_math": False, "text.usetex": False}
# fonttype 42: TrueType fonts embedded in the PDF, so journals accept it and text stays editable.
RC = {"pdf.fonttype": 42, "ps.fonttype": 42, "font.size": 9, "axes.spines.top": False,
      "axes.spines.right": False, "legend.frameon": False, "savefig.bbox": "tight", **PLAIN_TEXT}
# Groups differ by line style and marker as well as grey level, so they stay apart in print.
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 3)))
MARKERS = ("o", "s", "^", "D", "v", "x", "P", "*")
DPI = 200


@contextmanager
def paper_style() -> Iterator[None]:
    """Draw the figures made inside this block in the papers' style."""
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


def group_style(i: int, n: int) -> dict[str, Any]:
    """Line and marker style of group ``i`` of ``n``: black to mid grey, so every line stays visible."""
    grey = 0.6 * i / max(n - 1, 1)
    return {"color": str(round(grey, 3)), "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)], "markersize": 4}


def save(figure: Any, stem: Path) -> list[Path]:
    """Write ``stem.pdf`` (vector) and ``stem.png``, each atomically; returns both paths."""
    paths = [stem.with_suffix(".pdf"), stem.with_suffix(".png")]
    for path in paths:
        with atomic_path(path) as tmp:
            # No creation date, so the same results give the same PDF.
            metadata = {"CreationDate": None} if path.suffix == ".pdf" else {}
            figure.savefig(tmp, format=path.suffix[1:], dpi=DPI, metadata=metadata)
    return paths

"""Every study, by the name of its command: the one table the command line builds its study
subcommands from and ``validate`` recognises study spec files by.  A new study is a module
implementing :mod:`simulation.analyses.protocol` and one entry here."""

from __future__ import annotations

from simulation.analyses import equal_cost, evidence, frontier, patterns, robustness, sensitivity
from simulation.analyses.protocol import Study

STUDIES: dict[str, Study] = {study.name: study for study in (
    sensitivity.STUDY,
    frontier.STUDY,
    equal_cost.STUDY,
    robustness.STUDY,
    evidence.STUDY,
    patterns.STUDY,
)}

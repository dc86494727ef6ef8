"""Errors shared by every layer (the lowest layer: it imports nothing from the project).

Every expected failure is a :class:`UserError`: its message is meant for the person running the
simulator, names the file, field or folder and what is allowed, and names no command-line flag
(the command line adds its own wording; the browser app shows the message as it is).
"""


class UserError(Exception):
    """An expected failure the user can fix; shown as one line."""

    exit_status = 2  # what the command line exits with


class ConfigError(UserError, ValueError):
    """A scenario, experiment, spec or override that cannot be used."""


class ArgumentError(ConfigError):
    """A value passed to a function apart from any file (a seed, a horizon, a path to write) that
    cannot be used.  ``argument`` names it as the function does (``t_end``, ``first_seed + seeds - 1``),
    so that a caller can name it its own way (the command line: by the flag that gave it)."""

    def __init__(self, argument: str, problem: str):
        super().__init__(f"{argument}: {problem}")
        self.argument, self.problem = argument, problem


class OutputLocked(UserError):
    """Another batch is writing to the same results folder."""


class StaleResults(UserError):
    """The results folder holds results of another plan or code version."""


class SchedulerUnreachable(UserError):
    """The Dask scheduler address is malformed, or nothing answers there."""


class ResultsMissing(UserError):
    """A results folder (or a file a finished batch leaves in it) is not there."""


class OutputRefused(UserError):
    """The output folder is a file, or holds files this simulator did not write."""


class OutputUnwritable(UserError):
    """The output folder cannot be written: no permission, read-only, or the disk is full."""


class ResultsUnreadable(UserError):
    """A results file (manifest or Parquet) is damaged or truncated."""


class WorkersMissingProject(UserError):
    """The Dask workers cannot import the project."""


class Interrupted(UserError):
    """The batch was stopped by a signal (Ctrl-C, SIGTERM); what finished is saved."""

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        # The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM).
        self.exit_status = 128 + signal_number


class NoDaskWorkers(UserError):
    """The Dask scheduler answers but has no worker to run anything."""


class SchedulerLost(UserError):
    """The Dask scheduler stopped answering during a batch; what finished is saved."""


class WorkersRunOtherCode(UserError):
    """A Dask worker runs another version of the model's code than this checkout."""

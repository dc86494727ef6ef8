"""Errors shared by every layer (the lowest layer: it imports nothing from the project).

Every expected failure is a :class:`UserError`: its message is meant for the person running the
simulator, names the file, field or folder and what is allowed, and names no command-line flag
(the command line adds its own wording; the browser app shows the message as it is).
"""


class UserError(Exception):
    """An expected failure the user can fix; shown as one line."""


class ConfigError(UserError, ValueError):
    """A scenario, experiment, spec or override that cannot be used."""


class OutputLocked(UserError):
    """Another batch is writing to the same results folder."""


class StaleResults(UserError):
    """The results folder holds results of another plan or code version."""


class SchedulerUnreachable(UserError):
    """The Dask scheduler address is malformed, or nothing answers there."""


class ResultsMissing(UserError):
    """A results folder (or a file a finished batch leaves in it) is not there."""

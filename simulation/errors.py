"""Errors shared by every layer (the lowest layer: it imports nothing from the project)."""


class UserError(Exception):
    """An expected failure the user can fix; shown as one line."""

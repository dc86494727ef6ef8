"""The three roles, named once.  A role's value is its row block in the model's arrays (departments,
then enterprises, then the public) and its index in the game's shares (x, y, z)."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    GOVERNMENT = 0
    ENTERPRISE = 1
    PUBLIC = 2

    @property
    def key(self) -> str:
        """The lower-case name used in metric names, files and game roles (``adoption_government``)."""
        return self.name.lower()

    @property
    def label(self) -> str:
        """What a reader calls one agent of the role."""
        return _LABELS[self]

    @property
    def strategies(self) -> tuple[str, str]:
        """Names of strategy 0 and strategy 1."""
        return _STRATEGIES[self]

    @property
    def holds_data(self) -> bool:
        return self is not Role.PUBLIC


_LABELS = {Role.GOVERNMENT: "Government department", Role.ENTERPRISE: "Enterprise", Role.PUBLIC: "Public"}
_STRATEGIES = {Role.GOVERNMENT: ("passive", "active"), Role.ENTERPRISE: ("hoard", "share"),
               Role.PUBLIC: ("bystand", "participate")}

ROLE_KEYS: tuple[str, ...] = tuple(role.key for role in Role)  # ("government", "enterprise", "public")
HOLDER_ROLES: tuple[Role, ...] = tuple(role for role in Role if role.holds_data)

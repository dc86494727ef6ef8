from agents.base import HolderAgent


class GovernmentAgent(HolderAgent):
    """A government department; strategy 1 = active (shares, leads, supervises, pays incentives)."""

    role = "government"

    @property
    def is_coordinator(self) -> bool:
        return self.kind == "coordinator"

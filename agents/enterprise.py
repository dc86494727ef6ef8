from agents.base import HolderAgent


class EnterpriseAgent(HolderAgent):
    """An enterprise; strategy 1 = share.  ``kind`` is grid, water, telecom or enterprise."""

    role = "enterprise"

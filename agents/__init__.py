from agents.enterprise import EnterpriseAgent
from agents.government import GovernmentAgent
from agents.public import PublicAgent

__all__ = ["GovernmentAgent", "EnterpriseAgent", "PublicAgent"]

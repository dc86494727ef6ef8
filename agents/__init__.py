"""The roles: each role's decision rule beside its Mesa agent view (views over the model's arrays)."""

from agents.enterprise import EnterpriseAgent
from agents.government import GovernmentAgent
from agents.public import PublicAgent
from agents.roles import Role

AGENT_CLASSES = {Role.GOVERNMENT: GovernmentAgent, Role.ENTERPRISE: EnterpriseAgent, Role.PUBLIC: PublicAgent}

__all__ = ["AGENT_CLASSES", "EnterpriseAgent", "GovernmentAgent", "PublicAgent", "Role"]

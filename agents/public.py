from agents.base import ArrayAgent, array_view


class PublicAgent(ArrayAgent):
    """A member of the public; strategy 1 = participate (uses services, gives feedback, supervises)."""

    role = "public"
    privacy_concern = array_view("privacy_concern", "privacy concern in [0, 1]", offset_attr="public_index")

    @property
    def public_index(self) -> int:
        return self.index - self.model.layout.holders

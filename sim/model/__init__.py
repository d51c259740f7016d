"""The Mesa model: agents, customer state arrays, compiled parameters."""

from typing import Any

__all__ = ["ChannelModel", "Customer", "Bank", "Platform", "Insurer"]


def __getattr__(name: str) -> Any:
    # Lazy, so that mechanisms can import sim.model.state without a cycle.
    if name == "ChannelModel":
        from sim.model.model import ChannelModel
        return ChannelModel
    if name in ("Customer", "Bank", "Platform", "Insurer"):
        from sim.model import agents
        return getattr(agents, name)
    raise AttributeError(name)

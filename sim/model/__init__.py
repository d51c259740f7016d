"""The Mesa model on top of the core: agents, step order, levers and the recorder."""

from sim.model.agents import Bank, Customer, Insurer, Platform
from sim.model.model import ChannelModel

__all__ = ["ChannelModel", "Customer", "Bank", "Platform", "Insurer"]

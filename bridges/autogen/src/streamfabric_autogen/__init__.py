"""StreamFabric bridge for Python agent frameworks: AutoGen AgentChat, AG2 classic (`autogen`) and
Microsoft Agent Framework agents become workers of the fabric, through one core (core/: the log
protocol) and one small adapter per framework (adapters/).

Run it with ``python -m streamfabric_autogen my_module:build --agent my-team``; see
docs/autogen.md for the events each framework writes. AgentChat builders that need the user call
``user_proxy(name)`` (a UserProxyAgent answered from the client) or ``input_func(agent)``; AG2
agents with human_input_mode ALWAYS / TERMINATE are answered from the client as they are.
"""

from .adapters.ag2 import Ag2Chat
from .adapters.agentchat import input_func, user_proxy
from .adapters.agentchat_mapping import AutoGenMapper
from .config import BridgeConfig, load_config
from .core.input_broker import InputTimeoutError
from .core.worker import Bridge

__all__ = [
    "Ag2Chat",
    "AutoGenMapper",
    "Bridge",
    "BridgeConfig",
    "InputTimeoutError",
    "input_func",
    "load_config",
    "user_proxy",
]
__version__ = "0.2.0"

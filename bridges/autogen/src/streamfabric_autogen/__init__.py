"""StreamFabric bridge for AutoGen AgentChat: any agent or team becomes a worker of the fabric.

Run it with ``python -m streamfabric_autogen my_module:build --agent my-team``; see the README's
"Agents: AutoGen bridge" section for the events it writes. Builders that need the user call
``user_proxy(name)`` (a UserProxyAgent answered from the client) or ``input_func(agent)``.
"""

from .config import BridgeConfig, load_config
from .human import input_func, user_proxy
from .input_broker import InputTimeoutError
from .mapping import AutoGenMapper
from .worker import Bridge

__all__ = [
    "AutoGenMapper",
    "Bridge",
    "BridgeConfig",
    "InputTimeoutError",
    "input_func",
    "load_config",
    "user_proxy",
]
__version__ = "0.1.0"

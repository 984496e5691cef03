"""StreamFabric bridge for AutoGen AgentChat: any agent or team becomes a worker of the fabric.

Run it with ``python -m streamfabric_autogen my_module:build --agent my-team``; see the README's
"Agents: AutoGen bridge" section for the events it writes.
"""

from .config import BridgeConfig, load_config
from .mapping import AutoGenMapper
from .worker import Bridge

__all__ = ["AutoGenMapper", "Bridge", "BridgeConfig", "load_config"]
__version__ = "0.1.0"

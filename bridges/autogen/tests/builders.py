"""AutoGen agents and teams driven by AutoGen's own ReplayChatCompletionClient."""

from __future__ import annotations

from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, RequestUsage
from autogen_ext.models.replay import ReplayChatCompletionClient

from streamfabric_autogen.demo import _replay_client, tool_model_info


def assistant(text: Any, name: str = "assistant", stream: bool = True, tps: float = 0) -> AssistantAgent:
    return AssistantAgent(name, model_client=_replay_client([text], tps), model_client_stream=stream)


def two_agent_team(writer: list[str], critic: list[str], tps: float = 0) -> RoundRobinGroupChat:
    agents = [
        AssistantAgent("writer", model_client=_replay_client(writer, tps), model_client_stream=True),
        AssistantAgent("critic", model_client=_replay_client(critic, tps), model_client_stream=True),
    ]
    return RoundRobinGroupChat(
        agents, termination_condition=MaxMessageTermination(1 + len(writer) + len(critic))
    )


async def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


def calculator() -> AssistantAgent:
    """Asks for the `add` tool, then streams an answer that reflects on the result."""
    info = tool_model_info()
    call = CreateResult(
        finish_reason="function_calls",
        content=[FunctionCall(id="call_1", name="add", arguments='{"a": 1, "b": 2}')],
        usage=RequestUsage(prompt_tokens=5, completion_tokens=3),
        cached=False,
    )
    client = ReplayChatCompletionClient([call, "the sum is 3"], model_info=info)
    return AssistantAgent(
        "calc", model_client=client, tools=[add], model_client_stream=True, reflect_on_tool_use=True
    )


def exhausted() -> Any:
    """An assistant whose model has nothing to say: AutoGen raises 'No more mock responses'."""
    return AssistantAgent("broken", model_client=ReplayChatCompletionClient([]), model_client_stream=True)

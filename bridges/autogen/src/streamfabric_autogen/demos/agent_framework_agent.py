"""A Microsoft Agent Framework `Agent` with a tool, on the framework's own OpenAI chat-completions
client pointed at an OpenAI-compatible endpoint (no API key needed).

    python -m streamfabric_autogen \
        streamfabric_autogen.demos.agent_framework_agent:build --agent agent-framework
"""

from __future__ import annotations

from typing import Annotated, Any

from . import demo_model

#: The adapter of this module's builders (declared even when the model settings are missing).
FRAMEWORK = "agent-framework"


def get_weather(city: Annotated[str, "the city"]) -> str:
    """The weather in a city (a deterministic demo tool)."""
    return f"sunny in {city}, 21 C"


def build() -> Any:
    from agent_framework import Agent
    from agent_framework.openai import OpenAIChatCompletionClient

    m = demo_model()
    client = OpenAIChatCompletionClient(model=m.model, base_url=m.base_url, api_key=m.api_key)
    return Agent(
        client=client,
        name="weather",
        instructions="You answer questions about the weather; use get_weather.",
        tools=[get_weather],
    )


def build_workflow() -> Any:
    """A two-agent Agent Framework workflow: `writer` drafts, `editor` polishes; both stream."""
    from agent_framework import Agent, WorkflowBuilder
    from agent_framework.openai import OpenAIChatCompletionClient

    m = demo_model()
    client = OpenAIChatCompletionClient(model=m.model, base_url=m.base_url, api_key=m.api_key)
    writer = Agent(client=client, name="writer", instructions="Write a short draft.")
    editor = Agent(client=client, name="editor", instructions="Polish the draft.")
    return WorkflowBuilder(start_executor=writer, output_from="all").add_edge(writer, editor).build()


def build_approval() -> Any:
    """An Agent whose `cancel_order` tool needs the user's approval (approval_mode always_require):
    the bridge asks the session's user, through the fabric, before the tool runs."""
    from agent_framework import Agent, tool
    from agent_framework.openai import OpenAIChatCompletionClient

    @tool(approval_mode="always_require")
    def cancel_order(order: Annotated[str, "the order id"]) -> str:
        """Cancels an order."""
        return f"order {order} cancelled"

    m = demo_model()
    client = OpenAIChatCompletionClient(model=m.model, base_url=m.base_url, api_key=m.api_key)
    return Agent(client=client, name="orders", instructions="Cancel orders on request.", tools=[cancel_order])

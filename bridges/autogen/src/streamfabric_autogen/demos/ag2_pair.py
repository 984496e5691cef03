"""The seed's own agents on AG2 classic (`import autogen`): an AssistantAgent and a UserProxyAgent
started with `initiate_chat`, llm_config streaming from an OpenAI-compatible endpoint.

    python -m streamfabric_autogen streamfabric_autogen.demos.ag2_pair:build --agent ag2-pair

`build` returns the (user_proxy, assistant) pair: the bridge runs
`user_proxy.a_initiate_chat(assistant, message=<the user's message>)` for each turn.
`build_group` is a GroupChat (round robin: a calculator with a registered tool, its executor, a
reporter);
`build_human` asks the session's user once (human_input_mode ALWAYS).
"""

from __future__ import annotations

from typing import Annotated, Any

from . import demo_model

#: The adapter of this module's builders (declared even when the model settings are missing).
FRAMEWORK = "ag2"


def llm_config() -> dict[str, Any]:
    m = demo_model()
    return {
        # price: a local model costs nothing (and AG2 stops warning that it has no price for it)
        "config_list": [
            {"model": m.model, "base_url": m.base_url, "api_key": m.api_key, "stream": True, "price": [0, 0]}
        ],
        "cache_seed": None,  # no disk cache: every turn talks to the model
    }


def initialize_agent(kind: str) -> Any:
    """The seed's shape: one function that makes either agent."""
    import autogen

    if kind == "assistant":
        return autogen.AssistantAgent(name="assistant", llm_config=llm_config())
    if kind == "user_proxy":
        return autogen.UserProxyAgent(
            name="user_proxy",
            human_input_mode="NEVER",
            max_consecutive_auto_reply=0,
            code_execution_config=False,
        )
    raise ValueError(f"unknown agent kind {kind!r}")


def build() -> Any:
    return initialize_agent("user_proxy"), initialize_agent("assistant")


def add(a: Annotated[int, "first number"], b: Annotated[int, "second number"]) -> int:
    """Adds two integers."""
    return a + b


def build_group() -> Any:
    """A GroupChat with a GroupChatManager, round robin: `calculator` calls the registered `add`
    tool, `executor` runs it, `reporter` gives the answer."""
    import autogen

    cfg = llm_config()
    calculator = autogen.AssistantAgent(name="calculator", llm_config=cfg, system_message="Use add.")
    executor = autogen.UserProxyAgent(name="executor", human_input_mode="NEVER", code_execution_config=False)
    reporter = autogen.AssistantAgent(name="reporter", llm_config=cfg, system_message="Report the result.")
    autogen.register_function(add, caller=calculator, executor=executor, description="Adds two integers.")
    group = autogen.GroupChat(
        agents=[calculator, executor, reporter],
        messages=[],
        max_round=4,
        speaker_selection_method="round_robin",
    )
    manager = autogen.GroupChatManager(groupchat=group, llm_config=False)
    user = autogen.UserProxyAgent(
        name="user", human_input_mode="NEVER", max_consecutive_auto_reply=0, code_execution_config=False
    )
    return user, manager


def build_human() -> Any:
    """The assistant answers, then the user (the session's, through the fabric) replies once."""
    import autogen

    from ..adapters.ag2 import Ag2Chat

    assistant = autogen.AssistantAgent(name="assistant", llm_config=llm_config())
    user = autogen.UserProxyAgent(name="customer", human_input_mode="ALWAYS", code_execution_config=False)
    return Ag2Chat(user, assistant, max_turns=2)

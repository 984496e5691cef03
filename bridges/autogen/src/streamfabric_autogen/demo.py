"""Deterministic AutoGen agents for trying the bridge without a model API key (and for its tests
and benchmark). They are real AgentChat agents and teams; only the model is AutoGen's own
ReplayChatCompletionClient, which streams a scripted answer word by word.

    python -m streamfabric_autogen streamfabric_autogen.demo:team --agent autogen-demo

Job options used: `length` (words per answer, default 12), `tokensPerSecond` (pace of the
stream; 0 = as fast as possible).

Two more show conversations and human in the loop (their scripted model answers from what it is
given, so a follow-up turn shows the history it received):

    python -m streamfabric_autogen streamfabric_autogen.demo:concierge --agent autogen-concierge
    python -m streamfabric_autogen streamfabric_autogen.demo:desk --agent autogen-desk
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

WORDS = (
    "tokens stream through the fabric in order and every client can prove it holds each one "
    "because seq is contiguous so a resume on any gateway never loses or repeats a word"
).split()


def demo_text(agent: str, task: str, length: int, round_: int = 0) -> str:
    """The answer `agent` gives: `length` words chosen from the task, the agent and the round."""
    seed = sum(ord(c) for c in f"{agent}|{task}|{round_}")
    return " ".join(WORDS[(seed + i * 7) % len(WORDS)] for i in range(max(1, length)))


#: A scripted answer: a fixed text or result, or a function of the messages the model is given.
Answer = Any


def _replay_client(answers: Sequence[Answer], tokens_per_second: float, model_info: Any = None) -> Any:
    try:
        from autogen_ext.models.replay import ReplayChatCompletionClient
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            "the demo agents need autogen-ext: pip install 'streamfabric-autogen[demo]'"
        ) from err

    class PacedReplayClient(ReplayChatCompletionClient):
        """ReplayChatCompletionClient paced like a real model, honouring cancellation (the stock
        replay client never looks at the token: a real provider's request is aborted), whose
        scripted answers may be functions of the prompt."""

        def _script(self, messages: Any) -> None:
            i = self._current_index
            if i < len(self.chat_completions) and callable(self.chat_completions[i]):
                self.chat_completions[i] = self.chat_completions[i](messages)

        async def create(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
            self._script(messages)
            return await super().create(messages, *args, **kwargs)

        async def create_stream(self, messages: Any, *args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
            self._script(messages)
            token = kwargs.get("cancellation_token")
            self.cancellation_token = token  # lets tests check the run's token reached the model
            async for chunk in super().create_stream(messages, *args, **kwargs):
                if token is not None and token.is_cancelled():
                    raise asyncio.CancelledError("cancelled")
                if tokens_per_second > 0 and isinstance(chunk, str):
                    await asyncio.sleep(1 / tokens_per_second)
                yield chunk

    return PacedReplayClient(list(answers), model_info=model_info)


def tool_model_info() -> Any:
    """Model info of a replay model that can call tools (and so hand off)."""
    from autogen_core.models import ModelFamily, ModelInfo

    return ModelInfo(
        vision=False,
        function_calling=True,
        json_output=False,
        family=ModelFamily.UNKNOWN,
        structured_output=False,
    )


def _opts(job: dict[str, Any] | None) -> tuple[str, int, float]:
    job = job or {}
    o = job.get("options") or {}
    return str(job.get("input", "")), int(o.get("length", 12)), float(o.get("tokensPerSecond", 0))


def assistant(job: dict[str, Any] | None = None) -> Any:
    """One streaming AssistantAgent named `assistant`."""
    from autogen_agentchat.agents import AssistantAgent

    task, length, tps = _opts(job)
    client = _replay_client([demo_text("assistant", task, length)], tps)
    return AssistantAgent("assistant", model_client=client, model_client_stream=True)


def team(job: dict[str, Any] | None = None) -> Any:
    """A two-agent RoundRobinGroupChat: `writer` drafts, `critic` answers, twice each."""
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.conditions import MaxMessageTermination
    from autogen_agentchat.teams import RoundRobinGroupChat

    task, length, tps = _opts(job)
    agents = [
        AssistantAgent(
            name,
            model_client=_replay_client([demo_text(name, task, length, r) for r in range(2)], tps),
            model_client_stream=True,
        )
        for name in ("writer", "critic")
    ]
    # The task message plus four answers.
    return RoundRobinGroupChat(agents, termination_condition=MaxMessageTermination(5))


def _said(messages: Sequence[Any], source: str) -> list[str]:
    """What `source` said in a model prompt (AutoGen puts other speakers' messages there as
    UserMessage with their name as source)."""
    return [str(m.content) for m in messages if getattr(m, "source", None) == source]


def _recap(messages: Sequence[Any]) -> str:
    said = [
        f"{m.source}: {m.content}" for m in messages if getattr(m, "source", None) in ("user", "customer")
    ]
    return "Noted. So far: " + "; ".join(said) + ". TERMINATE"


def concierge(job: dict[str, Any] | None = None) -> Any:
    """Human in the loop with a UserProxyAgent: `guide` asks where to go, `customer` (the session's
    user, answering from the client: an `input_request` / `input` exchange) answers, and `guide`
    recaps everything the user and the customer said, earlier turns included, then ends the turn.
    A follow-up turn, whose history already holds the customer's answer, is recapped at once."""
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.conditions import TextMentionTermination
    from autogen_agentchat.teams import RoundRobinGroupChat

    from .adapters.agentchat import user_proxy

    _, _, tps = _opts(job)

    def guide_answer(messages: Sequence[Any]) -> str:
        return _recap(messages) if _said(messages, "customer") else "Where would you like to go?"

    guide = AssistantAgent(
        "guide", model_client=_replay_client([guide_answer] * 20, tps), model_client_stream=True
    )
    return RoundRobinGroupChat(
        [guide, user_proxy("customer")],
        termination_condition=TextMentionTermination("TERMINATE", sources=["guide"]),
        max_turns=20,
    )


def desk(job: dict[str, Any] | None = None) -> Any:
    """A Swarm that hands the conversation back to the user: `desk` hands off to "user" asking for
    a booking reference (the turn ends: `done` with finishReason "handoff"); the user's next
    message resumes the Swarm at `desk` (a HandoffMessage from "user"), which answers from it."""
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.base import Handoff
    from autogen_agentchat.conditions import HandoffTermination, TextMentionTermination
    from autogen_agentchat.teams import Swarm
    from autogen_core import FunctionCall
    from autogen_core.models import CreateResult, RequestUsage

    _, _, tps = _opts(job)

    def desk_answer(messages: Sequence[Any]) -> Any:
        asked = _said(messages, "user")
        if len(asked) < 2:
            call = FunctionCall(id="handoff_1", name="transfer_to_user", arguments="{}")
            usage = RequestUsage(prompt_tokens=len(messages), completion_tokens=1)
            return CreateResult(finish_reason="function_calls", content=[call], usage=usage, cached=False)
        return f"Refund of booking {asked[-1]} approved. TERMINATE"

    agent = AssistantAgent(
        "desk",
        model_client=_replay_client([desk_answer] * 20, tps, tool_model_info()),
        model_client_stream=True,
        handoffs=[Handoff(target="user", message="Which booking reference should I refund?")],
    )
    termination = HandoffTermination(target="user") | TextMentionTermination("TERMINATE", sources=["desk"])
    return Swarm([agent], termination_condition=termination)

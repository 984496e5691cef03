"""Deterministic AutoGen agents for trying the bridge without a model API key (and for its tests
and benchmark). They are real AgentChat agents and teams; only the model is AutoGen's own
ReplayChatCompletionClient, which streams a scripted answer word by word.

    python -m streamfabric_autogen streamfabric_autogen.demo:team --agent autogen-demo

Job options used: `length` (words per answer, default 12), `tokensPerSecond` (pace of the
stream; 0 = as fast as possible).
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


def _replay_client(answers: Sequence[str], tokens_per_second: float) -> Any:
    try:
        from autogen_ext.models.replay import ReplayChatCompletionClient
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            "the demo agents need autogen-ext: pip install 'streamfabric-autogen[demo]'"
        ) from err

    class PacedReplayClient(ReplayChatCompletionClient):
        """ReplayChatCompletionClient paced like a real model, and honouring cancellation (the
        stock replay client never looks at the token: a real provider's request is aborted)."""

        async def create_stream(self, *args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
            token = kwargs.get("cancellation_token")
            self.cancellation_token = token  # lets tests check the run's token reached the model
            async for chunk in super().create_stream(*args, **kwargs):
                if token is not None and token.is_cancelled():
                    raise asyncio.CancelledError("cancelled")
                if tokens_per_second > 0 and isinstance(chunk, str):
                    await asyncio.sleep(1 / tokens_per_second)
                yield chunk

    return (
        PacedReplayClient(list(answers))
        if tokens_per_second > 0
        else ReplayChatCompletionClient(list(answers))
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

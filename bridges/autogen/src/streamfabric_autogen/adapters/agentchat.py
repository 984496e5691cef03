"""AutoGen AgentChat 0.4+ (`autogen-agentchat`): any agent or team with `run_stream`.

The turn's task is the conversation so far plus the new message (agentchat_history.py); items are
mapped by agentchat_mapping.py; cancel cancels AgentChat's CancellationToken, which aborts the model
request. `user_proxy(name)` / `input_func(agent)` put the session's user in a team.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from typing import Any

from ..core.adapter import Out, RunContext, closing_stream
from ..core.human import current_human
from .agentchat_history import scope_termination, task_messages
from .agentchat_mapping import AutoGenMapper

__all__ = ["AgentChatAdapter", "input_func", "user_proxy"]


class AgentChatAdapter:
    kind = "agentchat"

    def accepts(self, runnable: Any) -> bool:
        return callable(getattr(runnable, "run_stream", None))

    async def stream(self, runnable: Any, ctx: RunContext) -> AsyncIterator[Out]:
        from autogen_core import CancellationToken

        token = CancellationToken()
        ctx.on_abort(token.cancel)
        task = task_messages(ctx.history, ctx.input)
        scope_termination(runnable, len(task) - 1)
        kwargs: dict[str, Any] = {"task": task, "cancellation_token": token}
        if _accepts(runnable.run_stream, "output_task_messages"):
            kwargs["output_task_messages"] = False  # the task is in the log already
        mapper = AutoGenMapper(() if "output_task_messages" in kwargs else task)
        async with closing_stream(runnable.run_stream(**kwargs)) as items:
            async for item in items:
                for out in mapper.map(item):
                    yield out


def _accepts(fn: Any, name: str) -> bool:
    """Whether `fn` takes keyword `name` (AgentChat added some run_stream options after 0.4)."""
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _request_id() -> str | None:
    """The id of the UserInputRequestedEvent a UserProxyAgent emitted before calling us, if any."""
    try:
        from autogen_agentchat.agents import UserProxyAgent

        return UserProxyAgent.InputRequestContext.request_id()
    except (ImportError, AttributeError, RuntimeError):
        return None


def input_func(agent: str | None = None, *, options: list[str] | None = None, timeout_ms: int | None = None):
    """An async `input_func(prompt, cancellation_token)` for AgentChat that asks the session's user.

    `agent` names the asker in the `input_request`; `options` are offered answers; `timeout_ms`
    overrides INPUT_TIMEOUT_MS. Use it for your own UserProxyAgent (subclass) or call it from a tool.
    Call it inside your builder (it binds to the job being built).
    """
    human = current_human()

    async def ask(prompt: str, cancellation_token: Any = None) -> str:
        task = asyncio.ensure_future(
            human.ask(prompt, agent=agent, options=options, timeout_ms=timeout_ms, request_id=_request_id())
        )
        if cancellation_token is not None:
            cancellation_token.link_future(task)
        return await task

    return ask


def user_proxy(name: str, *, description: str = "A human user", **kwargs: Any) -> Any:
    """An AgentChat `UserProxyAgent` named `name` whose input is the session user's answer: the
    bridge writes an `input_request` {prompt, agent: name} and waits for the client's `input`
    (durably: a bridge lost while waiting is replaced by one that keeps waiting instead of asking
    twice). Extra keyword arguments go to `input_func` (`options`, `timeout_ms`)."""
    from autogen_agentchat.agents import UserProxyAgent

    return UserProxyAgent(name, description=description, input_func=input_func(name, **kwargs))

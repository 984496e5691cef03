"""Loads the user's `module:attr` builder, calls it once per job and picks the adapter that runs
what it returned.

A builder returns a fresh agent, team or chat (AgentChat: anything with `run_stream`; AG2 classic:
a ConversableAgent, an (initiator, recipient) pair or an `Ag2Chat`; Microsoft Agent Framework: an
`Agent` or a `Workflow`). It may take the job (a dict: sid, tenant, user, agent, input, options,
turn) to pick a model or a system prompt, and it may be async. A new instance per job matters:
agents keep conversation state and refuse to run twice at once.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from typing import Any

from .adapter import Adapter

Builder = Callable[..., Any]

#: Pool kinds (AGENT-POOLS.md) of the adapters, in the order they are tried.
FRAMEWORKS = ("ag2", "agent-framework", "agentchat")


class BuilderError(Exception):
    """The builder spec cannot be loaded, or what it returned is not something an adapter runs."""


def adapters() -> list[Adapter]:
    """Every adapter, most specific first (AgentChat's `run_stream` test is the loosest)."""
    from ..adapters.ag2 import Ag2Adapter
    from ..adapters.agent_framework import AgentFrameworkAdapter
    from ..adapters.agentchat import AgentChatAdapter

    return [Ag2Adapter(), AgentFrameworkAdapter(), AgentChatAdapter()]


def pick_adapter(runnable: Any, framework: str | None = None) -> Adapter:
    """The adapter named by `framework` (the `--framework` flag), else the first that accepts it."""
    for a in adapters():
        if framework is not None and a.kind != framework:
            continue
        if a.accepts(runnable):
            return a
    wanted = f"the {framework} adapter" if framework else "no adapter"
    raise BuilderError(
        f"the builder returned {type(runnable).__name__}, which {wanted} runs (AgentChat: an agent or "
        "team with run_stream; AG2: a ConversableAgent or an (initiator, recipient) pair; "
        "Agent Framework: an Agent or a Workflow)"
    )


def load_builder(spec: str) -> Builder:
    """`package.module:function` (or `module:object.attr`). The current directory is importable,
    as with `python -m`."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise BuilderError(f"builder {spec!r} must look like 'my_module:build'")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise BuilderError(f"cannot import {module_name!r}: {err}") from err
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise BuilderError(f"{module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise BuilderError(f"{spec!r} is not callable: it must build an agent or team")
    return obj


def _takes_argument(fn: Builder) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


async def call_builder(builder: Builder, job: dict[str, Any]) -> Any:
    """Calls the builder (with the job if it takes an argument), awaiting it if it is async."""
    result = builder(job) if _takes_argument(builder) else builder()
    if inspect.isawaitable(result):
        result = await result
    return result


async def build_runnable(
    builder: Builder, job: dict[str, Any], framework: str | None = None
) -> tuple[Any, Adapter]:
    """Calls the builder and picks the adapter for what it returned."""
    result = await call_builder(builder, job)
    return result, pick_adapter(result, framework)

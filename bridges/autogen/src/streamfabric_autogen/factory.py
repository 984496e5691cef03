"""Loads the user's `module:attr` builder and calls it once per job.

A builder returns a fresh AutoGen agent or team (anything with `run_stream`). It may take the job
(a dict: sid, tenant, user, agent, input, options, turn) to pick a model or a system prompt, and
it may be async. A new instance per job matters: AgentChat agents and teams keep conversation
state and refuse to run twice at once.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from typing import Any

Builder = Callable[..., Any]


class BuilderError(Exception):
    """The builder spec cannot be loaded, or what it returned is not an agent or team."""


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


async def build_runnable(builder: Builder, job: dict[str, Any]) -> Any:
    """Calls the builder (with the job if it takes an argument) and checks the result."""
    result = builder(job) if _takes_argument(builder) else builder()
    if inspect.isawaitable(result):
        result = await result
    if not callable(getattr(result, "run_stream", None)):
        raise BuilderError(
            f"the builder returned {type(result).__name__}, not an AutoGen agent or team (no run_stream)"
        )
    return result

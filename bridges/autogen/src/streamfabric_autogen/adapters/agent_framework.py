"""Microsoft Agent Framework (`agent-framework-core` + `agent-framework-openai`): an `Agent` (any
object of the framework with `run(messages, stream=True)`) or a `Workflow` (e.g. WorkflowBuilder
with agents as executors), streamed update by update.

| Agent Framework (AgentResponseUpdate)      | StreamFabric event(s)                                  |
| ------------------------------------------ | ------------------------------------------------------ |
| text content                               | `token` {text, agent = author_name or the agent name}  |
| function_call contents (streamed pieces)   | one `tool_call` {id, name, arguments, agent} per call, |
|                                            | once its arguments are complete                        |
| function_result content                    | `tool_result` {id, name, result, isError, agent}       |
| a message's end (message id changes, end)  | `message` {agent, text, role: assistant} when it had   |
|                                            | text                                                   |
| usage content                              | `usage` (summed over the run)                          |
| the stream's end                           | `done` {finishReason: "stop"}                          |
| Workflow `output` / `intermediate` events  | their AgentResponseUpdate as above, the agent being    |
| carrying an AgentResponseUpdate            | author_name or the executor id                         |
| Workflow `failed` / `error` events         | the turn's `error` (agent_error)                       |
| reasoning text, approvals, request_info    | nothing (not mapped yet: human input in workflows and  |
| (human input), other contents and events   | tool approval are not bridged)                         |

The turn's input is the conversation so far as framework `Message`s (user / assistant) plus the
new user message. Cancel cancels the task iterating the stream, which closes the model request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ..core.adapter import Event, Finish, Out, RunContext, Token, message_draft, usage_draft, with_agent
from ..core.conversation import assistant_text

__all__ = ["AgentFrameworkAdapter", "AgentFrameworkMapper"]


def _is_framework_object(obj: Any) -> bool:
    return any(c.__module__.split(".")[0] == "agent_framework" for c in type(obj).__mro__)


@dataclass
class _Call:
    call_id: str
    name: str = ""
    arguments: str = ""


@dataclass
class AgentFrameworkMapper:
    """Stateful per run: joins streamed function-call pieces, cuts messages, sums usage."""

    agent: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _text: str = ""
    _author: str | None = None
    _message_id: str | None = None
    _calls: dict[str, _Call] = field(default_factory=dict)
    _last_call: str | None = None
    _names: dict[str, str] = field(default_factory=dict)

    def map(self, update: Any) -> list[Out]:
        out: list[Out] = []
        author = getattr(update, "author_name", None) or self.agent
        mid = getattr(update, "message_id", None)
        if (mid and self._message_id and mid != self._message_id) or (self._text and author != self._author):
            out.extend(self.end_message())
        self._message_id = mid or self._message_id
        for c in getattr(update, "contents", None) or []:
            kind = getattr(c, "type", None)
            if kind == "text" and c.text:
                out.extend(self._flush_calls())
                self._author = author
                self._text += c.text
                out.append(Token(c.text, author))
            elif kind == "function_call":
                self._add_call(c)
            elif kind == "function_result":
                out.extend(self._flush_calls())
                out.append(Event(self._result(c, author)))
            elif kind == "usage":
                u = c.usage_details or {}
                self.prompt_tokens += int(u.get("input_token_count") or 0)
                self.completion_tokens += int(u.get("output_token_count") or 0)
        return out

    def _add_call(self, c: Any) -> None:
        # The model streams a call in pieces: the first names it, the rest add argument text.
        cid = c.call_id or self._last_call or ""
        call = self._calls.setdefault(cid, _Call(cid))
        self._last_call = cid
        if c.name:
            call.name = c.name
        args = c.arguments
        if isinstance(args, str):
            call.arguments += args
        elif args:
            call.arguments = json.dumps(args)

    def _flush_calls(self) -> list[Out]:
        out: list[Out] = []
        for call in self._calls.values():
            self._names[call.call_id] = call.name
            draft = {
                "type": "tool_call",
                "id": call.call_id,
                "name": call.name,
                "arguments": call.arguments or "{}",
            }
            out.append(Event(with_agent(draft, self._author or self.agent)))
        self._calls.clear()
        self._last_call = None
        return out

    def _result(self, c: Any, author: str) -> dict[str, Any]:
        result = c.result
        if not isinstance(result, str):
            result = json.dumps(result, default=str) if result is not None else ""
        draft: dict[str, Any] = {
            "type": "tool_result",
            "id": str(c.call_id),
            "result": result,
            "isError": bool(getattr(c, "exception", None)),
        }
        name = self._names.get(str(c.call_id))
        if name:
            draft["name"] = name
        return with_agent(draft, author)

    def end_message(self) -> list[Out]:
        out = self._flush_calls()
        if self._text:
            out.append(Event(message_draft(self._author or self.agent, self._text)))
        self._text = ""
        return out

    def finish(self) -> list[Out]:
        out = self.end_message()
        usage = usage_draft(self.prompt_tokens, self.completion_tokens)
        if usage:
            out.append(Event(usage))
        out.append(Finish("stop"))
        return out


class AgentFrameworkAdapter:
    kind = "agent-framework"

    def accepts(self, runnable: Any) -> bool:
        return _is_framework_object(runnable) and callable(getattr(runnable, "run", None))

    async def stream(self, runnable: Any, ctx: RunContext) -> AsyncIterator[Out]:
        from agent_framework import Workflow

        if isinstance(runnable, Workflow):
            async for out in self._workflow(runnable, ctx):
                yield out
            return
        mapper = AgentFrameworkMapper(agent=str(getattr(runnable, "name", None) or "assistant"))
        async for update in runnable.run(_messages(ctx), stream=True):
            for out in mapper.map(update):
                yield out
        for out in mapper.finish():
            yield out

    async def _workflow(self, workflow: Any, ctx: RunContext) -> AsyncIterator[Out]:
        from agent_framework import AgentResponseUpdate

        mapper = AgentFrameworkMapper(agent="workflow")
        async for ev in workflow.run(_messages(ctx), stream=True):
            if ev.type in ("failed", "error"):
                raise WorkflowFailed(
                    str(getattr(ev, "details", None) or getattr(ev, "data", None) or ev.type)
                )
            if ev.type in ("output", "intermediate", "data") and isinstance(ev.data, AgentResponseUpdate):
                mapper.agent = str(getattr(ev, "executor_id", None) or "workflow")
                for out in mapper.map(ev.data):
                    yield out
        for out in mapper.finish():
            yield out


class WorkflowFailed(Exception):
    """The workflow reported a failure event."""


def _messages(ctx: RunContext) -> list[Any]:
    """The conversation so far as framework Messages, then the new user message."""
    from agent_framework import Message

    messages: list[Any] = []
    for t in ctx.history:
        if t.user:
            messages.append(Message("user", [t.user]))
        said = assistant_text(t)
        if said:
            messages.append(Message("assistant", [said]))
    messages.append(Message("user", [ctx.input]))
    return messages

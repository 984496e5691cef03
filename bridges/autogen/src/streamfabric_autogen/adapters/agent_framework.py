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
| function_approval_request (a tool with     | `input_request` {prompt "Allow name(args)?", options   |
| approval_mode "always_require")            | approve/reject}; the answer continues the run          |
| reasoning text, workflow request_info,     | nothing (not mapped yet: human input inside workflows  |
| other contents and events                  | is not bridged)                                        |

The turn's input is the conversation so far as framework `Message`s (user / assistant) plus the
new user message. Cancel cancels the task iterating the stream, which closes the model request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ..core.adapter import (
    Event,
    Finish,
    InputRequested,
    Out,
    RunContext,
    Token,
    closing_stream,
    message_draft,
    usage_draft,
    with_agent,
)
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
    #: function_approval_request contents of the current run (tools that need the user's approval).
    approvals: list[Any] = field(default_factory=list)

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
            elif kind == "function_approval_request":
                out.extend(self._flush_calls())
                self.approvals.append(c)
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
        messages = _messages(ctx)
        # A session holds the run's messages, which the approval protocol needs to resume a call.
        create = getattr(runnable, "create_session", None)
        session = create() if callable(create) else None
        while True:
            async with closing_stream(runnable.run(messages, stream=True, session=session)) as updates:
                async for update in updates:
                    for out in mapper.map(update):
                        yield out
            if not mapper.approvals:
                break
            # Tools with approval_mode "always_require": the session's user approves each call,
            # then the run continues with the answers (the framework's approval protocol).
            approvals, mapper.approvals = mapper.approvals, []
            answers = []
            for req in approvals:
                request_id = f"af-{req.id}"
                yield InputRequested(request_id, mapper.agent)
                approved = await _ask_approval(ctx, req, mapper.agent, request_id)
                answers.append(req.to_function_approval_response(approved))
            from agent_framework import Message

            messages = [Message("user", answers)]
        for out in mapper.finish():
            yield out

    async def _workflow(self, workflow: Any, ctx: RunContext) -> AsyncIterator[Out]:
        from agent_framework import AgentResponseUpdate

        mapper = AgentFrameworkMapper(agent="workflow")
        async with closing_stream(workflow.run(_messages(ctx), stream=True)) as events:
            async for ev in events:
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


async def _ask_approval(ctx: RunContext, req: Any, agent: str, request_id: str) -> bool:
    if ctx.human is None:
        return False
    call = req.function_call
    args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments or {})
    answer = await ctx.human.ask(
        f"Allow {call.name}({args})?", agent=agent, options=["approve", "reject"], request_id=request_id
    )
    return answer.strip().lower() in APPROVE


#: Answers that approve a tool call (anything else rejects it).
APPROVE = {"approve", "approved", "yes", "y", "ok", "allow"}


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

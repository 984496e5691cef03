"""Maps what an AutoGen AgentChat `run_stream` yields to StreamFabric event drafts.

| AutoGen item                               | StreamFabric event(s)                                  |
| ------------------------------------------ | ------------------------------------------------------ |
| ModelClientStreamingChunkEvent             | `token` {text, agent = source} (coalesced later)       |
| TextMessage (and other text chat messages) | `message` {agent = source, text, role: assistant};     |
|                                            | preceded by one `token` with the whole text when the   |
|                                            | agent did not stream it (model_client_stream=False)    |
| ToolCallRequestEvent                       | one `tool_call` {id, name, arguments, agent} per call  |
| ToolCallExecutionEvent                     | one `tool_result` {id, name, result, isError, agent}   |
| ToolCallSummaryMessage                     | `message` {role: tool}                                 |
| HandoffMessage, StopMessage                | `message` {role: system}                               |
| TaskResult                                 | `usage` (sum of models_usage, if any), then `done`     |
|                                            | {finishReason: stop_reason or "stop"}                  |
| UserInputRequestedEvent (a UserProxyAgent) | no event: marks the question's place in the stream    |
|                                            | (the proxy's input_func then writes `input_request`)   |
| a UserProxyAgent's TextMessage/Handoff     | `message` {agent = proxy, text = answer, role: user}   |
| TaskResult after a HandoffMessage          | `done` {finishReason: "handoff"}: the turn is handed   |
|                                            | back to the user (agentchat_history.py: next turn)    |
| the task echo, thoughts, other events      | nothing                                                |

Items are recognised by their `type` field (every AgentChat message has one since 0.4) rather
than by class, so the mapping does not depend on where a class lives in a given AutoGen version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.adapter import Event, Finish, InputRequested, Out, Token, usage_draft, with_agent

#: Chat messages whose text is the agent's answer (shown as tokens when not streamed).
TEXT_MESSAGES = {"TextMessage", "MultiModalMessage", "StructuredMessage"}
#: Chat messages that are boundaries but not answer text.
SYSTEM_MESSAGES = {"HandoffMessage", "StopMessage"}


#: finishReason of a turn the agents handed back to the user (a HandoffMessage ended the run).
HANDOFF = "handoff"


def _text_of(item: Any) -> str:
    to_text = getattr(item, "to_text", None)
    if callable(to_text):
        return str(to_text())
    content = getattr(item, "content", "")
    return content if isinstance(content, str) else str(content)


def _is_task_result(item: Any) -> bool:
    return hasattr(item, "messages") and hasattr(item, "stop_reason") and not hasattr(item, "type")


def _echo_of(task: str | Sequence[Any]) -> list[tuple[str, str]]:
    if isinstance(task, str):
        return [("user", task)]
    return [(str(getattr(m, "source", "")), _text_of(m)) for m in task]


@dataclass
class AutoGenMapper:
    """Stateful per turn: remembers which messages were streamed, who is a human, and sums usage.

    `task` is what run_stream was given (a string or chat messages) when AutoGen echoes it first;
    pass `()` when it does not (run_stream(output_task_messages=False))."""

    task: str | Sequence[Any] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _seen_chat: bool = False
    _streamed_ids: set[str] = field(default_factory=set)
    _streaming_sources: set[str] = field(default_factory=set)
    #: Agents that asked the user (UserProxyAgents): their messages are the user's words.
    _humans: set[str] = field(default_factory=set)
    _echo: list[tuple[str, str]] = field(default_factory=list)
    _last_chat: str | None = None

    def __post_init__(self) -> None:
        self._echo = _echo_of(self.task)

    def map(self, item: Any) -> list[Out]:
        if _is_task_result(item):
            return self._finish(item)
        kind = getattr(item, "type", None)
        source = getattr(item, "source", None)
        self._add_usage(getattr(item, "models_usage", None))
        if kind == "ModelClientStreamingChunkEvent":
            mid = getattr(item, "full_message_id", None)
            if mid:
                self._streamed_ids.add(mid)
            if source:
                self._streaming_sources.add(source)
            return [Token(str(item.content), source)] if item.content else []
        if kind == "ToolCallRequestEvent":
            return [
                Event(
                    with_agent(
                        {"type": "tool_call", "id": c.id, "name": c.name, "arguments": c.arguments}, source
                    )
                )
                for c in item.content
            ]
        if kind == "ToolCallExecutionEvent":
            return [
                Event(
                    with_agent(
                        {
                            "type": "tool_result",
                            "id": r.call_id,
                            **({"name": r.name} if getattr(r, "name", None) else {}),
                            "result": str(r.content),
                            "isError": bool(getattr(r, "is_error", False)),
                        },
                        source,
                    )
                )
                for r in item.content
            ]
        if kind == "UserInputRequestedEvent":
            if source:
                self._humans.add(source)
            return [InputRequested(str(getattr(item, "request_id", "")), source)]
        if kind in TEXT_MESSAGES or kind in SYSTEM_MESSAGES or kind == "ToolCallSummaryMessage":
            return self._chat_message(item, kind, source)
        return []  # thoughts, memory queries, speaker selection, ...: not part of the stream contract

    def _chat_message(self, item: Any, kind: str, source: str | None) -> list[Out]:
        text = _text_of(item)
        if not self._seen_chat and self._echo and self._echo[0] == (source or "", text):
            self._echo.pop(0)
            return []  # run_stream echoes the task first: the client sent it, it is not output
        self._seen_chat = True
        if kind != "StopMessage":
            self._last_chat = None if source in self._humans else kind
        agent = source or "agent"
        if agent in self._humans:
            # A UserProxyAgent's message is the user's answer (already in the log as `input`).
            return [Event({"type": "message", "agent": agent, "text": text, "role": "user"})]
        streamed = getattr(item, "id", None) in self._streamed_ids or agent in self._streaming_sources
        self._streaming_sources.discard(agent)
        out: list[Out] = []
        role = "assistant"
        if kind == "ToolCallSummaryMessage":
            role = "tool"
        elif kind in SYSTEM_MESSAGES:
            role = "system"
        elif not streamed and text:
            out.append(Token(text, agent))  # a non-streaming agent: its answer is one token
        out.append(Event({"type": "message", "agent": agent, "text": text, "role": role}))
        return out

    def _add_usage(self, usage: Any) -> None:
        if usage is None:
            return
        self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)

    def usage_draft(self) -> dict[str, Any] | None:
        """The turn's `usage` event, or None when no model reported usage."""
        return usage_draft(self.prompt_tokens, self.completion_tokens)

    def _finish(self, result: Any) -> list[Out]:
        out: list[Out] = []
        usage = self.usage_draft()
        if usage:
            out.append(Event(usage))
        if self._last_chat == "HandoffMessage":
            out.append(Finish(HANDOFF))  # the agents handed the conversation back to the user
        else:
            out.append(Finish(str(result.stop_reason) if result.stop_reason else "stop"))
        return out

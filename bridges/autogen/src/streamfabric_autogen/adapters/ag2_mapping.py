"""Maps what AG2 classic sends to its IOStream to StreamFabric event drafts.

| AG2 event (autogen.events)                 | StreamFabric event(s)                                  |
| ------------------------------------------ | ------------------------------------------------------ |
| StreamEvent (llm_config "stream": True)    | `token` {text, agent = the agent replying}             |
| TextEvent {sender, content}                | `message` {agent = sender, text, role: assistant};     |
|                                            | preceded by one `token` with the whole text when the   |
|                                            | agent did not stream it (a tool result, an auto reply) |
| TextEvent carrying a human answer          | `message` {agent = the proxy, text, role: user}        |
| ToolCallEvent {sender, tool_calls}         | one `tool_call` {id, name, arguments, agent} per call  |
| ExecutedFunctionEvent                      | `tool_result` {id, name, result, isError, agent}       |
| the first TextEvent (the task echo)        | nothing: the client sent it, it is the `user_message`  |
| the agents' usage summaries (after it)     | `usage`, when the model reported tokens                |
| the chat's end                             | `done` {finishReason: "stop"}                          |
| ToolResponseEvent, TerminationEvent, usage | nothing (the tool_result / done already say it)        |
| summaries, speaker selection, prints       |                                                        |

Events are recognised by class name (after unwrapping AG2's serialisation wrapper), so the mapping
does not depend on where a class lives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..core.adapter import Event, Out, Token, message_draft, usage_draft, with_agent


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal: the text parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)


@dataclass
class Ag2Mapper:
    """Stateful per run. `speaker` is set by each agent's reply hook (ag2.py)."""

    initiator: str
    task: str
    speaker: str | None = None
    _echoed: bool = False
    _streamed: set[str] = field(default_factory=set)
    #: Answers the user gave, per asking agent, not yet seen as that agent's message.
    _answers: dict[str, str] = field(default_factory=dict)
    _questions: int = 0

    def next_question(self) -> int:
        self._questions += 1
        return self._questions

    def answered(self, agent: str, text: str) -> None:
        self._answers[agent] = text

    def map(self, ev: Any) -> list[Out]:
        kind = type(ev).__name__
        # AG2 wraps each event for serialisation: {type: "text", content: <the TextEvent>}.
        inner = getattr(ev, "content", None)
        if isinstance(getattr(ev, "type", None), str) and hasattr(inner, "uuid"):
            ev = inner
        if kind == "StreamEvent":
            agent = self.speaker
            if agent:
                self._streamed.add(agent)
            return [Token(ev.content, agent)] if ev.content else []
        if kind == "TextEvent":
            return self._text_event(ev)
        if kind == "ToolCallEvent":
            out = self._text_event(ev) if _text(ev.content) else []
            for c in ev.tool_calls:
                fn = c.function
                out.append(
                    Event(
                        with_agent(
                            {
                                "type": "tool_call",
                                "id": str(c.id or ""),
                                "name": str(fn.name or ""),
                                "arguments": fn.arguments or "{}",
                            },
                            ev.sender,
                        )
                    )
                )
            self._streamed.discard(ev.sender)
            return out
        if kind == "ExecutedFunctionEvent":
            result = ev.content if isinstance(ev.content, str) else json.dumps(ev.content, default=str)
            draft = {
                "type": "tool_result",
                "id": str(ev.call_id or ""),
                "name": ev.func_name,
                "result": result,
                "isError": not ev.is_exec_success,
            }
            return [Event(with_agent(draft, self.speaker))]
        return []

    def _text_event(self, ev: Any) -> list[Out]:
        text = _text(ev.content)
        sender = str(ev.sender)
        if not self._echoed and sender == self.initiator and text == self.task:
            self._echoed = True
            return []  # the task: already in the log as the user's message
        self._echoed = True
        streamed = sender in self._streamed
        self._streamed.discard(sender)
        if sender in self._answers and self._answers[sender] == text:
            del self._answers[sender]
            return [Event(message_draft(sender, text, "user"))]
        if not text:
            return []  # an empty auto reply: nothing was said
        out: list[Out] = [] if streamed else [Token(text, sender)]
        out.append(Event(message_draft(sender, text)))
        return out

    def usage_of(self, summaries: list[Any]) -> Event | None:
        """The `usage` event from every agent's usage summary ({"total_cost": ..., <model>:
        {prompt_tokens, completion_tokens, ...}}): the agents are built per job, so their totals
        are this turn's (a group chat's members included, which ChatResult.cost leaves out)."""
        prompt = completion = 0
        for summary in summaries:
            for v in summary.values() if isinstance(summary, dict) else []:
                if isinstance(v, dict):
                    prompt += int(v.get("prompt_tokens", 0) or 0)
                    completion += int(v.get("completion_tokens", 0) or 0)
        draft = usage_draft(prompt, completion)
        return Event(draft) if draft else None

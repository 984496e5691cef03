"""AG2 classic (`pip install autogen`, `import autogen`): the AutoGen 0.2 API the seed's agents use.

The builder returns what the seed would start a chat with:
- an `(initiator, recipient)` pair of ConversableAgents, e.g. `(user_proxy, assistant)` or
  `(user_proxy, GroupChatManager(...))`: the bridge runs `initiator.a_initiate_chat(recipient,
  message=<the user's message>)`, the async twin of the seed's `initiate_chat`;
- `Ag2Chat(initiator, recipient, max_turns=..., ...)` for extra `initiate_chat` arguments;
- a single ConversableAgent: a silent `user` proxy asks it once (max_turns=1).

AG2 reports a chat through its IOStream (autogen/io): the bridge installs one per run
(`IOStream.set_default`, a context variable, so concurrent jobs do not mix) and maps what it
receives (ag2_mapping.py). Model calls run in AG2's executor threads; their StreamEvents cross to
the event loop in order, and a thread that sends after an abort gets `RunStopped`, which ends the
model's SSE stream (cancel aborts the upstream request). Human input (human_input_mode ALWAYS /
TERMINATE) goes through the fabric: each agent's `a_get_human_input` asks the session's user.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ..core.adapter import Finish, InputRequested, Out, RunContext
from ..core.conversation import Turn, assistant_text
from .ag2_mapping import Ag2Mapper

__all__ = ["Ag2Adapter", "Ag2Chat", "RunStopped"]

#: Items a model thread may queue ahead of the event loop before it is made to wait.
HIGH_WATER = 512


class RunStopped(Exception):
    """Raised inside AG2 (a model thread's stream, an input request) once the run was aborted."""


@dataclass
class Ag2Chat:
    """An AG2 chat to run per job: `initiator.a_initiate_chat(recipient, message=..., **kwargs)`."""

    initiator: Any
    recipient: Any
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __init__(self, initiator: Any, recipient: Any, **kwargs: Any) -> None:
        self.initiator = initiator
        self.recipient = recipient
        self.kwargs = kwargs


def _from_ag2(obj: Any) -> bool:
    """Whether obj is one of AG2's (checked by module, so other frameworks never import autogen)."""
    return any(c.__module__.split(".")[0] == "autogen" for c in type(obj).__mro__)


def _conversable() -> type | None:
    try:
        from autogen import ConversableAgent
    except ImportError:
        return None
    return ConversableAgent


def as_chat(runnable: Any) -> Ag2Chat | None:
    """What the builder returned as a chat, or None when it is not AG2's."""
    if isinstance(runnable, Ag2Chat):
        return runnable
    parts = runnable if isinstance(runnable, tuple) else (runnable,)
    if not all(_from_ag2(p) for p in parts):
        return None
    agent_cls = _conversable()
    if agent_cls is None:
        return None
    if isinstance(runnable, tuple) and len(runnable) == 2 and all(isinstance(a, agent_cls) for a in runnable):
        return Ag2Chat(runnable[0], runnable[1])
    if isinstance(runnable, agent_cls):
        from autogen import UserProxyAgent

        user = UserProxyAgent("user", human_input_mode="NEVER", code_execution_config=False)
        return Ag2Chat(user, runnable, max_turns=1)
    return None


def agents_of(chat: Ag2Chat) -> list[Any]:
    """Every agent that may speak: the two ends, and a group chat manager's members."""
    out: list[Any] = []
    for a in (chat.initiator, chat.recipient):
        out.append(a)
        group = getattr(a, "groupchat", None)
        out.extend(getattr(group, "agents", []) or [])
    seen: set[int] = set()
    return [a for a in out if not (id(a) in seen or seen.add(id(a)))]  # type: ignore[func-returns-value]


def seed_history(chat: Ag2Chat, history: list[Turn]) -> bool:
    """Puts the earlier turns in a two-agent chat's message lists (what AG2 would hold had the
    same agents run them), so a follow-up turn sees them. Group chats start fresh (their history
    lives in the GroupChat; not mapped). Returns whether history was given."""
    if not history or getattr(chat.recipient, "groupchat", None) is not None:
        return False
    a, b = chat.initiator, chat.recipient
    for t in history:
        said = assistant_text(t)
        if t.user:
            a._oai_messages[b].append({"content": t.user, "role": "assistant", "name": a.name})
            b._oai_messages[a].append({"content": t.user, "role": "user", "name": a.name})
        if said:
            a._oai_messages[b].append({"content": said, "role": "user", "name": b.name})
            b._oai_messages[a].append({"content": said, "role": "assistant", "name": b.name})
    return True


class FabricIOStream:
    """AG2's IOStream for one run: `send` (any thread) queues events for the adapter in order,
    `print` is dropped (console output), `input` is not used (human input is per agent)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any], aborted: asyncio.Event):
        self._loop = loop
        self._queue = queue
        self._aborted = aborted
        self._loop_thread = threading.get_ident()

    def print(self, *objects: Any, sep: str = " ", end: str = "\n", flush: bool = False) -> None:
        return None

    def send(self, message: Any) -> None:
        if self._aborted.is_set():
            raise RunStopped("the turn was stopped")
        if threading.get_ident() == self._loop_thread:
            self._queue.put_nowait(message)
            return
        self._loop.call_soon_threadsafe(self._queue.put_nowait, message)
        # Backpressure for a model faster than the log, without ever blocking on a stopped loop.
        while self._queue.qsize() > HIGH_WATER and not self._aborted.is_set():
            time.sleep(0.002)

    def input(self, prompt: str = "", *, password: bool = False) -> str:
        raise RunStopped("console input is not available in the bridge; human input goes through the fabric")


_END = object()


class Ag2Adapter:
    kind = "ag2"

    def accepts(self, runnable: Any) -> bool:
        return as_chat(runnable) is not None

    async def stream(self, runnable: Any, ctx: RunContext) -> AsyncIterator[Out]:
        from autogen.io import IOStream

        chat = as_chat(runnable)
        assert chat is not None
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        io = FabricIOStream(loop, queue, ctx.aborted)
        agents = agents_of(chat)
        mapper = Ag2Mapper(initiator=chat.initiator.name, task=ctx.input)
        _watch_speakers(agents, mapper)
        _route_human_input(agents, mapper, queue, ctx)
        seed_history(chat, ctx.history)
        kwargs = dict(chat.kwargs)
        if ctx.history and "clear_history" not in kwargs:
            kwargs["clear_history"] = False

        async def drive() -> Any:
            try:
                with IOStream.set_default(io):
                    return await chat.initiator.a_initiate_chat(chat.recipient, message=ctx.input, **kwargs)
            finally:
                queue.put_nowait(_END)

        driver = asyncio.create_task(drive())
        ctx.on_abort(driver.cancel)
        ctx.on_abort(lambda: _close_model_clients(agents))
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, InputRequested):
                    yield item
                    continue
                for out in mapper.map(item):
                    yield out
            await driver
            usage = mapper.usage_of([a.get_total_usage() for a in agents if hasattr(a, "get_total_usage")])
            if usage:
                yield usage
            yield Finish("stop")
        finally:
            if not driver.done():
                driver.cancel()


def _close_model_clients(agents: list[Any]) -> None:
    """Cancel: closes the agents' OpenAI clients, which closes the model's streaming HTTP response
    at once (the executor thread reading it cannot be cancelled otherwise; it then fails and ends).
    Agents are built per job, so no other run shares these clients."""
    for agent in agents:
        wrapper = getattr(agent, "client", None)
        for client in getattr(wrapper, "_clients", None) or []:
            oai = getattr(client, "_oai_client", None)
            close = getattr(oai, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001 - best effort: the run is being stopped anyway
                    pass


def _watch_speakers(agents: list[Any], mapper: Ag2Mapper) -> None:
    """Names the agent whose model streams: AG2's StreamEvent carries no sender, but every reply
    starts with the agent's `process_all_messages_before_reply` hook."""
    for agent in agents:

        def hook(messages: list[dict[str, Any]], _name: str = agent.name) -> list[dict[str, Any]]:
            mapper.speaker = _name
            return messages

        agent.register_hook("process_all_messages_before_reply", hook)


def _route_human_input(
    agents: list[Any], mapper: Ag2Mapper, queue: asyncio.Queue[Any], ctx: RunContext
) -> None:
    """Every agent's human input (human_input_mode ALWAYS / TERMINATE) is the session user's
    answer: an `input_request` named after the agent, answered by an `input` on any gateway."""
    human = ctx.human
    for agent in agents:

        async def ask(prompt: str, *, iostream: Any = None, _agent: Any = agent) -> str:
            if human is None:
                raise RunStopped("human input is only available while the bridge runs a job")
            n = mapper.next_question()
            request_id = f"ag2-{n}"
            queue.put_nowait(InputRequested(request_id, _agent.name))
            answer = await human.ask(prompt, agent=_agent.name, request_id=request_id)
            mapper.answered(_agent.name, answer)
            _agent._human_input.append(answer)
            return answer

        def ask_sync(prompt: str, *, iostream: Any = None) -> str:
            raise RunStopped("the bridge runs AG2 chats with a_initiate_chat: human input is asynchronous")

        agent.a_get_human_input = ask
        agent.get_human_input = ask_sync

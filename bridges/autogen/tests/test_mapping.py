"""mapping - what each AutoGen item becomes, driven by real AgentChat runs (no NATS)."""

from __future__ import annotations

import asyncio
from typing import Any

from builders import assistant, calculator, two_agent_team
from helpers import run, wait_for

from streamfabric_autogen.adapters.agentchat_mapping import AutoGenMapper, Event, Finish, Token
from streamfabric_autogen.core.coalescer import TokenCoalescer


async def mapped(runnable: Any, task: str) -> list[Any]:
    mapper = AutoGenMapper(task)
    out: list[Any] = []
    async for item in runnable.run_stream(task=task):
        out.extend(mapper.map(item))
    return out


def kinds(out: list[Any]) -> list[str]:
    return [
        "token" if isinstance(o, Token) else "finish" if isinstance(o, Finish) else o.draft["type"]
        for o in out
    ]


def test_mapping_assistant_streams_tokens_then_message_then_usage_and_finish() -> None:
    out = run(mapped(assistant("hello there world"), "hi"))
    assert kinds(out) == ["token", "token", "token", "message", "usage", "finish"]
    assert [o.text for o in out if isinstance(o, Token)] == ["hello ", "there ", "world"]
    assert all(o.agent == "assistant" for o in out if isinstance(o, Token))
    msg = out[3].draft
    assert msg == {"type": "message", "agent": "assistant", "text": "hello there world", "role": "assistant"}
    assert out[4].draft["completionTokens"] == 3
    assert out[-1].reason == "stop"


def test_mapping_team_attributes_tokens_and_messages_to_each_agent_in_turn() -> None:
    out = run(mapped(two_agent_team(["draft one", "draft two"], ["looks good", "ship it"]), "write"))
    messages = [o.draft for o in out if isinstance(o, Event) and o.draft["type"] == "message"]
    assert [(m["agent"], m["text"]) for m in messages] == [
        ("writer", "draft one"),
        ("critic", "looks good"),
        ("writer", "draft two"),
        ("critic", "ship it"),
    ]
    # The tokens before each message are that agent's, and spell the message exactly.
    text, agents = "", set()
    for o in out:
        if isinstance(o, Token):
            text += o.text
            agents.add(o.agent)
        elif isinstance(o, Event) and o.draft["type"] == "message":
            assert text == o.draft["text"] and agents == {o.draft["agent"]}
            text, agents = "", set()
    assert "Maximum number of messages 5 reached" in out[-1].reason


def test_mapping_tool_calls_become_tool_call_and_tool_result() -> None:
    out = run(mapped(calculator(), "1+2"))
    events = [o.draft for o in out if isinstance(o, Event)]
    assert events[0] == {
        "type": "tool_call",
        "id": "call_1",
        "name": "add",
        "arguments": '{"a": 1, "b": 2}',
        "agent": "calc",
    }
    assert events[1] == {
        "type": "tool_result",
        "id": "call_1",
        "name": "add",
        "result": "3",
        "isError": False,
        "agent": "calc",
    }
    assert events[2]["type"] == "message" and events[2]["text"] == "the sum is 3"
    assert events[3]["type"] == "usage" and events[3]["promptTokens"] >= 5


def test_mapping_non_streaming_agent_yields_its_answer_as_one_token_before_the_message() -> None:
    out = run(mapped(assistant("all at once", stream=False), "hi"))
    assert kinds(out) == ["token", "message", "usage", "finish"]
    assert out[0].text == "all at once" and out[0].agent == "assistant"


def test_mapping_skips_the_task_echo_only() -> None:
    out = run(mapped(assistant("hi"), "hi"))  # the agent's answer equals the task: still an answer
    assert [o.draft["text"] for o in out if isinstance(o, Event) and o.draft["type"] == "message"] == ["hi"]


def test_coalescer_merges_up_to_buffer_size_never_across_agents_and_flushes_on_timer() -> None:
    async def body() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        c = TokenCoalescer(3, 20, got.append)
        for t in ["a", "b", "c", "d"]:
            c.push(t, "w")
        c.push("x", "critic")  # another agent: "d" is flushed first
        c.push("y", "critic")
        await wait_for(lambda: asyncio.sleep(0, len(got) == 3), what="the 20 ms timer to flush")
        return got

    got = run(body())
    assert got == [
        {"type": "token", "text": "abc", "agent": "w"},
        {"type": "token", "text": "d", "agent": "w"},
        {"type": "token", "text": "xy", "agent": "critic"},
    ]

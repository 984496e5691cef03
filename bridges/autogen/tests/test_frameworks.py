"""bridge - one turn per framework through the whole bridge (real nats-server, jobs in, fenced
events out): AgentChat, AG2 classic and Microsoft Agent Framework, the latter two on their own
OpenAI clients over HTTP/SSE to a local OpenAI-compatible server. Run with `-s` to print each
turn's event log (the outlines in docs/autogen.md come from here)."""

from __future__ import annotations

from typing import Any

import pytest
from fake_openai import FakeOpenAi
from helpers import Fabric, assert_contiguous, new_agent, run, running_bridge

from streamfabric_autogen import demo
from streamfabric_autogen.demos import ag2_pair, agent_framework_agent


def outline(events: list[dict[str, Any]]) -> list[str]:
    """`seq type(agent)`, one speaker's consecutive tokens on one line."""
    out: list[tuple[int, int, str]] = []
    for e in events:
        label = f"{e['type']}({e['agent']})" if e.get("agent") else e["type"]
        if e["type"] == "token" and out and out[-1][2] == label:
            out[-1] = (out[-1][0], e["seq"], label)
        else:
            out.append((e["seq"], e["seq"], label))
    return [f"{a}-{b} {label}" if a != b else f"{a} {label}" for a, b, label in out]


def one(url: str, builder: Any, text: str) -> list[str]:
    async def body() -> list[str]:
        f = await Fabric.connect(url)
        agent = new_agent()
        async with running_bridge(url, agent, builder):
            sid = await f.start(agent, text)
            events = await f.finished(sid)
        await f.close()
        assert_contiguous(events)
        lines = outline(events)
        print(f"\n{text!r}:\n  " + "\n  ".join(lines))
        return [line.split(" ", 1)[1] for line in lines]

    return run(body())


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    server = FakeOpenAi()
    server.token_delay_s = 0.06  # slower than STREAM_FLUSH_INTERVAL: several token events
    monkeypatch.setenv("STREAMFABRIC_DEMO_OPENAI_BASE_URL", server.base_url)
    yield server
    server.close()


def test_agentchat_team(nats_url: str) -> None:
    got = one(nats_url, lambda job: demo.team({**job, "options": {"length": 6}}), "plan a trip")
    assert got == [
        "user_message",
        *[
            x
            for _ in range(2)
            for x in ("token(writer)", "message(writer)", "token(critic)", "message(critic)")
        ],
        "usage",
        "done",
    ]


def test_ag2_pair(nats_url: str, fake: FakeOpenAi) -> None:
    fake.script("hello", ["Hello,", " I", " am", " AG2."])
    got = one(nats_url, ag2_pair.build, "hello")
    assert got == ["user_message", "token(assistant)", "message(assistant)", "usage", "done"]


def test_ag2_group_chat_with_a_tool(nats_url: str, fake: FakeOpenAi) -> None:
    call = {"id": "c1", "name": "add", "arguments": '{"a": 2, "b": 3}'}
    fake.script("add 2 and 3", {"tool_calls": [call]}, ["the", " sum", " is", " 5"])
    got = one(nats_url, ag2_pair.build_group, "add 2 and 3")
    assert got == [
        "user_message",
        "tool_call(calculator)",
        "tool_result(executor)",
        "token(reporter)",
        "message(reporter)",
        "usage",
        "done",
    ]


def test_agent_framework_agent_with_a_tool(nats_url: str, fake: FakeOpenAi) -> None:
    call = {"id": "w1", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    fake.script("weather in Paris", {"tool_calls": [call]}, ["It", " is", " sunny", " in", " Paris."])
    got = one(nats_url, agent_framework_agent.build, "weather in Paris")
    assert got == [
        "user_message",
        "tool_call(weather)",
        "tool_result(weather)",
        "token(weather)",
        "message(weather)",
        "usage",
        "done",
    ]

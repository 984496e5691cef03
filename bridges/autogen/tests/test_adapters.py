"""The AG2 and Agent Framework adapters on their frameworks' own OpenAI clients, streaming real
HTTP/SSE from a local OpenAI-compatible server (fake_openai.py), and the error shape clients get.
The fabric around them (seq, fencing, human in the loop) is tested in test_bridge.py / test_human.py
and, end to end through a gateway, in test/autogen/ag2-bridge.test.ts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fake_openai import FakeOpenAi

from streamfabric_autogen.core.adapter import Event, Finish, RunContext, Token
from streamfabric_autogen.core.conversation import Message, Turn
from streamfabric_autogen.core.errors import public_message
from streamfabric_autogen.core.factory import BuilderError, pick_adapter
from streamfabric_autogen.demos import ag2_pair, agent_framework_agent


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAi]:
    server = FakeOpenAi()
    monkeypatch.setenv("STREAMFABRIC_DEMO_OPENAI_BASE_URL", server.base_url)
    yield server
    server.close()


def run(runnable: Any, text: str, history: list[Turn] | None = None) -> tuple[str, list[Any]]:
    async def body() -> tuple[str, list[Any]]:
        adapter = pick_adapter(runnable)
        ctx = RunContext(job={"input": text}, history=history or [], human=None, aborted=asyncio.Event())
        return adapter.kind, [o async for o in adapter.stream(runnable, ctx)]

    return asyncio.run(body())


def outline(outs: list[Any]) -> list[str]:
    """`token:agent` (consecutive folded), `<event type>:agent`, `finish:reason`."""
    lines: list[str] = []
    for o in outs:
        if isinstance(o, Token):
            line = f"token:{o.agent}"
            if lines[-1:] != [line]:
                lines.append(line)
        elif isinstance(o, Event):
            lines.append(f"{o.draft['type']}:{o.draft.get('agent', '')}".rstrip(":"))
        elif isinstance(o, Finish):
            lines.append(f"finish:{o.reason}")
    return lines


def test_ag2_two_agent_chat_streams_the_assistants_tokens_then_its_message(fake: FakeOpenAi) -> None:
    fake.script("hi", ["Hello", " from", " AG2"])
    kind, outs = run(ag2_pair.build(), "hi")
    assert kind == "ag2"
    assert outline(outs) == ["token:assistant", "message:assistant", "usage", "finish:stop"]
    assert "".join(o.text for o in outs if isinstance(o, Token)) == "Hello from AG2"
    assert fake.requests[0]["body"]["stream"] is True


def test_ag2_group_chat_maps_tool_call_and_result_to_the_agents_that_made_them(fake: FakeOpenAi) -> None:
    call = {"id": "c1", "name": "add", "arguments": '{"a": 40, "b": 2}'}
    fake.script("add 40 and 2", {"tool_calls": [call]}, ["it", " is", " 42"])
    _, outs = run(ag2_pair.build_group(), "add 40 and 2")
    assert outline(outs) == [
        "tool_call:calculator",
        "tool_result:executor",
        "token:reporter",
        "message:reporter",
        "usage",
        "finish:stop",
    ]
    result = next(o.draft for o in outs if isinstance(o, Event) and o.draft["type"] == "tool_result")
    assert result == {
        "type": "tool_result",
        "id": "c1",
        "name": "add",
        "result": "42",
        "isError": False,
        "agent": "executor",
    }


def test_ag2_follow_up_turn_sends_the_earlier_turns_to_the_model(fake: FakeOpenAi) -> None:
    earlier = Turn(turn=1, user="my name is Ada", start_seq=1, messages=[Message("assistant", "Hi Ada")])
    run(ag2_pair.build(), "what is my name?", history=[earlier])
    sent = [(m["role"], m["content"]) for m in fake.requests[-1]["body"]["messages"] if m["role"] != "system"]
    assert sent == [("user", "my name is Ada"), ("assistant", "Hi Ada"), ("user", "what is my name?")]


def test_agent_framework_agent_with_a_tool(fake: FakeOpenAi) -> None:
    call = {"id": "w1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}
    fake.script("weather in Oslo", {"tool_calls": [call]}, ["Sunny", " in", " Oslo"])
    kind, outs = run(agent_framework_agent.build(), "weather in Oslo")
    assert kind == "agent-framework"
    assert outline(outs) == [
        "tool_call:weather",
        "tool_result:weather",
        "token:weather",
        "message:weather",
        "usage",
        "finish:stop",
    ]
    call_ev = outs[0].draft
    assert (call_ev["id"], call_ev["name"], call_ev["arguments"]) == ("w1", "get_weather", '{"city": "Oslo"}')


def test_agent_framework_follow_up_turn_sends_the_history(fake: FakeOpenAi) -> None:
    earlier = Turn(turn=1, user="I live in Oslo", start_seq=1, messages=[Message("weather", "Noted")])
    run(agent_framework_agent.build(), "and tomorrow?", history=[earlier])
    sent = [(m["role"], m["content"]) for m in fake.requests[-1]["body"]["messages"] if m["role"] != "system"]
    assert sent == [("user", "I live in Oslo"), ("assistant", "Noted"), ("user", "and tomorrow?")]


def test_the_adapter_is_picked_from_what_the_builder_returns_or_named() -> None:
    from autogen_agentchat.agents import AssistantAgent
    from autogen_ext.models.replay import ReplayChatCompletionClient

    assert (
        pick_adapter(AssistantAgent("a", model_client=ReplayChatCompletionClient(["x"]))).kind == "agentchat"
    )
    with pytest.raises(BuilderError, match="no adapter runs"):
        pick_adapter(object())
    with pytest.raises(BuilderError, match="the ag2 adapter"):
        pick_adapter(AssistantAgent("a", model_client=ReplayChatCompletionClient(["x"])), "ag2")


def test_public_message_keeps_the_type_and_hides_addresses_paths_and_tracebacks() -> None:
    err = ConnectionError(
        "Cannot connect to host 10.1.2.3:4222 via http://internal.svc:8080/v1 (/srv/app/x.py)\nmore"
    )
    msg = public_message(err)
    assert msg.startswith("ConnectionError: Cannot connect to host <address>")
    for leak in ("10.1.2.3", "internal.svc", "/srv/app", "more"):
        assert leak not in msg
    assert public_message(ValueError()) == "ValueError"
    assert len(public_message(RuntimeError("x" * 5000))) <= 300


def test_agent_framework_workflow_streams_each_executors_tokens_and_message(fake: FakeOpenAi) -> None:
    fake.script("write a poem", ["roses", " are", " red"], ["Roses", " are", " red."])
    kind, outs = run(agent_framework_agent.build_workflow(), "write a poem")
    assert kind == "agent-framework"
    assert outline(outs) == [
        "token:writer",
        "message:writer",
        "token:editor",
        "message:editor",
        "usage",
        "finish:stop",
    ]
    messages = [o.draft["text"] for o in outs if isinstance(o, Event) and o.draft["type"] == "message"]
    assert messages == ["roses are red", "Roses are red."]


def test_the_pool_kind_is_probed_from_the_builder_or_its_modules_framework(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streamfabric_autogen.cli import probe_kind
    from streamfabric_autogen.core.factory import load_builder

    monkeypatch.setenv("STREAMFABRIC_DEMO_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert probe_kind(load_builder("streamfabric_autogen.demos.ag2_pair:build"), "a") == "ag2"
    assert (
        probe_kind(load_builder("streamfabric_autogen.demos.agent_framework_agent:build"), "a")
        == "agent-framework"
    )
    assert probe_kind(load_builder("streamfabric_autogen.demo:team"), "a") == "agentchat"
    # Cannot be built outside a job: the module's FRAMEWORK constant, else AgentChat.
    monkeypatch.delenv("STREAMFABRIC_DEMO_OPENAI_BASE_URL")
    assert probe_kind(load_builder("streamfabric_autogen.demos.ag2_pair:build"), "a") == "ag2"
    assert probe_kind(load_builder("streamfabric_autogen.demo:concierge"), "a") == "agentchat"


def test_leaving_an_agent_framework_run_early_closes_its_model_request_at_once(fake: FakeOpenAi) -> None:
    """An abort closes the adapter's generator; the framework's response stream (and its HTTP
    request) must close with it, not whenever garbage collection finalizes it. The collector is off
    here so that a stream left to it stays open, as it can on a busy worker (the flake this pins)."""
    import contextlib
    import gc
    import time

    fake.token_delay_s = 0.02
    fake.default_answer = [f" o{i}" for i in range(300)]  # 6 s if nobody hangs up

    async def body() -> None:
        runnable = agent_framework_agent.build_approval()
        adapter = pick_adapter(runnable)
        ctx = RunContext(job={"input": "list every order"}, history=[], human=None, aborted=asyncio.Event())
        tokens = 0
        async with contextlib.aclosing(adapter.stream(runnable, ctx)) as outs:
            async for o in outs:
                tokens += isinstance(o, Token)
                if tokens >= 3:
                    break
        deadline = time.monotonic() + 3
        while "list every order" not in fake.hung_up and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        # Checked inside the loop: asyncio.run's own shutdown would close a forgotten stream too.
        assert fake.hung_up == ["list every order"]

    gc.disable()
    try:
        asyncio.run(body())
    finally:
        gc.enable()

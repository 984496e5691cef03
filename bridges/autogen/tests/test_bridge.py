"""bridge - whole turns: jobs pulled from the JOBS stream, AutoGen run, events stored, registry
updated, job acked. Real nats-server, real AgentChat agents (ReplayChatCompletionClient)."""

from __future__ import annotations

from typing import Any

from builders import assistant, calculator, exhausted, two_agent_team
from helpers import Fabric, assert_contiguous, new_agent, one_turn, run, running_bridge, wait_for

from streamfabric_autogen import demo
from streamfabric_autogen.subjects import JOBS_STREAM, worker_consumer_name


async def pending_jobs(f: Fabric, agent: str) -> int:
    info = await f.js._jsm.consumer_info(JOBS_STREAM, worker_consumer_name(agent))
    return info.num_pending + info.num_ack_pending


def test_bridge_assistant_turn_streams_tokens_message_usage_done_and_acks(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, lambda: assistant("one two three four")):
            sid = await f.start(agent, "count")
            log = await f.finished(sid)
            assert_contiguous(log)
            # The gateway's user_message opens the turn; the bridge writes only its output after it
            # (no `restart`: a fresh turn is not an interrupted one).
            assert log[0]["type"] == "user_message" and log[0]["text"] == "count"
            events = log[1:]
            assert [e["type"] for e in events] == ["token"] * 4 + ["message", "usage", "done"]
            assert "".join(e["text"] for e in events[:4]) == "one two three four"
            assert {e["agent"] for e in events[:4]} == {"assistant"}
            assert events[4]["agent"] == "assistant" and events[4]["text"] == "one two three four"
            done = events[-1]
            assert done["finishReason"] == "stop" and done["tokens"] == 4 and done["durationMs"] >= 0
            assert all(e["attempt"] == 1 for e in events)
            await wait_for(lambda: _eq(pending_jobs(f, agent), 0), what="the job to be acked")
            rec = await f.record(sid)
            assert rec["state"] == "idle" and rec["lastOutcome"] == "done" and rec["cancelRequested"] is False
        await f.close()

    run(body())


def test_bridge_team_events_name_each_agent_in_order_and_coalesce_per_agent(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        builder = lambda: two_agent_team(["a b c d", "e f"], ["g h", "i j k"])  # noqa: E731
        # Coalescing on (buffer 3): text is merged, but never across two speakers.
        async with running_bridge(nats_url, agent, builder, buffer_size=3, flush_interval_ms=1000):
            sid = await f.start(agent, "write")
            events = await f.finished(sid)
        assert_contiguous(events)
        speakers = [(e["type"], e["agent"], e["text"]) for e in events if e["type"] in ("token", "message")]
        assert speakers == [
            ("token", "writer", "a b c "),
            ("token", "writer", "d"),
            ("message", "writer", "a b c d"),
            ("token", "critic", "g h"),
            ("message", "critic", "g h"),
            ("token", "writer", "e f"),
            ("message", "writer", "e f"),
            ("token", "critic", "i j k"),
            ("message", "critic", "i j k"),
        ]
        assert events[-1]["type"] == "done" and "Maximum number of messages" in events[-1]["finishReason"]
        assert events[-1]["tokens"] == 11
        await f.close()

    run(body())


def test_bridge_tool_calls_are_stored_as_tool_call_and_tool_result(nats_url: str) -> None:
    events = one_turn(nats_url, calculator, "1+2")[1:]
    types = [e["type"] for e in events]
    assert types[:2] == ["tool_call", "tool_result"] and types[-3:] == ["message", "usage", "done"]
    assert events[0]["name"] == "add" and events[1]["result"] == "3" and events[1]["id"] == events[0]["id"]


def test_bridge_agent_failure_ends_the_turn_with_a_typed_agent_error(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        async with running_bridge(nats_url, agent, exhausted):
            sid = await f.start(agent, "say something")
            events = await f.finished(sid)
            assert events[-1]["type"] == "error"
            err = events[-1]["error"]
            assert err["code"] == "agent_error" and err["retryable"] is False
            assert "No more mock responses" in err["message"]
            await wait_for(lambda: _eq(pending_jobs(f, agent), 0), what="the job to be acked")
            assert (await f.record(sid))["lastOutcome"] == "error"
        await f.close()

    run(body())


def test_bridge_a_builder_that_returns_no_agent_is_an_agent_error(nats_url: str) -> None:
    events = one_turn(nats_url, lambda job: "not an agent")
    assert events[-1]["error"]["code"] == "agent_error" and "run_stream" in events[-1]["error"]["message"]


def test_bridge_cancel_on_the_control_subject_stops_the_run_and_ends_with_cancelled(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        tokens: dict[str, Any] = {}

        def build(job: dict[str, Any]) -> Any:
            a = assistant(" ".join(["word"] * 2000), tps=50)
            tokens["client"] = a._model_client
            return a

        async with running_bridge(nats_url, agent, build):
            sid = await f.start(agent, "long answer")
            await wait_for(lambda: _ge(_count(f, sid), 5), what="a few tokens")
            await f.cancel(sid, "user stop")
            events = await f.finished(sid)
            await wait_for(lambda: _eq(pending_jobs(f, agent), 0), what="the job to be acked")
            assert (await f.record(sid))["lastOutcome"] == "cancelled"
        assert_contiguous(events)
        assert events[-1] == {**events[-1], "type": "cancelled", "reason": "user stop"}
        text = "".join(e["text"] for e in events if e["type"] == "token")
        assert 0 < len(text) < len(" ".join(["word"] * 2000)) and ("word " * 2000).startswith(text)
        # The model call got the run's CancellationToken, and it is cancelled: a real provider's
        # HTTP request would be aborted, not just ignored.
        assert tokens["client"].cancellation_token.is_cancelled()
        await f.close()

    run(body())


def test_bridge_a_session_cancelled_before_start_never_runs_the_agent(nats_url: str) -> None:
    async def body() -> None:
        f = await Fabric.connect(nats_url)
        agent = new_agent()
        built: list[int] = []
        async with running_bridge(nats_url, agent, lambda: built.append(1) or assistant("x")):
            sid = await f.start(agent, cancel_requested=True)
            events = await f.finished(sid)
            await wait_for(lambda: _eq(pending_jobs(f, agent), 0), what="the job to be acked")
        assert [(e["type"], e.get("reason")) for e in events] == [
            ("user_message", None),
            ("cancelled", "cancelled before start"),
        ]
        assert built == []
        await f.close()

    run(body())


def test_bridge_a_turn_longer_than_stream_timeout_ends_with_a_timeout_error(nats_url: str) -> None:
    events = one_turn(nats_url, lambda: assistant("slow " * 500, tps=20), timeout_ms=500)
    assert events[-1]["type"] == "error" and events[-1]["error"]["code"] == "timeout"
    assert events[-1]["error"]["retryable"] is True


def test_bridge_demo_team_builder_takes_the_job_options(nats_url: str) -> None:
    events = one_turn(nats_url, demo.team, "plan a trip", options={"length": 5})
    messages = [(e["agent"], e["text"]) for e in events if e["type"] == "message"]
    assert messages == [
        (name, demo.demo_text(name, "plan a trip", 5, r)) for r in range(2) for name in ("writer", "critic")
    ]


async def _eq(aw: Any, value: Any) -> bool:
    return (await aw) == value


async def _ge(aw: Any, value: Any) -> bool:
    return (await aw) >= value


async def _count(f: Fabric, sid: str) -> int:
    return len(await f.events(sid))
